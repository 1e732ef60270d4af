// RUN: effc-opt %s -split-input-file --effc-outline-parallel-loops -verify-diagnostics

// The diagnostics of effc-outline-parallel-loops (lib/Codegen/OutlineParallelLoops.cpp). The pass runs on
// memrefs, so a forall that still yields tensors means bufferization did not run.

func.func @forall_with_results(%t: tensor<64xf32>) -> tensor<64xf32> {
  %cst = arith.constant 2.0 : f32
  // expected-error @+1 {{scf.forall with results reached outlining; bufferize first}}
  %r = scf.forall (%i) in (64) shared_outs(%o = %t) -> (tensor<64xf32>) {
    %s = tensor.from_elements %cst : tensor<1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s into %o[%i] [1] [1] : tensor<1xf32> into tensor<64xf32>
    }
  }
  return %r : tensor<64xf32>
}

// -----

// An outlined body becomes a func.func beside the loop's function, so the loop must sit in one.
llvm.func @forall_in_llvm_func() {
  %m = memref.alloca() : memref<64xf32>
  // expected-error @+1 {{scf.forall outside a func.func cannot be outlined}}
  scf.forall (%i) in (64) {
    %c = arith.constant 1.0 : f32
    memref.store %c, %m[%i] : memref<64xf32>
  }
  llvm.return
}
