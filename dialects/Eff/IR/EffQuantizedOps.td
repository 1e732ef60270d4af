//===- EffQuantizedOps.td - eff ops on quantized weights ---*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Linear layers whose weights eff-quantize packed at compile time into the layouts the quantized
// micro-kernels read (ukernels/quantized_gemm.c). Semantics: docs/spec/eff.md#effquantized_linear.
//
//===----------------------------------------------------------------------===//

#ifndef EFF_QUANTIZED_OPS_TD
#define EFF_QUANTIZED_OPS_TD

include "Eff/IR/EffBase.td"

def Eff_QuantSchemeAttr : I32EnumAttr<"QuantScheme", "how a quantized linear layer stores its weight", [
    I32EnumAttrCase<"int8", 0>,   // W8A8: per-channel int8 weights, u8 activations, VNNI dot products
    I32EnumAttrCase<"int4", 1>,   // weight-only, group-wise int4 (symmetric or with zero points)
    I32EnumAttrCase<"lut", 2>,    // binary-coding quantization, LUT-based matmul (nuQmm / LUT-GEMM)
    I32EnumAttrCase<"bf16", 3>]> {
  let cppNamespace = "::mlir::eff";
}

def OpGroupQuantizedOps : OpDocGroup {
  let summary = "Quantized ops";
  let description = "Linear layers on weights packed by eff-quantize.";
}

let opDocGroup = OpGroupQuantizedOps in {

def Eff_QuantizedLinearOp : Eff_Op<"quantized_linear", [Pure, AttrSizedOperandSegments, Eff_InferTypes]> {
  let summary = "Linear layer `y = x · Wᵀ + b` on a packed, quantized weight";
  let description = [{
    `input` `[..., K]` (f32) times the weight `[N, K]` (`in_features = K`, `out_features = N`) that `packed`
    and its side tensors encode, plus the optional `bias` `[N]`; the result is `[..., N]` f32. With `Np` = N
    rounded up to 16 (padding rows are zero), the schemes store:

    | scheme | packed | scales | other |
    |---|---|---|---|
    | `int8` | i8 `[Np/16][Kp/4][16][4]` (Kp = K rounded up to 4) | `[Np]` per channel | `column_sums` i32 `[Np]`; optional `input_scale`/`input_zero_point` (static activations) |
    | `int4` | i8 `[Np/16][K/2][16]`, byte = q[k] + 16·q[k+1] | `[Np/16][K/G][16]` | optional `zero_points` (same layout; absent: 8) |
    | `lut` | i8 `[Np/16][bits][K/8][16]`, byte = pattern[c] + 16·pattern[c+1] | α `[Np/16][K/G][bits][16]` | |
    | `bf16` | bf16 `[Np/16][Kp/2][16][2]` (Kp = K rounded up to 2) | | |

    All operands are flat (rank 1); the verifier checks their lengths against the scheme.

    ```mlir
    %y = eff.quantized_linear int8 %x, %w scales(%s) column_sums(%cs) bias(%b) {in_features = 768 : i64, out_features = 3072 : i64}
        : (tensor<?x128x768xf32>, tensor<2359296xi8>, tensor<3072xf32>, tensor<3072xi32>, tensor<3072xf32>) -> tensor<?x128x3072xf32>
    ```
    See docs/spec/eff.md#effquantized_linear.
  }];
  let arguments = (ins TensorOf<[F32]>:$input, 1DTensorOf<[I8, BF16]>:$packed,
                   Optional<1DTensorOf<[F32]>>:$scales, Optional<1DTensorOf<[F32]>>:$zero_points,
                   Optional<1DTensorOf<[I32]>>:$column_sums, Optional<1DTensorOf<[F32]>>:$bias,
                   Eff_QuantSchemeAttr:$scheme, I64Attr:$in_features, I64Attr:$out_features,
                   OptionalAttr<I64Attr>:$group_size, OptionalAttr<I64Attr>:$bits,
                   OptionalAttr<F32Attr>:$input_scale, OptionalAttr<I64Attr>:$input_zero_point);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $scheme $input `,` $packed (`scales` `(` $scales^ `)`)? (`zero_points` `(` $zero_points^ `)`)?
    (`column_sums` `(` $column_sums^ `)`)? (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// out_features rounded up to the 16-column blocks of the packed layouts.
    int64_t getPaddedOutFeatures() { return (getOutFeatures() + 15) / 16 * 16; }
  }];
}

