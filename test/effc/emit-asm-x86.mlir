// REQUIRES: x86_64
// RUN: effc %s --emit=asm --cpu=x86-64-v3 -o - | FileCheck %s --check-prefix=FMA
// RUN: effc %s --emit=asm --cpu=x86-64 -o - | FileCheck %s --check-prefix=BASELINE --implicit-check-not=vfmadd --implicit-check-not=%ymm
// RUN: effc %s -o %t.s --cpu=x86-64-v3 && FileCheck %s --check-prefix=FMA < %t.s

// --emit=asm (or a .s output) writes assembly for --cpu. The register tile's contraction becomes vector fused
// multiply-adds on a CPU that has them (x86-64-v3: AVX2 + FMA), and SSE multiplies and adds on the x86-64
// baseline. A fixed --cpu keeps the output independent of the host. (128 rows make two thread blocks; see
// test/Codegen/cpu-tile-and-vectorize-single-block.mlir for why a single block would not do.)

// FMA-DAG:      vfmadd{{[0-9]+}}ps %ymm
// FMA-DAG:      effc_module_query:

// BASELINE-DAG: mulps
// BASELINE-DAG: effc_module_query:

func.func @matmul(%a: tensor<128x64xf32> {eff.name = "a"}, %b: tensor<64x64xf32> {eff.name = "b"}) -> (tensor<128x64xf32> {eff.name = "c"}) {
  %c = eff.matmul %a, %b : (tensor<128x64xf32>, tensor<64x64xf32>) -> tensor<128x64xf32>
  return %c : tensor<128x64xf32>
}
