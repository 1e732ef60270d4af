//===- ContractionForms.h - the GEMM forms the CPU schedule tiles -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The f32 contractions that effc-cpu-weight-panels rewrites and effc-cpu-tile-and-vectorize tiles, recognised
// in one place so that the two passes agree on them.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_CODEGEN_CONTRACTIONFORMS_H
#define EFFC_CODEGEN_CONTRACTIONFORMS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace effc {

/// How a streaming contraction reads B.
enum class StreamingB {
  None,    ///< not a streaming contraction
  Batched, ///< B[batch..., k, n]: one matrix per batch index (attention's products)
  Shared,  ///< B[k, n]: one matrix for every batch index (a linear layer's weight)
};

/// The B form of `op` if it is C[batch..., m, n] += A[batch..., m, k] * B[(batch...,) k, n] in f32 with k the
/// last loop (the form whose register tile streams rows of B), else StreamingB::None.
StreamingB getStreamingB(mlir::linalg::GenericOp op);

inline bool isStreamingContraction(mlir::linalg::GenericOp op) { return getStreamingB(op) != StreamingB::None; }

/// Whether `op` is C[batch..., m, nb, ni] += A[batch..., m, k] * Bp[nb, k, ni] in f32 (loops batch..., m, nb,
/// ni, k): a contraction whose weight effc-cpu-weight-panels stored as column panels, each thread block of
/// which streams one contiguous panel Bp[nb].
bool isPanelContraction(mlir::linalg::GenericOp op);

} // namespace effc

#endif // EFFC_CODEGEN_CONTRACTIONFORMS_H
