// The compiled module invoke_fuzzer calls: inputs with dynamic extents that must agree (a dimension
// group), and a function with static extents.
func.func @main(%a: tensor<?x4xf32> {eff.name = "a"}, %b: tensor<?x4xf32> {eff.name = "b"}) -> (tensor<?x4xf32> {eff.name = "sum"}) {
  %s = eff.add %a, %b : tensor<?x4xf32>
  return %s : tensor<?x4xf32>
}

func.func @twice(%x: tensor<2x3xf32> {eff.name = "x"}) -> (tensor<2x3xf32> {eff.name = "y"}) {
  %y = eff.add %x, %x : tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
