// RUN: rm -rf %t && %PYTHON %S/make_peft_folders.py %t
// RUN: effc-import %t/bert --adapter %t/bert_lora --adapter %t/bert_lora_qk | FileCheck %s --check-prefix=TWO
// Both adapters' tensors are read (the second one's through its prefix).
// RUN: effc-import %t/bert --adapter %t/bert_lora --adapter %t/bert_lora_qk | effc-opt --eff-materialize-parameters=base-dir=%t/bert | FileCheck %s --check-prefix=READ
// Attached adapters are merged by default; --keep-adapters makes both adapters' weights inputs.
// RUN: effc %t/bert --adapter %t/bert_lora --adapter %t/bert_lora_qk --emit=eff -o - | FileCheck %s --check-prefix=MERGED
// RUN: effc %t/bert --adapter %t/bert_lora --adapter %t/bert_lora_qk --keep-adapters --emit=eff -o - | FileCheck %s --check-prefix=KEPT
// Errors are reported at the adapter_config.json of the adapter at fault.
// RUN: not effc-import %t/bert --adapter %t/bert_lora --adapter %t/bert_lora_wide 2>&1 | FileCheck %s --check-prefix=WIDE
// RUN: not effc-import %t/bert --adapter %t/bert_lora --adapter %t/no_target 2>&1 | FileCheck %s --check-prefix=NO-TARGET

// Several PEFT adapter folders on one Hugging Face model (lib/Import/HuggingFace.cpp, --adapter given twice):
// they apply in order, and the second one's parameters are named "adapter1." + its tensor names, read from
// its file through a {file, prefix} entry of eff.weights.

// TWO:      module attributes {eff.weights = ["model.safetensors", "{{.*}}bert_lora/adapter_model.safetensors", {file = "{{.*}}bert_lora_qk/adapter_model.safetensors", prefix = "adapter1."}]}
// TWO:        eff.layer 0
// TWO:          %[[X:.*]]: tensor<?x?x16xf32>, %{{.*}}: tensor<?x?xi64>
// Query: both LoRAs, the first adapter's then the second's, each reading the layer's input.
// TWO:          %[[A1:.*]] = eff.parameter "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight" : tensor<4x16xf32>
// TWO:          %[[B1:.*]] = eff.parameter "base_model.model.encoder.layer.0.attention.self.query.lora_B.weight" : tensor<16x4xf32>
// TWO:          %[[A2:.*]] = eff.parameter "adapter1.base_model.model.encoder.layer.0.attention.self.query.lora_A.weight" : tensor<2x16xf32>
// TWO:          %[[B2:.*]] = eff.parameter "adapter1.base_model.model.encoder.layer.0.attention.self.query.lora_B.weight" : tensor<16x2xf32>
// TWO:          %[[Q:.*]] = eff.linear %[[X]]
// TWO:          %[[L1:.*]] = eff.lora %[[Q]], %[[X]], %[[A1]], %[[B1]] {alpha = 8.000000e+00 : f32, rank = 4 : i64}
// TWO:          eff.lora %[[L1]], %[[X]], %[[A2]], %[[B2]] {alpha = 4.000000e+00 : f32, rank = 2 : i64}
// Key: the second adapter only; value: the first only.
// TWO-NOT:      "base_model.model.encoder.layer.0.attention.self.key.lora_A.weight"
// TWO:          eff.parameter "adapter1.base_model.model.encoder.layer.0.attention.self.key.lora_A.weight"
// TWO:          eff.lora
// TWO-NOT:      "adapter1.base_model.model.encoder.layer.0.attention.self.value.lora_A.weight"
// TWO:          eff.parameter "base_model.model.encoder.layer.0.attention.self.value.lora_A.weight"
// TWO:          eff.lora
// TWO:          eff.attention
// TWO:        eff.layer 1

// READ-NOT:     eff.parameter
// READ:         adapter1.base_model.model.encoder.layer.0.attention.self.query.lora_A.weight: "0x

// MERGED-NOT:   eff.lora

// KEPT:         func.func @main({{.*}}{eff.name = "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"}{{.*}}{eff.name = "adapter1.base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"}
// KEPT:         eff.lora

// WIDE: bert_lora_wide/adapter_config.json:0:0: error: tensor 'base_model.model.encoder.layer.0.attention.self.query.lora_A.weight' has shape [2, 32] in adapter_model.safetensors, but the model and adapter_config.json imply [2, 16]
// NO-TARGET: no_target/adapter_config.json:0:0: error: adapter_config.json's target module 'qkv' matches no linear layer of BertModel that adapters attach to
