//===- HuggingFace.h - import Hugging Face model folders --------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Imports a Hugging Face model folder (config.json and one or more *.safetensors files, sharded ones with
// model.safetensors.index.json) into `eff` IR. The architecture comes from config.json ("architectures", else
// "model_type"); each weight becomes an `eff.parameter` naming the checkpoint's tensor, so the weights stay in
// the (memory-mapped) safetensors files until eff-materialize-parameters reads them. The module's
// `eff.weights` names the weights files relative to the folder.
//
// Every parameter's shape is checked against the one config.json implies when importing, so an inconsistent
// folder fails here with the tensor's name, not later.
//
//   effc::importHuggingFace(context, "bert-base/")  // -> module { func.func @main(%input_ids, ...) }
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_IMPORT_HUGGINGFACE_H
#define EFFC_IMPORT_HUGGINGFACE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace effc {

/// The architectures importHuggingFace supports, as config.json's "architectures" names them.
llvm::ArrayRef<llvm::StringRef> supportedHuggingFaceArchitectures();

/// True if `path` is a directory holding a config.json (a folder to import rather than an IR file).
bool isHuggingFaceFolder(llvm::StringRef path);

/// Imports the model folder `dir`. Encoders get `@main(input_ids, attention_mask[, token_type_ids]) ->
/// last_hidden_state` (a sequence classifier: `-> logits`); encoder-decoders (T5, Switch Transformers)
/// `@main(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask) -> logits` (the bare model:
/// `-> last_hidden_state`); decoders `@prefill(input_ids) -> (logits, present_key_<i>, present_value_<i>...)` and
/// `@decode(input_ids [batch, 1], past_key_<i>, past_value_<i>...) -> (logits, present...)` with a KV cache.
/// Errors are reported to `context`'s diagnostic handler (at config.json's location) and return failure.
///
/// Each of `adapterDirs`, a PEFT adapter folder (adapter_config.json + adapter_model.safetensors), is attached:
/// LoRA ("peft_type": "LORA") as eff.lora on each linear layer "target_modules" names, (IA)^3 ("IA3") as
/// eff.ia3 on the layer's output, or on its input for "feedforward_modules". An FFN with an adapted projection
/// is built from its projections instead of one eff.ffn. Adapter errors (unknown peft_type, a target that
/// matches no layer, a missing, mis-shaped or unused tensor) are reported at adapter_config.json. Several
/// adapters apply in the order given (two LoRAs on one layer add both updates); the parameters of the i-th
/// after the first (0-based) are named "adapter<i>." + the tensor's name, and its files are listed in
/// `eff.weights` as {file = ..., prefix = "adapter<i>."}.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> importHuggingFace(mlir::MLIRContext *context,
                                                                   llvm::StringRef dir,
                                                                   llvm::ArrayRef<std::string> adapterDirs = {});

} // namespace effc

#endif // EFFC_IMPORT_HUGGINGFACE_H
