// RUN: effc-opt %s -split-input-file --effc-prepare-entry-points | FileCheck %s

// effc-prepare-entry-points (lib/Codegen/PrepareEntryPoints.cpp): public function definitions request a C
// interface wrapper (llvm.emit_c_interface) and lose their eff.name argument and result attributes; other
// functions are untouched.

// CHECK-LABEL: func.func @entry(
// CHECK-SAME:      %{{.+}}: memref<4xf32>) attributes {llvm.emit_c_interface} {
func.func @entry(%x: memref<4xf32>) {
  return
}

// -----

// eff.name goes, other attributes stay.
// CHECK-LABEL: func.func @named(
// CHECK-SAME:      %{{.+}}: memref<4xf32> {other.attr}) -> memref<4xf32> attributes {llvm.emit_c_interface} {
// CHECK-NOT:   eff.name
func.func @named(%x: memref<4xf32> {eff.name = "x", other.attr}) -> (memref<4xf32> {eff.name = "y"}) {
  return %x : memref<4xf32>
}

// -----

// Private functions and declarations are not entry points.
// CHECK-LABEL: func.func private @helper(
// CHECK-SAME:      %{{.+}}: memref<4xf32> {eff.name = "x"}) {
// CHECK-LABEL: func.func private @external(memref<4xf32>)
// CHECK-NOT:   llvm.emit_c_interface
func.func private @helper(%x: memref<4xf32> {eff.name = "x"}) {
  return
}
func.func private @external(memref<4xf32>)

// -----

// Nested visibility is not public either.
// CHECK-LABEL: func.func nested @nested_visibility() {
// CHECK-NOT:   llvm.emit_c_interface
func.func nested @nested_visibility() {
  return
}
