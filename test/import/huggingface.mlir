// RUN: rm -rf %t && %PYTHON %S/make_hf_folder.py %t
// RUN: effc-import %t/bert | FileCheck %s --check-prefix=BERT
// RUN: effc-import %t/gpt2 | FileCheck %s --check-prefix=GPT2
// RUN: effc-import %t/llama -o %t/llama.mlir && FileCheck %s --check-prefix=LLAMA < %t/llama.mlir
// RUN: effc-import %t/mixtral | FileCheck %s --check-prefix=MIXTRAL
// RUN: effc-import %t/llama_sharded | FileCheck %s --check-prefix=SHARDED
// The imported IR reads its weights: materialising them checks every parameter (and view) against the files.
// RUN: effc-import %t/gpt2 | effc-opt --eff-materialize-parameters=base-dir=%t/gpt2 | FileCheck %s --check-prefix=READ
// RUN: effc-import %t/mixtral | effc-opt --eff-materialize-parameters=base-dir=%t/mixtral | FileCheck %s --check-prefix=READ
// RUN: effc-import %t/llama_sharded | effc-opt --eff-materialize-parameters=base-dir=%t/llama_sharded | FileCheck %s --check-prefix=READ

// The Hugging Face importer (lib/Import/HuggingFace.cpp) on the small folders of make_hf_folder.py (2 layers,
// hidden 16): the op structure of each architecture, the checkpoint's tensor names, and the views for layouts
// that differ from eff's (GPT-2's Conv1D and fused QKV, Mixtral's per-expert tensors).

// BERT has one entry point, post-LN layers, padding mask.
// BERT:      module attributes {eff.weights = "model.safetensors"}
// BERT:      func.func @main(%{{.*}}: tensor<?x?xi64> {eff.name = "input_ids"}, %{{.*}}: tensor<?x?xi64> {eff.name = "attention_mask"}, %{{.*}}: tensor<?x?xi64> {eff.name = "token_type_ids"}) -> (tensor<?x?x16xf32> {eff.name = "last_hidden_state"})
// BERT:        eff.parameter "embeddings.word_embeddings.weight" : tensor<50x16xf32>
// BERT:        eff.embedding segment
// BERT:        eff.layer_norm {{.*}} {epsilon = 9.99999996E-13 : f32}
// BERT:        eff.layer 0
// BERT:          eff.parameter "encoder.layer.0.attention.self.query.weight" : tensor<16x16xf32>
// BERT:          eff.attention {{.*}} mask({{.*}}) {num_heads = 2 : i64}
// BERT:          eff.ffn {{.*}} gelu
// BERT:        eff.layer 1
// BERT-NOT:    eff.layer 2

// GPT-2 has prefill and decode; c_attn read transposed, a third at a time; tied LM head.
// GPT2:      func.func @prefill(%{{.*}}: tensor<?x?xi64> {eff.name = "input_ids"}) -> (tensor<?x?x50xf32> {eff.name = "logits"}, tensor<?x?x16xf32> {eff.name = "present_key_0"}, tensor<?x?x16xf32> {eff.name = "present_value_0"}, tensor<?x?x16xf32> {eff.name = "present_key_1"}, tensor<?x?x16xf32> {eff.name = "present_value_1"})
// GPT2:        eff.parameter "transformer.h.0.attn.c_attn.weight" {row_offset = 0 : i64, transpose} : tensor<16x16xf32>
// GPT2:        eff.parameter "transformer.h.0.attn.c_attn.bias" {row_offset = 0 : i64} : tensor<16xf32>
// GPT2:        eff.parameter "transformer.h.0.attn.c_attn.weight" {row_offset = 16 : i64, transpose} : tensor<16x16xf32>
// GPT2:        eff.parameter "transformer.h.0.attn.c_attn.weight" {row_offset = 32 : i64, transpose} : tensor<16x16xf32>
// GPT2:        eff.attention {{.*}} {causal, num_heads = 2 : i64}
// GPT2:        eff.parameter "transformer.h.0.mlp.c_fc.weight" {transpose} : tensor<64x16xf32>
// GPT2:        eff.ffn {{.*}} gelu_tanh
// GPT2:        %[[WTE:.+]] = eff.parameter "transformer.wte.weight" : tensor<50x16xf32>
// GPT2-NEXT:   eff.linear %{{.*}}, %[[WTE]] : (tensor<?x?x16xf32>, tensor<50x16xf32>) -> tensor<?x?x50xf32>
// GPT2:      func.func @decode(%{{.*}}: tensor<?x1xi64> {eff.name = "input_ids"}, %[[PK:.+]]: tensor<?x?x16xf32> {eff.name = "past_key_0"}, %{{.*}}: tensor<?x?x16xf32> {eff.name = "past_value_0"}
// GPT2:        %[[PAST:.+]] = tensor.dim %[[PK]], %{{.*}} : tensor<?x?x16xf32>
// GPT2:        eff.position_ids %{{.*}} offset %[[PAST]]
// GPT2:        eff.attention {{.*}} past({{.*}}) {causal, num_heads = 2 : i64}

// Llama has rotary positions as a layer input, grouped-query attention, SwiGLU, untied head.
// LLAMA:     func.func @prefill(
// LLAMA:       eff.layer 0 (%{{.*}}, %{{.*}}) : (tensor<?x?x16xf32>, tensor<?x?xi64>)
// LLAMA:         eff.rms_norm
// LLAMA:         eff.rotary {{.*}} {num_heads = 4 : i64}
// LLAMA:         eff.rotary {{.*}} {num_heads = 2 : i64}
// LLAMA:         eff.attention {{.*}} {causal, num_heads = 4 : i64, num_kv_heads = 2 : i64}
// LLAMA:         eff.ffn {{.*}} up({{.*}}) gate({{.*}}) down({{.*}}) silu
// LLAMA:       eff.parameter "lm_head.weight" : tensor<50x16xf32>
// LLAMA:     func.func @decode(
// LLAMA-SAME:  tensor<?x?x8xf32> {eff.name = "past_key_0"}

// Mixtral has top-2 softmax routing with renormalised weights; the experts' tensors stacked.
// MIXTRAL:     eff.router softmax {{.*}} {normalize, top_k = 2 : i64} : (tensor<?x?x16xf32>, tensor<4x16xf32>)
// MIXTRAL:     eff.parameter "model.layers.0.block_sparse_moe.experts.w3" {stack = ["model.layers.0.block_sparse_moe.experts.0.w3.weight", {{.*}}, "model.layers.0.block_sparse_moe.experts.3.w3.weight"]} : tensor<4x24x16xf32>
// MIXTRAL:     eff.experts {{.*}} silu

// In a sharded checkpoint eff.weights lists the shards of model.safetensors.index.json.
// SHARDED: module attributes {eff.weights = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"]}

// READ-NOT: eff.parameter
// READ:     dialect_resources
