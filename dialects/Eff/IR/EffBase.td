//===- EffBase.td - eff dialect, enums and type constraints -*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// This file defines the `eff` dialect record, the enums its ops share, the type constraints of its operands
// and the base class of its ops. Semantics: docs/spec/eff.md.
//
//===----------------------------------------------------------------------===//

#ifndef EFF_BASE_TD
#define EFF_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

def Eff_Dialect : Dialect {
  let name = "eff";
  let cppNamespace = "::mlir::eff";
  let summary = "Transformer graphs at the level of the efficiency literature";
  let description = [{
    `eff` describes transformer inference graphs: embeddings, linear layers, attention (multi-head,
    grouped-query, multi-query; causal and padding masks; KV cache), norms, activations, FFNs and whole
    layers; adapters (LoRA, (IA)^3, prefix and prompt tuning, bottleneck adapters); and Mixture-of-Experts
    routing and experts. Compression passes rewrite it; conversions lower it to `linalg`.

    Activations use the hidden layout `[batch..., seq, hidden]` throughout: heads are contiguous slices of
    the last dimension, so no op needs an explicit reshape into heads. Weights follow `nn.Linear`
    (`[out_features, in_features]`). The semantics of every op are specified in docs/spec/eff.md, whose
    numbered constraints (`eff_<op>_c<N>`) the verifiers cite.
  }];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Eff_ActivationKindAttr : I32EnumAttr<"ActivationKind", "elementwise activation function", [
    I32EnumAttrCase<"relu", 0>,
    I32EnumAttrCase<"gelu", 1>,       // exact (erf) form
    I32EnumAttrCase<"gelu_tanh", 2>,  // tanh approximation
    I32EnumAttrCase<"silu", 3>,
    I32EnumAttrCase<"sigmoid", 4>,
    I32EnumAttrCase<"tanh", 5>]> {
  let cppNamespace = "::mlir::eff";
}

def Eff_EmbeddingKindAttr : I32EnumAttr<"EmbeddingKind", "role of an embedding table", [
    I32EnumAttrCase<"token", 0>,
    I32EnumAttrCase<"position", 1>,
    I32EnumAttrCase<"segment", 2>]> {
  let cppNamespace = "::mlir::eff";
}

def Eff_Ia3TargetAttr : I32EnumAttr<"Ia3Target", "what an (IA)^3 vector rescales", [
    I32EnumAttrCase<"key", 0>,
    I32EnumAttrCase<"value", 1>,
    I32EnumAttrCase<"ffn", 2>]> {
  let cppNamespace = "::mlir::eff";
}

def Eff_GatingKindAttr : I32EnumAttr<"GatingKind", "how router logits become scores", [
    I32EnumAttrCase<"softmax", 0>,
    I32EnumAttrCase<"sigmoid", 1>]> {
  let cppNamespace = "::mlir::eff";
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Eff_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Eff_Float1DTensor : 1DTensorOf<[F32, F16, BF16]>;
def Eff_Float2DTensor : 2DTensorOf<[F32, F16, BF16]>;
def Eff_Float3DTensor : 3DTensorOf<[F32, F16, BF16]>;
def Eff_IndexTensor : RankedTensorOf<[I32, I64]>;
// Padding masks: nonzero means "attend" (HF's int64 attention_mask, booleans or floats).
def Eff_MaskTensor : 2DTensorOf<[I1, I32, I64, F32, F16, BF16]>;


//===----------------------------------------------------------------------===//
// Base op class and traits
//===----------------------------------------------------------------------===//

class Eff_Op<string mnemonic, list<Trait> traits = []> : Op<Eff_Dialect, mnemonic, traits>;

// Result types are inferred from operands and attributes; the shape rules (and their diagnostics) live in
// lib/Dialect/Eff/IR/EffTypeInference.cpp. A written result type may refine dynamic dimensions.
def Eff_InferTypes : InferTypeOpAdaptorBase<[{
    static bool isCompatibleReturnTypes(::mlir::TypeRange lhs, ::mlir::TypeRange rhs) {
      return ::mlir::eff::areCompatibleResultTypes(lhs, rhs);
    }
  }]>;

#endif // EFF_BASE_TD
