// RUN: effc-opt %s --split-input-file --effc-gpu-map-parallel-loops | FileCheck %s
// RUN: effc-opt %s --split-input-file --effc-gpu-map-parallel-loops --convert-parallel-loops-to-gpu --canonicalize | FileCheck %s --check-prefix=LAUNCH

// A [?, 64] loop: 64 threads on the contiguous dimension (block x), 256 / 64 = 4 rows per block (block y).
// CHECK-DAG:   #[[$MIN:.+]] = affine_map<(d0)[s0] -> (-d0 + s0, 4)>
// CHECK-LABEL: func.func @copy
// CHECK:         scf.parallel (%[[I:.+]], %[[J:.+]]) = ({{.*}}) to (%[[N:.+]], %{{.+}}) step (%c4{{.*}}, %c64{{.*}})
// CHECK:           %[[ROWS:.+]] = affine.min #[[$MIN]](%[[I]])[%[[N]]]
// CHECK:           scf.parallel ({{.*}}) = ({{.*}}) to (%[[ROWS]], %c64{{.*}})
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = thread_y, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_y, {{.*}}>, #gpu.loop_dim_map<processor = block_x, {{.*}}>]}

// convert-parallel-loops-to-gpu then makes one launch of 64 x 4 threads, guarding the last partial tile.
// LAUNCH-LABEL: func.func @copy
// LAUNCH:         gpu.launch blocks({{.*}}) in ({{.*}}) threads({{.*}}) in (%{{.+}} = %c64{{.*}}, %{{.+}} = %c4{{.*}}, %{{.+}} = %c1{{.*}})
// LAUNCH:           scf.if
// LAUNCH:             memref.load
// LAUNCH-NOT:     scf.parallel
func.func @copy(%a: memref<?x64xf32>, %b: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %n = memref.dim %a, %c0 : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x64xf32>
    memref.store %v, %b[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  return
}

// -----

// Rank 4 (e.g. attention scores [B, H, S, S]): the innermost three tile loops are blocks z, y, x, the
// outermost runs sequentially in the kernel; a small static dimension gets only the threads it needs (8).
// CHECK-LABEL: func.func @rank4
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = thread_y, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = block_z, {{.*}}>, #gpu.loop_dim_map<processor = block_y, {{.*}}>, #gpu.loop_dim_map<processor = block_x, {{.*}}>]}
// LAUNCH-LABEL: func.func @rank4
// LAUNCH:         gpu.launch {{.*}} threads({{.*}}) in (%{{.+}} = %c8{{.*}}, %{{.+}} = %c32{{.*}}, %{{.+}} = %c1{{.*}})
// LAUNCH:           scf.for
func.func @rank4(%a: memref<2x4x?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %n = memref.dim %a, %c2 : memref<2x4x?x8xf32>
  %zero = arith.constant 0.0 : f32
  scf.parallel (%b, %h, %i, %j) = (%c0, %c0, %c0, %c0) to (%c2, %c4, %n, %c8) step (%c1, %c1, %c1, %c1) {
    memref.store %zero, %a[%b, %h, %i, %j] : memref<2x4x?x8xf32>
    scf.reduce
  }
  return
}

// -----

// Loops already inside a launch, and nested loops (reductions in a thread), are left alone.
// CHECK-LABEL: func.func @nested_reduction
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             scf.for
// CHECK-NOT:       mapping = {{.*}}mapping
func.func @nested_reduction(%a: memref<128x16xf32>, %out: memref<128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    %s = scf.for %k = %c0 to %c16 step %c1 iter_args(%acc = %zero) -> f32 {
      %v = memref.load %a[%i, %k] : memref<128x16xf32>
      %n = arith.addf %acc, %v : f32
      scf.yield %n : f32
    }
    memref.store %s, %out[%i] : memref<128xf32>
    scf.reduce
  }
  return
}
