// RUN: rm -rf %t && mkdir -p %t

// effc --target=cuda (docs/gpu.md) on a machine that may have no GPU: the kernels' PTX, a shared object the
// runtime refuses without a CUDA device, and the driver's errors. ptxas itself runs in test/e2e/test_cuda.py.

// The kernels of the model: one PTX module for the requested architecture, one entry per kernel.
// RUN: effc %s --target=cuda --cuda-arch=sm_90 -o %t/model.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t/model.ptx
// PTX:      .version 8.0
// PTX-NEXT: .target sm_90
// PTX:      .visible .entry mlp_kernel(
// PTX:      .visible .entry mlp_kernel_0(
// RUN: effc %s --target=cuda --emit=ptx -o - | FileCheck %s --check-prefix=SM80
// SM80: .target sm_80

// The host side: launches through the runtime's GPU services, weights through its constant cache.
// RUN: effc %s --target=cuda --cuda-format=isa --emit=llvm -o - | FileCheck %s --check-prefix=LLVM
// LLVM-DAG: @effc_module_target = {{.*}}constant [11 x i8] c"cuda:sm_80\00"
// LLVM-DAG: @effc_gpu_kernels_loaded = internal global i32 0
// LLVM:     load atomic i32, ptr @effc_gpu_kernels_loaded acquire
// LLVM:     call void %{{.+}}(ptr %{{.+}}, ptr nonnull @effc_gpu_kernels_loaded, ptr nonnull @effc_gpu_load_kernels)
// LLVM:     define internal void @effc_gpu_load_kernels()
// LLVM-NOT: @llvm.global_ctors

// Kernels queue on one stream; the host synchronises once, before returning the output. With
// --cuda-sync-launches it waits after every launch.
// RUN: effc %s --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefix=ASYNC
// The linear layer's GEMM picks its kernel at run time (the GEMV for few rows, else one of two tiles: three
// launches in branches): all queue on the same stream too.
// ASYNC:      %[[S:.*]] = llvm.call @mgpuStreamCreate()
// ASYNC-NEXT: gpu.launch_func <%[[S]] : !llvm.ptr> @effc_kernels::@mlp_kernel blocks
// ASYNC-NOT:  llvm.call @mgpu
// ASYNC:      gpu.launch_func <%[[S]] : !llvm.ptr> @effc_kernels::@mlp_kernel_0 blocks
// ASYNC-NOT:  llvm.call @mgpu
// ASYNC:      gpu.launch_func <%[[S]] : !llvm.ptr> @effc_kernels::@mlp_kernel_1 blocks
// ASYNC-NOT:  llvm.call @mgpu
// ASYNC:      gpu.launch_func <%[[S]] : !llvm.ptr> @effc_kernels::@mlp_kernel_2 blocks
// ASYNC-NOT:  llvm.call @mgpu
// ASYNC:      gpu.launch_func <%[[S]] : !llvm.ptr> @effc_kernels::@mlp_kernel_3 blocks
// ASYNC-NEXT: llvm.call @mgpuStreamSynchronize(%[[S]])
// ASYNC-NEXT: llvm.call @mgpuStreamDestroy(%[[S]])
// ASYNC-NEXT: llvm.return
// RUN: effc %s --target=cuda --cuda-format=isa --cuda-sync-launches --emit=mlir -o - | FileCheck %s --check-prefix=SYNC
// SYNC:         llvm.func @mlp(
// SYNC-NOT:     llvm.call @mgpuStreamCreate
// SYNC-COUNT-5: gpu.launch_func @effc_kernels::@mlp_kernel{{(_[0-9])?}} blocks
// SYNC-NOT:     llvm.call @mgpuStreamCreate
// SYNC:         llvm.return

// The shared object exports its target beside the query function and imports nothing (no CUDA library:
// everything GPU goes through the runtime's host table).
// RUN: effc %s --target=cuda -o %t/model.so
// RUN: llvm-nm -D --defined-only %t/model.so | FileCheck %s --check-prefix=EXPORTS
// EXPORTS-DAG: T effc_module_query
// EXPORTS-DAG: R effc_module_target
// RUN: llvm-nm -D --undefined-only %t/model.so | count 0

// A CPU runtime refuses it; a CUDA runtime without a driver says so (exit code 1, no crash).
// RUN: not effc-run %t/model.so --list 2>&1 | FileCheck %s --check-prefix=CPU-RUNTIME
// CPU-RUNTIME: effc-run: error: '{{.*}}model.so' was compiled for CUDA (sm_80); create the runtime with the cuda device (effc-run --device=cuda
// RUN: env EFFC_CUDA_DRIVER=%t/missing/libcuda.so.1 not effc-run %t/model.so --device=cuda --list 2>&1 | FileCheck %s --check-prefix=NO-DRIVER
// NO-DRIVER: effc-run: error: CUDA driver {{.*}}missing/libcuda.so.1 not found: {{.*}}(install the NVIDIA driver)

// Invalid requests.
// RUN: not effc %s --target=cuda --cuda-arch=sm_70 -o %t/x.so 2>&1 | FileCheck %s --check-prefix=ARCH
// ARCH: error: unknown CUDA architecture 'sm_70' (supported: sm_80, sm_86, sm_89, sm_90, sm_90a)
// RUN: not effc %s --target=cuda --cuda-format=sass -o %t/x.so 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: unknown CUDA binary format 'sass' (expected auto, isa, bin or fatbin)
// RUN: not effc %s --emit=ptx -o %t/x.ptx 2>&1 | FileCheck %s --check-prefix=PTX-CPU
// PTX-CPU: error: PTX output needs --target=cuda
// RUN: not effc %s --target=cuda --external-weights -o %t/x.so 2>&1 | FileCheck %s --check-prefix=EXTERNAL
// EXTERNAL: error: --external-weights is not supported with --target=cuda
// RUN: not effc %s --target=tpu -o %t/x.so 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: error: unknown target 'tpu' (supported: cpu, cuda)

func.func @mlp(%x: tensor<?x3xf32> {eff.name = "x"}) -> (tensor<?x2xf32> {eff.name = "y"}) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = arith.constant dense<[0.5, -16.0]> : tensor<2xf32>
  %h = eff.linear %x, %w, %b : (tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<?x2xf32>
  %y = eff.activation relu %h : tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
