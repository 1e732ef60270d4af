//===- cuda_attention_kernels.cu - launchable wrappers of the attention kernels -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// __global__ entry points around ukernels/cuda/attention.cu's device functions, for the device test
// (test/ukernels/cuda_attention_device.py loads this file's PTX with cupy and compares with PyTorch). Compile:
//   clang++-22 -x cuda --cuda-device-only --cuda-gpu-arch=sm_90 -nocudainc -nocudalib -O3 -I ukernels/cuda -S
//
//===----------------------------------------------------------------------===//

#include "attention.cu"

#define EFFC_GLOBAL extern "C" __attribute__((global)) __attribute__((launch_bounds(256)))

EFFC_GLOBAL void attention_prefill(EFFC_ATTENTION_PARAMS) { effc_cuda_uk_attention_f32(EFFC_ATTENTION_ARGS); }
EFFC_GLOBAL void attention_decode(EFFC_ATTENTION_PARAMS) { effc_cuda_uk_attention_decode_f32(EFFC_ATTENTION_ARGS); }
// The tensor-core prefill kernels: attention_mma_<format>_d<largest head size>.
#define EFFC_MMA_ENTRY(FORMAT, DH)                                                                                   \
  EFFC_GLOBAL void attention_mma_##FORMAT##_d##DH(EFFC_ATTENTION_PARAMS) {                                           \
    effc_cuda_uk_attention_mma_##FORMAT##_d##DH(EFFC_ATTENTION_ARGS);                                                \
  }
EFFC_MMA_ENTRY(bf16, 64)
EFFC_MMA_ENTRY(bf16, 128)
EFFC_MMA_ENTRY(f16, 64)
EFFC_MMA_ENTRY(f16, 128)
#undef EFFC_MMA_ENTRY

// The BERT-base / GPT-2 shapes with the constants effc's launches have (12 heads of 64, contiguous channels,
// 768-wide rows), as the compiled kernels see them after inlining: the timings use these.
#define EFFC_ATTENTION_ARGS_H12_D64                                                                                  \
  queryLen, newKeyLen, pastLen, 12, 12, 64, q, qs0, 768, 1, k, ks0, 768, 1, v, vs0, 768, 1, pastK, pks0, 768, 1,    \
      pastV, pvs0, 768, 1, mask, ms0, 1, out, os0, 768, 1, scale, causal, hasMask
EFFC_GLOBAL void attention_prefill_h12_d64(EFFC_ATTENTION_PARAMS) {
  effc_cuda_uk_attention_f32(EFFC_ATTENTION_ARGS_H12_D64);
}
EFFC_GLOBAL void attention_decode_h12_d64(EFFC_ATTENTION_PARAMS) {
  effc_cuda_uk_attention_decode_f32(EFFC_ATTENTION_ARGS_H12_D64);
}
EFFC_GLOBAL void attention_mma_bf16_h12_d64(EFFC_ATTENTION_PARAMS) {
  effc_cuda_uk_attention_mma_bf16_d64(EFFC_ATTENTION_ARGS_H12_D64);
}
EFFC_GLOBAL void attention_mma_f16_h12_d64(EFFC_ATTENTION_PARAMS) {
  effc_cuda_uk_attention_mma_f16_d64(EFFC_ATTENTION_ARGS_H12_D64);
}
