// RUN: rm -rf %t && %PYTHON %S/make_peft_folders.py %t
// RUN: effc-import %t/bert --adapter %t/bert_lora | FileCheck %s --check-prefix=BERT-LORA
// RUN: effc-import %t/gpt2 --adapter %t/gpt2_lora | FileCheck %s --check-prefix=GPT2-LORA
// RUN: effc-import %t/llama --adapter %t/llama_ia3 | FileCheck %s --check-prefix=LLAMA-IA3
// RUN: effc-import %t/bert --adapter %t/bert_regex | FileCheck %s --check-prefix=REGEX
// The adapter's weights are read with the model's: materialising checks every adapter parameter and view.
// RUN: effc-import %t/gpt2 --adapter %t/gpt2_lora | effc-opt --eff-materialize-parameters=base-dir=%t/gpt2 | FileCheck %s --check-prefix=READ
// --merge-adapters folds them; --keep-adapters makes their weights inputs.
// RUN: effc %t/llama --adapter %t/llama_ia3 --merge-adapters --emit=eff -o - | FileCheck %s --check-prefix=MERGED
// RUN: effc %t/bert --adapter %t/bert_lora --merge-adapters --emit=eff -o - | FileCheck %s --check-prefix=MERGED
// RUN: effc %t/bert --adapter %t/bert_lora --keep-adapters --emit=eff -o - | FileCheck %s --check-prefix=KEPT
// Errors: one broken adapter folder each, reported at its adapter_config.json.
// RUN: not effc-import %t/bert --adapter %t/no_adapter_config 2>&1 | FileCheck %s --check-prefix=NO-CONFIG
// RUN: not effc-import %t/bert --adapter %t/absent 2>&1 | FileCheck %s --check-prefix=ABSENT
// RUN: not effc-import %t/bert --adapter %t/prefix_tuning 2>&1 | FileCheck %s --check-prefix=PEFT-TYPE
// RUN: not effc-import %t/bert --adapter %t/no_target 2>&1 | FileCheck %s --check-prefix=NO-TARGET
// RUN: not effc-import %t/bert --adapter %t/bad_rank 2>&1 | FileCheck %s --check-prefix=BAD-RANK
// RUN: not effc-import %t/bert --adapter %t/dora 2>&1 | FileCheck %s --check-prefix=DORA
// RUN: not effc-import %t/bert --adapter %t/bad_regex 2>&1 | FileCheck %s --check-prefix=BAD-REGEX
// RUN: not effc-import %t/bert --adapter %t/bad_shape 2>&1 | FileCheck %s --check-prefix=BAD-SHAPE
// RUN: not effc-import %t/bert --adapter %t/missing_tensor 2>&1 | FileCheck %s --check-prefix=MISSING-TENSOR
// RUN: not effc-import %t/bert --adapter %t/unused_tensor 2>&1 | FileCheck %s --check-prefix=UNUSED-TENSOR
// RUN: not effc-import %t/llama --adapter %t/ia3_bad_shape 2>&1 | FileCheck %s --check-prefix=IA3-BAD-SHAPE
// RUN: not effc %t/bert --adapter %t/dora -o %t/model.so 2>&1 | FileCheck %s --check-prefix=DORA
// RUN: effc-import %t/bert -o %t/bert.mlir
// RUN: not effc %t/bert.mlir --adapter %t/bert_lora -o %t/model.so 2>&1 | FileCheck %s --check-prefix=NOT-A-FOLDER

// PEFT adapter folders attached by the Hugging Face importer (lib/Import/HuggingFace.cpp, --adapter).

// LoRA on BERT's query and value: eff.lora on each adapted eff.linear, reading the adapter's file (absolute).
// BERT-LORA:      module attributes {eff.weights = ["model.safetensors", "{{.*}}bert_lora/adapter_model.safetensors"]}
// BERT-LORA:        eff.layer 0
// BERT-LORA:          %[[X:.*]]: tensor<?x?x16xf32>, %{{.*}}: tensor<?x?xi64>
// BERT-LORA:          %[[A:.*]] = eff.parameter "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight" : tensor<4x16xf32>
// BERT-LORA:          %[[B:.*]] = eff.parameter "base_model.model.encoder.layer.0.attention.self.query.lora_B.weight" : tensor<16x4xf32>
// BERT-LORA:          %[[Q:.*]] = eff.linear %[[X]], {{.*}} : (tensor<?x?x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
// BERT-LORA:          eff.lora %[[Q]], %[[X]], %[[A]], %[[B]] {alpha = 8.000000e+00 : f32, rank = 4 : i64}
// BERT-LORA-NOT:      key.lora_A
// BERT-LORA:          value.lora_B.weight
// BERT-LORA:          eff.lora
// BERT-LORA:          eff.attention
// BERT-LORA:          eff.ffn
// BERT-LORA:        eff.layer 1

