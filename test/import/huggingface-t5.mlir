// RUN: rm -rf %t && %PYTHON %S/make_hf_folder.py %t
// RUN: effc-import %t/t5 | FileCheck %s --check-prefix=T5
// RUN: effc-import %t/t5_gated | FileCheck %s --check-prefix=GATED
// RUN: effc-import %t/t5_encoder | FileCheck %s --check-prefix=ENCODER
// RUN: effc-import %t/switch | FileCheck %s --check-prefix=SWITCH
// RUN: effc-import %t/bert_classifier | FileCheck %s --check-prefix=CLASSIFIER
// The imported IR reads its weights: materialising them checks every parameter against the files.
// RUN: effc-import %t/switch | effc-opt --eff-materialize-parameters=base-dir=%t/switch | FileCheck %s --check-prefix=READ

// The Hugging Face importer (lib/Import/HuggingFace.cpp) on T5, Switch Transformers and BERT classifier
// folders of make_hf_folder.py (d_model 16, 2 heads of d_kv 4, 8 relative position buckets).

// T5 v1.0: the position bias of each stack is computed once from its block 0's table and passed to every
// block; unscaled attention; causal decoder self-attention; cross attention to the encoder output with the
// encoder's mask; tied LM head with d_model^-0.5 folded into the final norm's weights.
// T5:      func.func @main(%[[IDS:.*]]: tensor<?x?xi64> {eff.name = "input_ids"}, %[[MASK:.*]]: tensor<?x?xi64> {eff.name = "attention_mask"}, %[[DIDS:.*]]: tensor<?x?xi64> {eff.name = "decoder_input_ids"}, %[[DMASK:.*]]: tensor<?x?xi64> {eff.name = "decoder_attention_mask"}) -> (tensor<?x?x50xf32> {eff.name = "logits"})
// T5:        %[[SHARED:.*]] = eff.parameter "shared.weight" : tensor<50x16xf32>
// T5:        %[[S:.*]] = tensor.dim %[[IDS]], %{{.*}} : tensor<?x?xi64>
// T5:        %[[ET:.*]] = eff.parameter "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight" : tensor<8x2xf32>
// T5:        %[[EB:.*]] = eff.relative_position_bias %[[ET]][%[[S]], %[[S]]] {bidirectional, max_distance = 20 : i64} : tensor<8x2xf32> -> tensor<1x2x?x?xf32>
// T5:        eff.layer 0 (%{{.*}}, %[[MASK]], %[[EB]])
// T5:          eff.rms_norm
// T5:          eff.attention {{.*}} mask(%{{.*}}) bias(%{{.*}}) {num_heads = 2 : i64, scale = 1.000000e+00 : f32}
// T5:          eff.ffn {{.*}} relu
// T5:        %[[ENC_LAST:.*]] = eff.layer 1 (%{{.*}}, %[[MASK]], %[[EB]])
// T5-NOT:    eff.layer 2 (%{{.*}}, %[[MASK]]
// T5:        %[[ENC:.*]] = eff.rms_norm %[[ENC_LAST]]
// T5:        %[[DT:.*]] = eff.parameter "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight" : tensor<8x2xf32>
// T5:        %[[DB:.*]] = eff.relative_position_bias %[[DT]][%{{.*}}, %{{.*}}] {max_distance = 20 : i64} : tensor<8x2xf32> -> tensor<1x2x?x?xf32>
// T5:        eff.layer 2 (%{{.*}}, %[[DMASK]], %[[DB]], %[[ENC]], %[[MASK]])
// T5:          eff.attention {{.*}} mask(%{{.*}}) bias(%{{.*}}) {causal, num_heads = 2 : i64, scale = 1.000000e+00 : f32}
// T5:          eff.parameter "decoder.block.0.layer.1.EncDecAttention.k.weight"
// T5:          eff.attention {{.*}} mask(%{{.*}}) {num_heads = 2 : i64, scale = 1.000000e+00 : f32}
// T5:        eff.layer 3
// T5:        %[[GAMMA:.*]] = arith.constant dense<{{.*}}> : tensor<16xf32>
// T5-NEXT:   %[[H:.*]] = eff.rms_norm %{{.*}}, %[[GAMMA]]
// T5-NEXT:   %[[W:.*]] = eff.parameter "shared.weight" : tensor<50x16xf32>
// T5-NEXT:   eff.linear %[[H]], %[[W]] : (tensor<?x?x16xf32>, tensor<50x16xf32>) -> tensor<?x?x50xf32>

