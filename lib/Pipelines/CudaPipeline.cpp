//===- CudaPipeline.cpp - the --target=cuda pipeline -----------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// eff with constant weights -> LLVM dialect for an NVIDIA GPU. The linalg ops of the model become
// parallel loops, tiled into blocks of threads and converted to gpu.launch; the launches are outlined into
// one gpu.module, lowered to NVVM and serialised by LLVM's NVPTX backend (PTX; cubin and fatbin through
// the CUDA toolkit's ptxas). What stays on the host (allocation, copies, routing loops) runs on the CPU
// over CUDA managed memory, which the runtime's allocator hands out on a CUDA device. docs/gpu.md.
//
//===----------------------------------------------------------------------===//

#include "effc/Pipelines/Pipelines.h"

#include "effc/Codegen/Passes.h"
#include "effc/Conversion/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace effc {

llvm::ArrayRef<llvm::StringRef> supportedCudaArchs() {
  static constexpr llvm::StringRef archs[] = {"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"};
  return archs;
}

LogicalResult buildCudaTargetPipeline(OpPassManager &pm, const PipelineOptions &options, std::string &error) {
  if (!llvm::is_contained(supportedCudaArchs(), llvm::StringRef(options.cudaArch))) {
    error = "unknown CUDA architecture '" + options.cudaArch + "' (supported: " +
            llvm::join(supportedCudaArchs(), ", ") + ")";
    return failure();
  }
  if (!llvm::is_contained({"isa", "bin", "fatbin"}, options.cudaFormat)) {
    error = "unknown CUDA binary format '" + options.cudaFormat + "' (expected isa, bin or fatbin)";
    return failure();
  }

  // eff -> linalg on tensors: the CPU lowering without its register tiling and vectorisation, and without the
  // CPU micro-kernels that stand for op groups (epilogues, add + layer norm): those would run
  // on the host, between the device's kernels, on memory the device writes.
  ConvertEffToLinalgPassOptions lowering;
  lowering.fuseEpilogues = false;
  // Fused attention does run on the GPU: effc-gpu-attention-ukernels below launches the device kernel for its
  // calls (ukernels/cuda/attention.cu, head sizes up to 128; larger ones take the linalg lowering).
  lowering.fusedAttention = true;
  lowering.fusedAttentionMaxHeadDim = 128;
  pm.addPass(createConvertEffToLinalgPass(lowering));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.optLevel > 0) {
    pm.addPass(createEffcFuseElementwisePass());
    pm.addPass(createCanonicalizerPass());
  }
  pm.addPass(createEffcInferDimensionGroupsPass());
  pm.addPass(createEffcPackWeightsPass());

  // Buffers, as on the CPU: row-major memrefs at function boundaries.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.bufferAlignment = 64;
  pm.addNestedPass<func::FuncOp>(createEffcSinkCallOperandBuffersPass());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());

  // Strided copies (a concatenation's parts, say) as kernels, not calls of MLIR's runtime library.
  pm.addPass(createEffcStridedCopiesToLinalgPass());
  // f32 matrix products launch the tiled GEMM micro-kernel (ukernels/cuda/gemm.cu; with bf16/f16 products
  // mma_gemm.cu, whose large tile is wgmma_gemm.cu's warpgroup GEMM on sm_90a, the only target with wgmma).
  EffcGpuGemmUkernelsPassOptions gemmOptions;
  gemmOptions.precision = options.cudaMatmulPrecision;
  gemmOptions.wgmma = options.cudaArch == "sm_90a";
  pm.addPass(createEffcGpuGemmUkernelsPass(gemmOptions));
  // bf16 linear layers (eff.quantized_linear, bf16 scheme) launch the tensor-core GEMM (ukernels/cuda/mma_gemm.cu)
  // instead of calling the CPU micro-kernel on the host.
  pm.addPass(createEffcGpuBf16LinearUkernelsPass());
  // int8 linear layers (calls of the CPU's effc_uk_quantized_linear_int8) launch the device micro-kernels of
  // ukernels/cuda/quantized_gemm.cu instead of running on the host.
  pm.addPass(createEffcGpuQuantizedLinearsPass());
  // f32 N:M sparse linear layers launch ukernels/cuda/sparse_gemm.cu (2:4 on sparse tensor cores with bf16 or f16
  // products).
  EffcGpuSparseLinearsPassOptions sparseOptions;
  sparseOptions.precision = options.cudaMatmulPrecision;
  pm.addPass(createEffcGpuSparseLinearsPass(sparseOptions));
  // Fused attention: the lowering's calls of effc_uk_attention_f32 launch ukernels/cuda/attention.cu (prefill
  // on tensor cores with bf16 or f16 products).
  EffcGpuAttentionUkernelsPassOptions attentionOptions;
  attentionOptions.precision = options.cudaMatmulPrecision;
  pm.addPass(createEffcGpuAttentionUkernelsPass(attentionOptions));
  // Row reductions (layer norm's mean and variance, softmax's maximum and sum): one warp per row.
  pm.addPass(createEffcGpuRowReductionsPass());
  // Kernels: every other linalg op becomes a parallel loop nest (reductions stay sequential per thread),
  // tiled into blocks of threads and turned into a gpu.launch.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createEffcGpuMapParallelLoopsPass());
  pm.addPass(createConvertParallelLoopToGpuPass());
  // Transcendentals as arithmetic (no libdevice), bf16 conversions as integer arithmetic.
  pm.addPass(createEffcApproximateMathPass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createEffcGpuMarkDeviceWeightsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createEffcGpuMergeKernelModulesPass());
  // One stream per block of host code; the host waits only before it touches memory or returns.
  if (options.cudaAsyncLaunches)
    pm.addNestedPass<func::FuncOp>(createEffcGpuAsyncLaunchesPass());

  // Device code: NVVM for the chosen architecture. PTX 8.0 is the oldest ISA that knows sm_90.
  GpuNVVMAttachTargetOptions nvvmTarget;
  nvvmTarget.chip = options.cudaArch;
  nvvmTarget.features = "+ptx80";
  nvvmTarget.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(nvvmTarget));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createStripDebugInfoPass());
  ConvertGpuOpsToNVVMOpsOptions toNVVM;
  toNVVM.indexBitwidth = 64;
  kernels.addPass(createConvertGpuOpsToNVVMOps(toNVVM));
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());

  // Host code: entry points with C interfaces, launches as calls of the mgpu* functions that
  // lib/Target/Cuda.cpp routes to the runtime, allocations through the runtime's allocator.
  pm.addPass(createEffcPrepareEntryPointsPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // Allocations first: gpu-to-llvm would lower the remaining ones with plain malloc.
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  memrefToLLVM.useAlignedAlloc = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());

  // Serialise the kernels last, with the device micro-kernels they call linked in: gpu.binary holds PTX
  // (isa), a cubin (bin) or both (fatbin).
  EffcGpuModuleToBinaryPassOptions toBinary;
  toBinary.compilationTarget = options.cudaFormat;
  toBinary.toolkitPath = options.cudaToolkit;
  pm.addPass(createEffcGpuModuleToBinaryPass(toBinary));
  return success();
}

} // namespace effc