// LoRA on GPT-2's fused c_attn: one eff.lora per third, sharing lora_A, each with its rows of lora_B.
// GPT2-LORA:      eff.parameter "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight" {row_offset = 0 : i64} : tensor<16x2xf32>
// GPT2-LORA:      eff.lora {{.*}} {alpha = 4.000000e+00 : f32, rank = 2 : i64}
// GPT2-LORA:      eff.parameter "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight" {row_offset = 16 : i64} : tensor<16x2xf32>
// GPT2-LORA:      eff.lora
// GPT2-LORA:      eff.parameter "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight" {row_offset = 32 : i64} : tensor<16x2xf32>
// GPT2-LORA:      eff.lora
// GPT2-LORA:      eff.attention

// (IA)^3 on Llama: key and value outputs scaled (before RoPE on the key); down_proj is a feed-forward module,
// so its FFN is built from its projections and the vector scales the down projection's input.
// LLAMA-IA3:      func.func @prefill
// LLAMA-IA3:        eff.parameter "model.layers.0.self_attn.k_proj.weight"
// LLAMA-IA3:        %[[K:.*]] = eff.ia3 key %{{.*}}, %{{.*}} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
// LLAMA-IA3:        eff.rotary %[[K]]
// LLAMA-IA3:        eff.ia3 value
// LLAMA-IA3:        %[[H:.*]] = eff.glu silu
// LLAMA-IA3:        %[[S:.*]] = eff.ia3 ffn %[[H]], %{{.*}} : (tensor<?x?x24xf32>, tensor<24xf32>) -> tensor<?x?x24xf32>
// LLAMA-IA3:        eff.linear %[[S]], {{.*}} tensor<16x24xf32>
// LLAMA-IA3-NOT:    eff.ffn

// A string target_modules is a regular expression over whole module names: only layer 1's query.
// REGEX-NOT:      eff.lora
// REGEX:          eff.layer 1
// REGEX:          base_model.model.encoder.layer.1.attention.self.query.lora_A.weight
// REGEX:          eff.lora
// REGEX-NOT:      eff.lora

// READ-NOT:       eff.parameter
// READ:           eff.lora

// MERGED-NOT:     eff.lora
// MERGED-NOT:     eff.ia3
// KEPT:           func.func @main({{.*}}{eff.name = "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"}
// KEPT:           eff.lora

// NO-CONFIG: no_adapter_config/adapter_config.json:0:0: error: cannot read {{.*}}no_adapter_config/adapter_config.json: No such file or directory (a PEFT adapter folder needs adapter_config.json)
// ABSENT: error: {{.*}}absent is not an adapter folder (a directory with adapter_config.json and *.safetensors)
// PEFT-TYPE: prefix_tuning/adapter_config.json:0:0: error: adapter_config.json's "peft_type" is "PREFIX_TUNING"; supported: LORA, IA3
// NO-TARGET: error: adapter_config.json's target module 'qkv' matches no linear layer of BertModel that adapters attach to
// BAD-RANK: error: adapter_config.json's "r" must be a positive integer
// DORA: error: adapter_config.json sets "use_dora": DoRA (weight-decomposed LoRA) is not supported
// BAD-REGEX: error: adapter_config.json's "target_modules" is not a valid regular expression: parentheses not balanced
// BAD-SHAPE: error: tensor 'base_model.model.encoder.layer.0.attention.self.value.lora_A.weight' has shape [4, 12] in adapter_model.safetensors, but the model and adapter_config.json imply [4, 16]
// MISSING-TENSOR: error: tensor 'base_model.model.encoder.layer.1.attention.self.query.lora_B.weight' is missing from the weights (adapter_model.safetensors)
// UNUSED-TENSOR: error: tensor 'base_model.model.encoder.layer.0.attention.self.key.lora_A.weight' of the adapter belongs to no adapted module
// IA3-BAD-SHAPE: error: tensor 'base_model.model.model.layers.0.mlp.down_proj.ia3_l' has shape [16, 1] in adapter_model.safetensors, but the model and adapter_config.json imply [1, 24]
// NOT-A-FOLDER: error: an adapter (--adapter {{.*}}bert_lora) attaches to a Hugging Face model folder, not to {{.*}}bert.mlir