// T5 v1.1: gated-gelu (gelu_new, the tanh form) FFN, its own LM head.
// GATED:     %[[UP:.*]] = eff.parameter "encoder.block.0.layer.1.DenseReluDense.wi_1.weight" : tensor<24x16xf32>
// GATED-NEXT: %[[GATE:.*]] = eff.parameter "encoder.block.0.layer.1.DenseReluDense.wi_0.weight" : tensor<24x16xf32>
// GATED-NEXT: %[[DOWN:.*]] = eff.parameter "encoder.block.0.layer.1.DenseReluDense.wo.weight" : tensor<16x24xf32>
// GATED-NEXT: eff.ffn %{{.*}} up(%[[UP]]) gate(%[[GATE]]) down(%[[DOWN]]) gelu_tanh
// GATED:     %[[FINAL:.*]] = eff.parameter "decoder.final_layer_norm.weight"
// GATED-NEXT: %[[N:.*]] = eff.rms_norm %{{.*}}, %[[FINAL]] :
// GATED-NEXT: %[[HEAD:.*]] = eff.parameter "lm_head.weight" : tensor<50x16xf32>
// GATED-NEXT: eff.linear %[[N]], %[[HEAD]]

// T5EncoderModel: only the encoder.
// ENCODER:   func.func @main(%{{.*}}: tensor<?x?xi64> {eff.name = "input_ids"}, %{{.*}}: tensor<?x?xi64> {eff.name = "attention_mask"}) -> (tensor<?x?x16xf32> {eff.name = "last_hidden_state"})
// ENCODER-NOT: decoder

// Switch Transformers: every second block (1, 3, ...) of each stack has top-1 experts.
// SWITCH:    eff.layer 0
// SWITCH:      eff.parameter "encoder.block.0.layer.1.mlp.wi.weight"
// SWITCH:      eff.ffn {{.*}} relu
// SWITCH:    eff.layer 1
// SWITCH:      %[[RW:.*]] = eff.parameter "encoder.block.1.layer.1.mlp.router.classifier.weight" : tensor<4x16xf32>
// SWITCH:      %[[WEIGHTS:.*]], %[[INDICES:.*]] = eff.router softmax %{{.*}}, %[[RW]] {top_k = 1 : i64}
// SWITCH:      %[[UP:.*]] = eff.parameter "encoder.block.1.layer.1.mlp.experts.wi" {stack = ["encoder.block.1.layer.1.mlp.experts.expert_0.wi.weight", {{.*}}, "encoder.block.1.layer.1.mlp.experts.expert_3.wi.weight"]} : tensor<4x24x16xf32>
// SWITCH:      %[[DOWN:.*]] = eff.parameter "encoder.block.1.layer.1.mlp.experts.wo" {{.*}} : tensor<4x16x24xf32>
// SWITCH:      eff.experts %{{.*}}, %[[WEIGHTS]], %[[INDICES]] up(%[[UP]]) down(%[[DOWN]]) relu
// SWITCH:    eff.layer 2
// SWITCH-NOT:  eff.router
// SWITCH:    eff.layer 3
// SWITCH-NOT:  eff.router
// SWITCH:    eff.layer 4
// SWITCH:      eff.router softmax
// SWITCH:      eff.experts

// BertForSequenceClassification: the first token's hidden state, tanh pooler, classifier (3 labels from id2label).
// CLASSIFIER: func.func @main({{.*}}) -> (tensor<?x3xf32> {eff.name = "logits"})
// CLASSIFIER:   eff.parameter "bert.embeddings.word_embeddings.weight"
// CLASSIFIER:   %[[FIRST:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0] [%{{.*}}, 1, 16] [1, 1, 1] : tensor<?x?x16xf32> to tensor<?x16xf32>
// CLASSIFIER:   %[[POOLED:.*]] = eff.linear %[[FIRST]], %{{.*}}, %{{.*}} : (tensor<?x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
// CLASSIFIER:   %[[TANH:.*]] = eff.activation tanh %[[POOLED]]
// CLASSIFIER:   eff.parameter "classifier.weight" : tensor<3x16xf32>
// CLASSIFIER:   eff.linear %[[TANH]], {{.*}} -> tensor<?x3xf32>

// READ-NOT: eff.parameter
// READ:     func.func
