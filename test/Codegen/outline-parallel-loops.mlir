// RUN: effc-opt %s -split-input-file --effc-outline-parallel-loops | FileCheck %s

// effc-outline-parallel-loops (lib/Codegen/OutlineParallelLoops.cpp): each outermost scf.forall on memrefs
// becomes a private function @<func>_parallel<N>(%linear, %counts..., %lbs..., %steps..., %captured...)
// running one iteration, and a call to the declared dispatcher @effc_parallel_dispatch.<func>_parallel<N>
// with the total iteration count first. Constants and memref.get_global are re-created in the body.

memref.global "private" constant @table : memref<16xf32> = dense<1.0>

// CHECK-LABEL: func.func @one_d(
// CHECK-SAME:      %[[A:.+]]: memref<64x16xf32>, %[[B:.+]]: memref<64x16xf32>)
// CHECK-NOT:     scf.forall
// CHECK:         memref.get_global @table
// Bounds are materialised at the call site.
// CHECK:         %[[LB:.+]] = arith.constant 0 : index
// CHECK:         %[[UB:.+]] = arith.constant 64 : index
// CHECK:         %[[STEP:.+]] = arith.constant 8 : index
// CHECK:         %[[EXTENT:.+]] = arith.subi %[[UB]], %[[LB]] : index
// CHECK:         %[[TRIPS:.+]] = arith.ceildivsi %[[EXTENT]], %[[STEP]] : index
// CHECK:         %[[COUNT:.+]] = arith.maxsi %[[TRIPS]], %{{.+}} : index
// The constant and the global are not passed; A and B are.
// CHECK:         call @effc_parallel_dispatch.one_d_parallel0(%[[COUNT]], %[[COUNT]], %[[LB]], %[[STEP]], %[[A]], %[[B]])
// CHECK-SAME:        : (index, index, index, index, memref<64x16xf32>, memref<64x16xf32>) -> ()
// CHECK-NOT:     scf.forall
// CHECK:         return

// CHECK-LABEL: func.func private @one_d_parallel0(
// CHECK-SAME:      %[[I:[^:]+]]: index, %{{[^:]+}}: index, %[[BLB:[^:]+]]: index, %[[BSTEP:[^:]+]]: index,
// CHECK-SAME:      %[[BA:[^:]+]]: memref<64x16xf32>, %[[BB:[^:]+]]: memref<64x16xf32>) {
// CHECK:         %[[C0:.+]] = arith.constant 0 : index
// CHECK:         %[[G:.+]] = memref.get_global @table : memref<16xf32>
// CHECK:         %[[SCALED:.+]] = arith.muli %[[I]], %[[BSTEP]] : index
// CHECK:         %[[IV:.+]] = arith.addi %[[BLB]], %[[SCALED]] : index
// CHECK:         %[[X:.+]] = memref.load %[[BA]][%[[IV]], %[[C0]]]
// CHECK:         %[[Y:.+]] = memref.load %[[G]][%[[C0]]]
// CHECK:         %[[Z:.+]] = arith.addf %[[X]], %[[Y]] : f32
// CHECK:         memref.store %[[Z]], %[[BB]][%[[IV]], %[[C0]]]
// CHECK:         return

// CHECK:       func.func private @effc_parallel_dispatch.one_d_parallel0(index, index, index, index, memref<64x16xf32>, memref<64x16xf32>)
func.func @one_d(%a: memref<64x16xf32>, %b: memref<64x16xf32>) {
  %c0 = arith.constant 0 : index
  %g = memref.get_global @table : memref<16xf32>
  scf.forall (%i) = (0) to (64) step (8) {
    %x = memref.load %a[%i, %c0] : memref<64x16xf32>
    %y = memref.load %g[%c0] : memref<16xf32>
    %z = arith.addf %x, %y : f32
    memref.store %z, %b[%i, %c0] : memref<64x16xf32>
  }
  return
}

// -----

// A forall nested in the outlined one stays inside the body.
// CHECK-LABEL: func.func @nested(
// CHECK-NOT:     scf.forall
// CHECK:         call @effc_parallel_dispatch.nested_parallel0(
// CHECK-LABEL: func.func private @nested_parallel0(
// CHECK-SAME:      %{{.+}}: memref<64x16xf32>)
// CHECK:         %[[CST:.+]] = arith.constant 2.000000e+00 : f32
// CHECK:         %[[IV:.+]] = arith.addi
// CHECK:         scf.forall (%[[J:.+]]) in (16) {
// CHECK:           memref.store %[[CST]], %{{.+}}[%[[IV]], %[[J]]]
// CHECK:       func.func private @effc_parallel_dispatch.nested_parallel0(index, index, index, index, memref<64x16xf32>)
// CHECK-NOT:   _parallel1
func.func @nested(%a: memref<64x16xf32>) {
  %cst = arith.constant 2.0 : f32
  scf.forall (%i) in (64) {
    scf.forall (%j) in (16) {
      memref.store %cst, %a[%i, %j] : memref<64x16xf32>
    }
  }
  return
}

// -----

