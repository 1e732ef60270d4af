//===- Pipelines.cpp - effc compilation pipelines --------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Pipelines/Pipelines.h"

#include "effc/Codegen/Passes.h"
#include "effc/Conversion/Passes.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace effc {

void buildEffToLinalgPipeline(OpPassManager &pm, const PipelineOptions &options) {
  mlir::eff::EffMaterializeParametersPassOptions parameters;
  parameters.weightsFile = options.weightsFile;
  parameters.baseDir = options.baseDir;
  pm.addPass(mlir::eff::createEffMaterializeParametersPass(parameters));
  pm.addPass(createConvertEffToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.optLevel > 0) {
    pm.addPass(createEffcFuseElementwisePass());
    pm.addPass(createCanonicalizerPass());
  }
  pm.addPass(createEffcInferDimensionGroupsPass());
  pm.addPass(createEffcPackWeightsPass());
  if (options.optLevel > 0) {
    pm.addNestedPass<func::FuncOp>(createEffcCpuTileAndVectorizePass());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }
}

void buildLinalgToLLVMPipeline(OpPassManager &pm, const PipelineOptions &options) {
  // Bufferize with plain row-major memrefs at function boundaries: the runtime passes contiguous tensors.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.bufferAlignment = 64;
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.optLevel > 0)
    pm.addNestedPass<func::FuncOp>(createEffcPlanActivationArenaPass());
  pm.addPass(createEffcCpuLowerVectorsPass());
  VectorTransferToSCFOptions vectorToSCF;
  vectorToSCF.enableFullUnroll();
  pm.addPass(createConvertVectorToSCFPass(vectorToSCF));
  pm.addPass(createEffcCpuLowerVectorsPass());
  pm.addPass(createEffcOutlineParallelLoopsPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createEffcApproximateMathPass());
  // bf16 conversions as integer arithmetic: the compiled module links no compiler-rt (__truncsfbf2).
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createEffcPrepareEntryPointsPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addPass(createCanonicalizerPass());

  // To the LLVM dialect. Allocations call the generic _mlir_memref_to_llvm_* functions, which the target
  // emitter routes to the runtime's allocator.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  memrefToLLVM.useAlignedAlloc = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void buildCpuPipeline(OpPassManager &pm, const PipelineOptions &options) {
  buildEffToLinalgPipeline(pm, options);
  buildLinalgToLLVMPipeline(pm, options);
}

llvm::ArrayRef<llvm::StringRef> supportedTargets() {
  static constexpr llvm::StringRef targets[] = {"cpu"};
  return targets;
}

LogicalResult buildPipeline(OpPassManager &pm, const PipelineOptions &options) {
  if (options.target == "cpu") {
    buildCpuPipeline(pm, options);
    return success();
  }
  return failure();
}

void registerPipelines() {
  PassPipelineRegistration<PipelineOptions>("effc-cpu-pipeline", "eff -> LLVM dialect for the host CPU",
                                            buildCpuPipeline);
  PassPipelineRegistration<PipelineOptions>("effc-eff-to-linalg-pipeline",
                                               "eff -> linalg on tensors (first half of effc-cpu-pipeline)",
                                               buildEffToLinalgPipeline);
  PassPipelineRegistration<PipelineOptions>("effc-linalg-to-llvm-pipeline",
                                               "linalg on tensors -> LLVM dialect (second half)",
                                               buildLinalgToLLVMPipeline);
}

} // namespace effc
