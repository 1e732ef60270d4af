//===- Pipelines.h - effc compilation pipelines -----------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The pass pipelines that take eff IR to the LLVM dialect. effc, effc-opt (--effc-cpu-pipeline) and the
// Python package all build them from these options, so every face of effc compiles the same way.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_PIPELINES_PIPELINES_H
#define EFFC_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace effc {

/// Options of the eff -> LLVM dialect pipelines. `target` selects the pipeline; the target-independent
/// options (weights, optimisation level) are shared by every target.
struct PipelineOptions : public mlir::PassPipelineOptions<PipelineOptions> {
  Option<std::string> target{*this, "target", llvm::cl::desc("Target to compile for (cpu, cuda)"),
                             llvm::cl::init("cpu")};
  Option<unsigned> optLevel{*this, "opt-level", llvm::cl::desc("Optimisation level, 0 to 3"), llvm::cl::init(3)};
  Option<std::string> weightsFile{*this, "weights-file",
                                  llvm::cl::desc("Safetensors file for eff.parameter ops (default: the "
                                                 "module's eff.weights attribute)"),
                                  llvm::cl::init("")};
  Option<std::string> baseDir{*this, "base-dir",
                              llvm::cl::desc("Directory a relative eff.weights path is resolved against"),
                              llvm::cl::init("")};
  ListOption<std::string> compression{
      *this, "compression",
      llvm::cl::desc("Compression passes run after the weights are materialised, in order (textual pass specs, "
                     "e.g. eff-quantize{scheme=int8})")};
  // Compile time (issue 7): layers identical up to their weights share one function (eff-outline-layers).
  Option<bool> layerReuse{*this, "layer-reuse",
                          llvm::cl::desc("Compile structurally identical layers once (CPU target)"),
                          llvm::cl::init(true)};
  Option<bool> layerReuseRemarks{*this, "layer-reuse-remarks",
                                 llvm::cl::desc("Emit a remark naming the layers that share each body"),
                                 llvm::cl::init(false)};
  Option<bool> packQkv{*this, "pack-qkv",
                       llvm::cl::desc("Run an attention's q/k/v projections as one GEMM over concatenated weights "
                                      "(CPU target, -O1 and up)"),
                       llvm::cl::init(true)};
  Option<bool> weightPanels{*this, "weight-panels",
                            llvm::cl::desc("Store the weights of f32 GEMMs as contiguous column panels "
                                           "(CPU target, -O1 and up; effc-cpu-weight-panels)"),
                            llvm::cl::init(true)};
  Option<bool> f32LinearKernel{*this, "f32-linear-kernel",
                                llvm::cl::desc("Run f32 linear layers on the micro-kernel effc_uk_linear_f32 "
                                               "(CPU target, -O1 and up); otherwise generated GEMMs"),
                                llvm::cl::init(true)};
  // The cuda target (docs/gpu.md).
  Option<std::string> cudaArch{*this, "cuda-arch", llvm::cl::desc("GPU architecture for --target=cuda (sm_80, "
                                                                  "sm_86, sm_89, sm_90, sm_90a)"),
                               llvm::cl::init("sm_80")};
  Option<std::string> cudaFormat{*this, "cuda-format",
                                 llvm::cl::desc("What the kernels are embedded as: isa (PTX, compiled by the "
                                                "driver at load time), bin (cubin, needs ptxas) or fatbin "
                                                "(cubin and PTX, needs ptxas and fatbinary)"),
                                 llvm::cl::init("isa")};
  Option<std::string> cudaToolkit{*this, "cuda-toolkit",
                                  llvm::cl::desc("CUDA toolkit for bin and fatbin (default: CUDA_HOME, then PATH)"),
                                  llvm::cl::init("")};
  Option<bool> cudaAsyncLaunches{*this, "cuda-async-launches",
                                 llvm::cl::desc("Queue kernels on one stream and synchronise only before host "
                                                "code touches memory (false: wait after every launch)"),
                                 llvm::cl::init(true)};
  Option<std::string> cudaMatmulPrecision{
      *this, "cuda-matmul-precision",
      llvm::cl::desc("f32 matrix products on the GPU: f32 (exact FMAs), bf16 or f16 (tensor cores, operands "
                     "rounded to bf16 or f16, f32 accumulation)"),
      llvm::cl::init("f32")};
};

/// Adds the `compression` passes of `options` in order; fails with a message in `error` for a spec that does
/// not parse (an unknown pass or option).
mlir::LogicalResult addCompressionPasses(mlir::OpPassManager &pm, const PipelineOptions &options,
                                         std::string &error);

/// eff -> eff with constant weights, compressed: eff-materialize-parameters, then the `compression` passes.
mlir::LogicalResult buildCompressionPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                                             std::string &error);

/// eff with constant weights -> linalg on tensors, tiled and vectorised for the CPU.
void buildEffToLinalgLoweringPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);

/// buildCompressionPipeline, then buildEffToLinalgLoweringPipeline.
mlir::LogicalResult buildEffToLinalgPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                                             std::string &error);

/// linalg on tensors -> LLVM dialect, with the C interfaces that lib/Target wraps into the runtime ABI.
void buildLinalgToLLVMPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);

/// The whole CPU pipeline: eff -> LLVM dialect.
mlir::LogicalResult buildCpuPipeline(mlir::OpPassManager &pm, const PipelineOptions &options, std::string &error);

/// eff with constant weights -> LLVM dialect with the kernels serialised for an NVIDIA GPU (--target=cuda):
/// linalg -> parallel loops -> gpu.launch -> outlined NVVM kernels -> PTX/cubin in a gpu.binary, with host
/// code that calls the runtime's GPU services. Fails with a message for an unknown arch or format.
mlir::LogicalResult buildCudaTargetPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                                            std::string &error);
/// The CUDA architectures buildCudaTargetPipeline accepts.
llvm::ArrayRef<llvm::StringRef> supportedCudaArchs();
/// Names of the targets buildPipeline knows.
llvm::ArrayRef<llvm::StringRef> supportedTargets();

/// What follows buildCompressionPipeline for `options.target`: eff with constant weights -> LLVM dialect.
mlir::LogicalResult buildTargetPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                                        std::string &error);

/// buildCompressionPipeline then buildTargetPipeline; fails with a message in `error` for a target it does not know or
/// compression passes that do not parse.
mlir::LogicalResult buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options, std::string &error);

/// Registers effc-cpu-pipeline (and its halves) with the global pass registry.
void registerPipelines();

} // namespace effc

#endif // EFFC_PIPELINES_PIPELINES_H