// A 2-D forall with dynamic bounds: the call passes the product of the counts, then the counts, lower bounds
// and steps of both dimensions; the body delinearises the index row-major (the last dimension varies fastest).
// CHECK-LABEL: func.func @two_d(
// CHECK-SAME:      %[[A:.+]]: memref<?x?xf32>, %[[M:.+]]: index, %[[N:.+]]: index)
// CHECK-DAG:     %[[LB0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[STEP0:.+]] = arith.constant 2 : index
// CHECK-DAG:     %[[LB1:.+]] = arith.constant 4 : index
// CHECK-DAG:     %[[STEP1:.+]] = arith.constant 3 : index
// CHECK-DAG:     %[[E0:.+]] = arith.subi %[[M]], %[[LB0]] : index
// CHECK-DAG:     %[[TRIPS0:.+]] = arith.ceildivsi %[[E0]], %[[STEP0]] : index
// CHECK-DAG:     %[[COUNT0:.+]] = arith.maxsi %[[TRIPS0]], %{{.+}} : index
// CHECK-DAG:     %[[E1:.+]] = arith.subi %[[N]], %[[LB1]] : index
// CHECK-DAG:     %[[TRIPS1:.+]] = arith.ceildivsi %[[E1]], %[[STEP1]] : index
// CHECK-DAG:     %[[COUNT1:.+]] = arith.maxsi %[[TRIPS1]], %{{.+}} : index
// CHECK:         %[[TOTAL:.+]] = arith.muli %[[COUNT0]], %[[COUNT1]] : index
// CHECK:         call @effc_parallel_dispatch.two_d_parallel0(%[[TOTAL]], %[[COUNT0]], %[[COUNT1]], %[[LB0]], %[[LB1]], %[[STEP0]], %[[STEP1]], %[[A]])

// CHECK-LABEL: func.func private @two_d_parallel0(
// CHECK-SAME:      %[[LIN:[^:]+]]: index, %{{[^:]+}}: index, %[[BCOUNT1:[^:]+]]: index, %[[BLB0:[^:]+]]: index, %[[BLB1:[^:]+]]: index,
// CHECK-SAME:      %[[BSTEP0:[^:]+]]: index, %[[BSTEP1:[^:]+]]: index, %[[BA:[^:]+]]: memref<?x?xf32>) {
// CHECK:         %[[CST:.+]] = arith.constant 2.000000e+00 : f32
// CHECK:         %[[J:.+]] = arith.remui %[[LIN]], %[[BCOUNT1]] : index
// CHECK:         %[[I:.+]] = arith.divui %[[LIN]], %[[BCOUNT1]] : index
// CHECK:         %[[JS:.+]] = arith.muli %[[J]], %[[BSTEP1]] : index
// CHECK:         %[[JV:.+]] = arith.addi %[[BLB1]], %[[JS]] : index
// CHECK:         %[[IS:.+]] = arith.muli %[[I]], %[[BSTEP0]] : index
// CHECK:         %[[IV:.+]] = arith.addi %[[BLB0]], %[[IS]] : index
// CHECK:         memref.store %[[CST]], %[[BA]][%[[IV]], %[[JV]]] : memref<?x?xf32>
// CHECK:       func.func private @effc_parallel_dispatch.two_d_parallel0(index, index, index, index, index, index, index, memref<?x?xf32>)
func.func @two_d(%a: memref<?x?xf32>, %m: index, %n: index) {
  %cst = arith.constant 2.0 : f32
  scf.forall (%i, %j) = (0, 4) to (%m, %n) step (2, 3) {
    memref.store %cst, %a[%i, %j] : memref<?x?xf32>
  }
  return
}

// -----

// Two loops in one function are numbered in order; a value computed in the function (not a constant) is
// passed. Captured values are passed in order of first use.
// CHECK-LABEL: func.func @two_loops(
// CHECK-SAME:      %[[A:.+]]: memref<64xf32>, %[[X:.+]]: f32)
// CHECK:         %[[Y:.+]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK:         call @effc_parallel_dispatch.two_loops_parallel0(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[Y]], %[[A]]) : (index, index, index, index, f32, memref<64xf32>) -> ()
// CHECK:         call @effc_parallel_dispatch.two_loops_parallel1(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[A]]) : (index, index, index, index, memref<64xf32>) -> ()
// CHECK-DAG:   func.func private @two_loops_parallel0(%{{.+}}: index, %{{.+}}: index, %{{.+}}: index, %{{.+}}: index, %{{.+}}: f32, %{{.+}}: memref<64xf32>)
// CHECK-DAG:   func.func private @two_loops_parallel1(%{{.+}}: index, %{{.+}}: index, %{{.+}}: index, %{{.+}}: index, %{{.+}}: memref<64xf32>)
// CHECK-DAG:   func.func private @effc_parallel_dispatch.two_loops_parallel0(index, index, index, index, f32, memref<64xf32>)
// CHECK-DAG:   func.func private @effc_parallel_dispatch.two_loops_parallel1(index, index, index, index, memref<64xf32>)
func.func @two_loops(%a: memref<64xf32>, %x: f32) {
  %cst = arith.constant 2.0 : f32
  %y = arith.mulf %x, %x : f32
  scf.forall (%i) in (64) {
    memref.store %y, %a[%i] : memref<64xf32>
  }
  scf.forall (%i) in (32) {
    memref.store %cst, %a[%i] : memref<64xf32>
  }
  return
}

// -----

// Functions without scf.forall are untouched.
// CHECK-LABEL: func.func @no_forall(
// CHECK:         scf.for
// CHECK-NOT:   effc_parallel_dispatch
func.func @no_forall(%a: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 2.0 : f32
  scf.for %i = %c0 to %c64 step %c1 {
    memref.store %cst, %a[%i] : memref<64xf32>
  }
  return
}
