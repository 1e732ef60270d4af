// RUN: effc-opt %s -split-input-file --effc-plan-activation-arena --canonicalize | FileCheck %s

// effc-plan-activation-arena (lib/Codegen/PlanActivationArena.cpp): top-level buffers that do not escape
// become views of one arena; buffers with disjoint lifetimes share a slot.

// %a (64 B) dies at the copy into %b, so %c (32 B) reuses its slot at offset 0; %b (128 B) has its own
// slot at offset 64 (64-byte aligned). The returned buffer keeps its allocation.
// CHECK-LABEL: func.func @static_reuse(
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C64:.+]] = arith.constant 64 : index
// CHECK:         %[[ARENA:.+]] = memref.alloc() {alignment = 64 : i64} : memref<192xi8>
// CHECK:         %[[A:.+]] = memref.view %[[ARENA]][%[[C0]]][] : memref<192xi8> to memref<16xf32>
// CHECK:         %[[B:.+]] = memref.view %[[ARENA]][%[[C64]]][] : memref<192xi8> to memref<32xf32>
// CHECK:         %[[C:.+]] = memref.view %[[ARENA]][%[[C0]]][] : memref<192xi8> to memref<8xf32>
// CHECK:         %[[OUT:.+]] = memref.alloc() : memref<16xf32>
// CHECK:         return %[[OUT]]
func.func @static_reuse(%x: memref<16xf32>) -> memref<16xf32> {
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  %b = memref.alloc() : memref<32xf32>
  %sa = memref.subview %b[0] [16] [1] : memref<32xf32> to memref<16xf32, strided<[1]>>
  memref.copy %a, %sa : memref<16xf32> to memref<16xf32, strided<[1]>>
  %c = memref.alloc() : memref<8xf32>
  %sb = memref.subview %b[0] [8] [1] : memref<32xf32> to memref<8xf32, strided<[1]>>
  memref.copy %sb, %c : memref<8xf32, strided<[1]>> to memref<8xf32>
  %out = memref.alloc() : memref<16xf32>
  %sc = memref.subview %out[0] [8] [1] : memref<16xf32> to memref<8xf32, strided<[1]>>
  memref.copy %c, %sc : memref<8xf32> to memref<8xf32, strided<[1]>>
  return %out : memref<16xf32>
}

// -----

// Dynamic sizes: the slot sizes and the arena are computed at the entry from the argument's shape.
// CHECK-LABEL: func.func @dynamic_rows(
// CHECK-SAME:      %[[X:[^:]+]]: memref<?x64xf32>
// CHECK:         %[[ROWS:.+]] = memref.dim %[[X]], %{{.+}} : memref<?x64xf32>
// CHECK:         %[[BYTES:.+]] = arith.muli %[[ROWS]], %{{.+}} : index
// CHECK:         %[[ARENA:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?xi8>
// CHECK:         memref.view %[[ARENA]][%{{.+}}][%{{.+}}] : memref<?xi8> to memref<?x64xf32>
// CHECK:         memref.view %[[ARENA]][%{{.+}}][%{{.+}}] : memref<?xi8> to memref<?x64xf32>
// CHECK-NOT:     memref.alloc(
func.func @dynamic_rows(%x: memref<?x64xf32>, %out: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %x, %c0 : memref<?x64xf32>
  %t0 = memref.alloc(%rows) : memref<?x64xf32>
  memref.copy %x, %t0 : memref<?x64xf32> to memref<?x64xf32>
  %t1 = memref.alloc(%rows) : memref<?x64xf32>
  memref.copy %t0, %t1 : memref<?x64xf32> to memref<?x64xf32>
  memref.copy %t1, %out : memref<?x64xf32> to memref<?x64xf32>
  return
}

// -----

// A buffer carried through a loop lives until the loop's result is last used, so it cannot share a slot
// with a buffer allocated after the loop but before that use.
// CHECK-LABEL: func.func @loop_carried(
// CHECK:         %[[ARENA:.+]] = memref.alloc() {alignment = 64 : i64} : memref<128xi8>
// CHECK:         memref.view %[[ARENA]][%{{.+}}][] : memref<128xi8> to memref<16xf32>
// CHECK:         memref.view %[[ARENA]][%{{.+}}][] : memref<128xi8> to memref<16xf32>
func.func @loop_carried(%x: memref<16xf32>, %out: memref<16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %a) -> (memref<16xf32>) {
    scf.yield %acc : memref<16xf32>
  }
  %b = memref.alloc() : memref<16xf32>
  memref.copy %x, %b : memref<16xf32> to memref<16xf32>
  memref.copy %r, %out : memref<16xf32> to memref<16xf32>
  memref.copy %b, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// A single buffer is left alone: an arena would only add a view.
// CHECK-LABEL: func.func @single(
// CHECK:         memref.alloc() : memref<16xf32>
// CHECK-NOT:     memref.view
func.func @single(%x: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  memref.copy %a, %out : memref<16xf32> to memref<16xf32>
  return
}