def Eff_QuantizedExpertsOp : Eff_Op<"quantized_experts", [Pure, AttrSizedOperandSegments, Eff_InferTypes]> {
  let summary = "eff.experts on packed, quantized stacked expert weights";
  let description = [{
    `eff.experts` (same routing operands, activation and semantics) whose up, gate and down weights eff-quantize
    packed per expert: row `e` of each `*_packed` operand is expert `e`'s weight in the layout of
    `eff.quantized_linear`'s scheme, with its side operands (`scales`, and `column_sums` for `int8` or
    `zero_points` for asymmetric `int4`) in the same row of theirs. With `D` the input's last dimension, `F` =
    `intermediate_size`, `G` = `group_size` (`int4` only; it divides D and F), `Np(n)` = n rounded up to 16 and
    `Kp(k)` = k rounded up to 4:

    | scheme | operand | up / gate (`[F, D]` per expert) | down (`[D, F]` per expert) |
    |---|---|---|---|
    | `int8` | `*_packed` i8 | `[E, Np(F) · Kp(D)]` | `[E, Np(D) · Kp(F)]` |
    | `int8` | `*_scales` f32, `*_column_sums` i32 | `[E, Np(F)]` | `[E, Np(D)]` |
    | `int4` | `*_packed` i8 | `[E, Np(F) · D / 2]` | `[E, Np(D) · F / 2]` |
    | `int4` | `*_scales` f32 (and `*_zero_points` f32) | `[E, Np(F) · D / G]` | `[E, Np(D) · F / G]` |

    Activations are quantized dynamically per routed row. Biases stay f32 (`[E, F]`, `[E, D]`).

    ```mlir
    %y = eff.quantized_experts int8 %x, %w, %i up(%u, %us, %uc) down(%d, %ds, %dc, bias %bd) gelu {intermediate_size = 3072 : i64}
        : (tensor<?x768xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<8x2359296xi8>, tensor<8x3072xf32>, tensor<8x3072xi32>, tensor<8x2359296xi8>, tensor<8x768xf32>, tensor<8x768xi32>, tensor<8x768xf32>) -> tensor<?x768xf32>
    %z = eff.quantized_experts int4 %x, %w, %i up(%u, %us, zero_points %uz) down(%d, %ds, zero_points %dz) silu {intermediate_size = 3072 : i64, group_size = 128 : i64}
        : (...) -> tensor<?x768xf32>
    ```
    See docs/spec/eff.md#effquantized_experts.
  }];
  let arguments = (ins TensorOf<[F32]>:$input, TensorOf<[F32]>:$routing_weights, Eff_IndexTensor:$routing_indices,
                   2DTensorOf<[I8]>:$up_packed, 2DTensorOf<[F32]>:$up_scales,
                   Optional<2DTensorOf<[I32]>>:$up_column_sums, Optional<2DTensorOf<[F32]>>:$up_zero_points,
                   Optional<2DTensorOf<[F32]>>:$up_bias, Optional<2DTensorOf<[I8]>>:$gate_packed,
                   Optional<2DTensorOf<[F32]>>:$gate_scales, Optional<2DTensorOf<[I32]>>:$gate_column_sums,
                   Optional<2DTensorOf<[F32]>>:$gate_zero_points,
                   2DTensorOf<[I8]>:$down_packed, 2DTensorOf<[F32]>:$down_scales,
                   Optional<2DTensorOf<[I32]>>:$down_column_sums, Optional<2DTensorOf<[F32]>>:$down_zero_points,
                   Optional<2DTensorOf<[F32]>>:$down_bias,
                   Eff_QuantSchemeAttr:$scheme, I64Attr:$intermediate_size, Eff_ActivationKindAttr:$activation,
                   OptionalAttr<I64Attr>:$group_size);
  let results = (outs TensorOf<[F32]>:$result);
  // Side operands after the scales: `, %column_sums` (int8), `, zero_points %z` (asymmetric int4), `, bias %b`.
  let assemblyFormat = [{
    $scheme $input `,` $routing_weights `,` $routing_indices
    `up` `(` $up_packed `,` $up_scales `` custom<ExpertSideOperands>($up_column_sums, $up_zero_points, $up_bias) `)`
    (`gate` `(` $gate_packed^ `,` $gate_scales `` custom<ExpertSideOperands>($gate_column_sums, $gate_zero_points) `)`)?
    `down` `(` $down_packed `,` $down_scales `` custom<ExpertSideOperands>($down_column_sums, $down_zero_points, $down_bias) `)`
    $activation attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    int64_t getNumExperts() { return getUpPacked().getType().getDimSize(0); }
  }];
}

} // opDocGroup

#endif // EFF_QUANTIZED_OPS_TD
