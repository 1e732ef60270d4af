// REQUIRES: x86_64
// RUN: effc %s --quantize=bf16 --emit=asm --cpu=znver4 -o - | FileCheck %s --check-prefix=BF16
// RUN: effc %s --quantize=bf16 --emit=asm --cpu=icelake-server -o - | FileCheck %s --check-prefix=AVX512 --implicit-check-not=vdpbf16ps
// RUN: effc %s --quantize=bf16 --emit=asm --cpu=x86-64 -o - | FileCheck %s --check-prefix=BASELINE --implicit-check-not=%zmm

// The micro-kernels linked into a model are the richest bitcode variant that --cpu runs
// (lib/Target/Ukernels.cpp): with AVX512-BF16 (Zen 4) the bf16 GEMM multiplies with vdpbf16ps; with AVX-512
// and VNNI but no BF16 (Ice Lake server) with FMAs on widened values; on the x86-64 baseline the portable C
// kernels use no AVX-512 register.

// BF16:     vdpbf16ps {{.*}}%zmm
// AVX512:   vfmadd{{[0-9]+}}ps {{.*}}%zmm
// BASELINE: effc_uk_quantized_linear_bf16

func.func @linear(%x: tensor<?x?x64xf32> {eff.name = "x"}) -> (tensor<?x?x64xf32> {eff.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<64x64xf32>
  %y = eff.linear %x, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}
