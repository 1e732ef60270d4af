// RUN: rm -rf %t && split-file %s %t
// RUN: effc %t/aligned.mlir --emit=mlir -o - | FileCheck %s --check-prefix=ALIGNED
// RUN: not effc %t/zero-alignment.mlir -o %t/model.so 2>&1 | FileCheck %s --check-prefix=ZERO

// Resource blobs in the file metadata encode their alignment in their first 4 bytes. MLIR 22's parser
// aborts on alignment 0 (llvm-project#181266); effc reports it at the blob instead
// (lib/Support/ResourceBlobs.cpp). A "0x..." string outside the metadata is an ordinary string.

//--- aligned.mlir
module attributes {eff.note = "0x00000000"} {
  func.func @main() -> tensor<2xf32> {
    %0 = arith.constant dense_resource<blob> : tensor<2xf32>
    return %0 : tensor<2xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
      // "0x00000000" in a comment is not a blob
      blob: "0x040000000000803F00000040"
    }
  }
#-}
// ALIGNED: dense_resource<blob>

//--- zero-alignment.mlir
module {
  func.func @main() -> tensor<2xf64> {
    %0 = arith.constant dense_resource<blob> : tensor<2xf64>
    return %0 : tensor<2xf64>
  }
}
{-#
  dialect_resources: {
    builtin: {
      blob: "0x000000000000F03F0000000000000040"
    }
  }
#-}
// ZERO: zero-alignment.mlir:10:13: error: resource blob encodes alignment 0 in its first 4 bytes
