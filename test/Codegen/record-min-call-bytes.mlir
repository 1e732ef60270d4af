// RUN: effc-opt %s -split-input-file --effc-record-min-call-bytes | FileCheck %s

// effc-record-min-call-bytes (lib/Codegen/RecordMinCallBytes.cpp): per public function, the largest sum of
// the static sizes of top-level allocations whose lifetimes overlap, in the module attribute
// effc.min_call_bytes.

// %a (64 B) dies at the copy into a view of %b (256 B), before %out (128 B) is allocated; %b is used through
// a view until after %out's allocation: the peak is %b + %out = 384 B. Private functions are not recorded.
// CHECK: module attributes {effc.min_call_bytes = {lifetimes = 384 : i64}}
func.func @lifetimes(%x: memref<16xf32>) -> memref<32xf32> {
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  %b = memref.alloc() : memref<64xf32>
  %head = memref.subview %b[0] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1]>>
  memref.copy %a, %head : memref<16xf32> to memref<16xf32, strided<[1]>>
  %out = memref.alloc() : memref<32xf32>
  %first = memref.subview %b[0] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1]>>
  memref.copy %first, %out : memref<32xf32, strided<[1]>> to memref<32xf32>
  return %out : memref<32xf32>
}

func.func private @helper(%x: memref<16xf32>) {
  %big = memref.alloc() : memref<4096xf32>
  %part = memref.subview %big[0] [16] [1] : memref<4096xf32> to memref<16xf32, strided<[1]>>
  memref.copy %x, %part : memref<16xf32> to memref<16xf32, strided<[1]>>
  return
}

// -----

// An arena sized at the entry (as effc-plan-activation-arena builds it): a slot holding a dynamic buffer,
// 64-byte aligned, or a static one of 512 B, then a static slot of 256 B. The dynamic extent may be 0, so
// the lower bound is max(0, 512) + 256; the dynamic buffer outside the arena counts 0.
// CHECK: module attributes {effc.min_call_bytes = {dynamic_arena = 768 : i64}}
func.func @dynamic_arena(%x: memref<?x64xf32>, %out: memref<128xf32>) {
  %c0 = arith.constant 0 : index
  %c63 = arith.constant 63 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c512 = arith.constant 512 : index
  %rows = memref.dim %x, %c0 : memref<?x64xf32>
  %dynamic = arith.muli %rows, %c256 : index
  %rounded = arith.addi %dynamic, %c63 : index
  %blocks = arith.divui %rounded, %c64 : index
  %aligned = arith.muli %blocks, %c64 : index
  %slot = arith.maxui %aligned, %c512 : index
  %total = arith.addi %slot, %c256 : index
  %arena = memref.alloc(%total) {alignment = 64 : i64} : memref<?xi8>
  %rowsCopy = memref.alloc(%rows) : memref<?x64xf32>
  memref.copy %x, %rowsCopy : memref<?x64xf32> to memref<?x64xf32>
  %view = memref.view %arena[%c0][] : memref<?xi8> to memref<128xf32>
  memref.copy %view, %out : memref<128xf32> to memref<128xf32>
  return
}

// -----

// Not counted: a buffer that is only stored into (the canonicalizer may erase it), one allocated inside a
// loop (not in every call's top level), and a buffer in another memory space. A function without
// allocations records 0.
// CHECK: module attributes {effc.min_call_bytes = {nested = 0 : i64, none = 0 : i64}}
func.func @nested(%v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %stored = memref.alloc() : memref<1024xf32>
  memref.store %v, %stored[%c0] : memref<1024xf32>
  scf.for %i = %c0 to %n step %c1 {
    %inner = memref.alloc() : memref<1024xf32>
    memref.store %v, %inner[%i] : memref<1024xf32>
    %read = memref.load %inner[%c0] : memref<1024xf32>
    memref.store %read, %inner[%c1] : memref<1024xf32>
  }
  %device = memref.alloc() : memref<1024xf32, 1>
  %x = memref.load %device[%c0] : memref<1024xf32, 1>
  return
}

func.func @none(%x: memref<16xf32>) {
  return
}

func.func private @external(memref<16xf32>)
