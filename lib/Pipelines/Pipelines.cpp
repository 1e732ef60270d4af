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
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace effc {

LogicalResult addCompressionPasses(OpPassManager &pm, const PipelineOptions &options, std::string &error) {
  // The textual specs name eff passes, which must be registered for the parser (once per process).
  static const bool registered = (mlir::eff::registerEffTransformsPasses(), true);
  (void)registered;
  for (const std::string &spec : options.compression) {
    llvm::raw_string_ostream errorStream(error);
    if (failed(parsePassPipeline(spec, pm, errorStream))) {
      error = "invalid compression pass '" + spec + "': " + error;
      return failure();
    }
  }
  return success();
}

LogicalResult buildCompressionPipeline(OpPassManager &pm, const PipelineOptions &options, std::string &error) {
  mlir::eff::EffMaterializeParametersPassOptions parameters;
  parameters.weightsFile = options.weightsFile;
  parameters.baseDir = options.baseDir;
  pm.addPass(mlir::eff::createEffMaterializeParametersPass(parameters));
  return addCompressionPasses(pm, options, error);
}

void buildEffToLinalgLoweringPipeline(OpPassManager &pm, const PipelineOptions &options) {
  if (options.optLevel > 0 && options.packQkv)
    pm.addPass(mlir::eff::createEffPackQkvPass());
  if (options.layerReuse) {
    mlir::eff::EffOutlineLayersPassOptions outline;
    outline.emitRemarks = options.layerReuseRemarks;
    pm.addPass(mlir::eff::createEffOutlineLayersPass(outline));
  }
  ConvertEffToLinalgPassOptions lowering;
  lowering.f32LinearKernel = options.optLevel > 0 && options.f32LinearKernel;
  pm.addPass(createConvertEffToLinalgPass(lowering));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.optLevel > 0) {
    pm.addPass(createEffcFuseElementwisePass());
    pm.addPass(createCanonicalizerPass());
  }
  pm.addPass(createEffcInferDimensionGroupsPass());
  // Weights of f32 GEMMs as contiguous column panels, for the tiled GEMM below (packed by the next pass).
  if (options.optLevel > 0 && options.weightPanels)
    pm.addPass(createEffcCpuWeightPanelsPass());
  pm.addPass(createEffcPackWeightsPass());
  if (options.optLevel > 0) {
    pm.addNestedPass<func::FuncOp>(createEffcCpuTileAndVectorizePass());
    pm.addNestedPass<func::FuncOp>(createEffcCpuParallelizeElementwisePass());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }
}

LogicalResult buildEffToLinalgPipeline(OpPassManager &pm, const PipelineOptions &options, std::string &error) {
  if (failed(buildCompressionPipeline(pm, options, error)))
    return failure();
  buildEffToLinalgLoweringPipeline(pm, options);
  return success();
}

void buildLinalgToLLVMPipeline(OpPassManager &pm, const PipelineOptions &options) {
  // Bufferize with plain row-major memrefs at function boundaries: the runtime passes contiguous tensors.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.bufferAlignment = 64;
  pm.addNestedPass<func::FuncOp>(createEffcSinkCallOperandBuffersPass());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.optLevel > 0)
    pm.addNestedPass<func::FuncOp>(createEffcPlanActivationArenaPass());
  // What every call allocates at least, for the runtime's load-time memory check (before deallocation).
  pm.addPass(createEffcRecordMinCallBytesPass());
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

LogicalResult buildCpuPipeline(OpPassManager &pm, const PipelineOptions &options, std::string &error) {
  if (failed(buildEffToLinalgPipeline(pm, options, error)))
    return failure();
  buildLinalgToLLVMPipeline(pm, options);
  return success();
}

llvm::ArrayRef<llvm::StringRef> supportedTargets() {
  static constexpr llvm::StringRef targets[] = {"cpu", "cuda"};
  return targets;
}

LogicalResult buildTargetPipeline(OpPassManager &pm, const PipelineOptions &options, std::string &error) {
  if (options.target == "cpu") {
    buildEffToLinalgLoweringPipeline(pm, options);
    buildLinalgToLLVMPipeline(pm, options);
    return success();
  }
  if (options.target == "cuda")
    return buildCudaTargetPipeline(pm, options, error);
  error = "no pipeline for target '" + options.target + "' (supported: " + llvm::join(supportedTargets(), ", ") + ")";
  return failure();
}

LogicalResult buildPipeline(OpPassManager &pm, const PipelineOptions &options, std::string &error) {
  if (failed(buildCompressionPipeline(pm, options, error)))
    return failure();
  return buildTargetPipeline(pm, options, error);
}

namespace {
/// Registers a pipeline whose builder can fail; its message reaches the pipeline parser's error handler.
void registerPipeline(llvm::StringRef name, llvm::StringRef description,
                      std::function<LogicalResult(OpPassManager &, const PipelineOptions &, std::string &)> build) {
  registerPassPipeline(
      name, description,
      [build](OpPassManager &pm, llvm::StringRef optionsText,
              llvm::function_ref<LogicalResult(const llvm::Twine &)> errorHandler) {
        PipelineOptions options;
        if (failed(options.parseFromString(optionsText)))
          return failure();
        std::string error;
        if (failed(build(pm, options, error)))
          return errorHandler(error);
        return success();
      },
      [](llvm::function_ref<void(const detail::PassOptions &)> optionHandler) { optionHandler(PipelineOptions()); });
}
} // namespace

void registerPipelines() {
  registerPipeline("effc-cpu-pipeline", "eff -> LLVM dialect for the host CPU", buildCpuPipeline);
  registerPipeline("effc-cuda-pipeline", "eff -> LLVM dialect with NVPTX kernels (--target=cuda)",
                   [](OpPassManager &pm, const PipelineOptions &options, std::string &error) {
                     if (failed(buildCompressionPipeline(pm, options, error)))
                       return failure();
                     return buildCudaTargetPipeline(pm, options, error);
                   });
  registerPipeline("effc-eff-to-linalg-pipeline", "eff -> linalg on tensors (first half of effc-cpu-pipeline)",
                   buildEffToLinalgPipeline);
  registerPipeline("effc-linalg-to-llvm-pipeline", "linalg on tensors -> LLVM dialect (second half)",
                   [](OpPassManager &pm, const PipelineOptions &options, std::string &) {
                     buildLinalgToLLVMPipeline(pm, options);
                     return success();
                   });
}

} // namespace effc
