//===- EffSparseOps.td - eff sparse (compressed-weight) ops -*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Linear layers whose weights are stored compressed: N:M structured sparsity (values + in-group indices) and
// unstructured sparsity in CSR form. eff-sparsify produces them. Semantics:
// docs/spec/eff.md#sparse-ops.
//
//===----------------------------------------------------------------------===//

#ifndef EFF_SPARSE_OPS_TD
#define EFF_SPARSE_OPS_TD

include "Eff/IR/EffBase.td"

def Eff_SparseFormatAttr : I32EnumAttr<"SparseFormat", "storage format of a sparse weight", [
    I32EnumAttrCase<"nm", 0>,    // N:M: n kept weights per group of m along K
    I32EnumAttrCase<"csr", 1>]> { // compressed sparse rows
  let cppNamespace = "::mlir::eff";
}

def OpGroupSparseOps : OpDocGroup {
  let summary = "Sparse ops";
  let description = "Linear layers with compressed weights.";
}

let opDocGroup = OpGroupSparseOps in {

def Eff_SparseLinearOp : Eff_Op<"sparse_linear", [Pure, AttrSizedOperandSegments, Eff_InferTypes]> {
  let summary = "Linear layer with an N:M or CSR compressed weight, `y = x · Wᵀ + b`";
  let description = [{
    `eff.linear` whose weight `W` `[N, K]` (`N = out_features`, `K = in_features`) is given by its stored
    entries only; every other entry is zero.

    * `nm` (N:M, `n < m`, `m` divides `K`): `values` and `indices` are `[N, K·n/m]`; entry `c` of row `o`
      is `W[o, (c / n)·m + indices[o, c]]`. Indices are `i8` in `[0, m)`, ascending within each group.
    * `csr`: `values` and `indices` (`i32` column indices, ascending within a row) are `[nnz]`, and
      `row_ptr` (`i32`, `[N + 1]`) delimits the entries of each row.
    * int8 `nm` (`m = 4`): `values` are `i8` with a per-row f32 `scales` `[N]` (`W[o, ·] = scales[o] · values[o, ·]`),
      and `indices` hold 2 bits per entry, `[N, ceil(K·n/16)]` (entry `c` in bits `2·(c % 4)` of byte `c / 4`);
      activations are quantized per row to u8 as by `eff.quantized_linear` int8 (dynamic).

    ```mlir
    %y = eff.sparse_linear nm %x, %v, %i bias(%b) {in_features = 768 : i64, out_features = 3072 : i64, n = 2 : i64, m = 4 : i64}
        : (tensor<?x768xf32>, tensor<3072x384xf32>, tensor<3072x384xi8>, tensor<3072xf32>) -> tensor<?x3072xf32>
    %y = eff.sparse_linear csr %x, %v, %c row_ptr(%p) {in_features = 768 : i64, out_features = 3072 : i64}
        : (tensor<?x768xf32>, tensor<235930xf32>, tensor<235930xi32>, tensor<3073xi32>) -> tensor<?x3072xf32>
    %y = eff.sparse_linear nm %x, %q, %p bias(%b) scales(%s) {in_features = 768 : i64, out_features = 3072 : i64, n = 2 : i64, m = 4 : i64}
        : (tensor<?x768xf32>, tensor<3072x384xi8>, tensor<3072x96xi8>, tensor<3072xf32>, tensor<3072xf32>) -> tensor<?x3072xf32>
    ```
    See docs/spec/eff.md#effsparse_linear.
  }];
  let arguments = (ins F32Tensor:$input, TensorOf<[F32, I8]>:$values, TensorOf<[I8, I32]>:$indices,
                   Optional<1DTensorOf<[I32]>>:$row_ptr, Optional<1DTensorOf<[F32]>>:$bias,
                   Optional<1DTensorOf<[F32]>>:$scales,
                   Eff_SparseFormatAttr:$format, I64Attr:$in_features, I64Attr:$out_features,
                   OptionalAttr<I64Attr>:$n, OptionalAttr<I64Attr>:$m);
  let results = (outs F32Tensor:$result);
  let assemblyFormat = [{
    $format $input `,` $values `,` $indices (`row_ptr` `(` $row_ptr^ `)`)? (`bias` `(` $bias^ `)`)?
    (`scales` `(` $scales^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

} // opDocGroup

#endif // EFF_SPARSE_OPS_TD
