// bert_tiny: BERT-style post-LN encoder (2 layers, hidden 64, 4 heads, FFN 256, vocab 1000).
// input_ids, attention_mask (1 = token, 0 = padding), token_type_ids: [batch, seq] i64
// -> last_hidden_state [batch, seq, hidden] f32
module attributes {eff.weights = "bert_tiny.safetensors"} {
  func.func @main(%input_ids: tensor<?x?xi64> {eff.name = "input_ids"}, %attention_mask: tensor<?x?xi64> {eff.name = "attention_mask"}, %token_type_ids: tensor<?x?xi64> {eff.name = "token_type_ids"}) -> (tensor<?x?x64xf32> {eff.name = "last_hidden_state"}) {
    %embeddings.word_embeddings.weight = eff.parameter "embeddings.word_embeddings.weight" : tensor<1000x64xf32>
    %words = eff.embedding token %embeddings.word_embeddings.weight[%input_ids] : (tensor<1000x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
    %positions = eff.position_ids %input_ids : tensor<?x?xi64>
    %embeddings.position_embeddings.weight = eff.parameter "embeddings.position_embeddings.weight" : tensor<64x64xf32>
    %0 = eff.embedding position %embeddings.position_embeddings.weight[%positions] : (tensor<64x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
    %1 = eff.add %words, %0 : tensor<?x?x64xf32>
    %embeddings.token_type_embeddings.weight = eff.parameter "embeddings.token_type_embeddings.weight" : tensor<2x64xf32>
    %2 = eff.embedding segment %embeddings.token_type_embeddings.weight[%token_type_ids] : (tensor<2x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
    %3 = eff.add %1, %2 : tensor<?x?x64xf32>
    %embeddings.LayerNorm.weight = eff.parameter "embeddings.LayerNorm.weight" : tensor<64xf32>
    %embeddings.LayerNorm.bias = eff.parameter "embeddings.LayerNorm.bias" : tensor<64xf32>
    %embeddings = eff.layer_norm %3, %embeddings.LayerNorm.weight, %embeddings.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %layer0 = eff.layer 0 (%embeddings, %attention_mask) : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
    ^bb0(%embeddings_1: tensor<?x?x64xf32>, %attention_mask_1: tensor<?x?xi64>):
      %encoder.layer.0.attention.self.query.weight = eff.parameter "encoder.layer.0.attention.self.query.weight" : tensor<64x64xf32>
      %encoder.layer.0.attention.self.query.bias = eff.parameter "encoder.layer.0.attention.self.query.bias" : tensor<64xf32>
      %q = eff.linear %embeddings_1, %encoder.layer.0.attention.self.query.weight, %encoder.layer.0.attention.self.query.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.self.key.weight = eff.parameter "encoder.layer.0.attention.self.key.weight" : tensor<64x64xf32>
      %encoder.layer.0.attention.self.key.bias = eff.parameter "encoder.layer.0.attention.self.key.bias" : tensor<64xf32>
      %k = eff.linear %embeddings_1, %encoder.layer.0.attention.self.key.weight, %encoder.layer.0.attention.self.key.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.self.value.weight = eff.parameter "encoder.layer.0.attention.self.value.weight" : tensor<64x64xf32>
      %encoder.layer.0.attention.self.value.bias = eff.parameter "encoder.layer.0.attention.self.value.bias" : tensor<64xf32>
      %v = eff.linear %embeddings_1, %encoder.layer.0.attention.self.value.weight, %encoder.layer.0.attention.self.value.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %attn = eff.attention %q, %k, %v mask(%attention_mask_1) {num_heads = 4 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.output.dense.weight = eff.parameter "encoder.layer.0.attention.output.dense.weight" : tensor<64x64xf32>
      %encoder.layer.0.attention.output.dense.bias = eff.parameter "encoder.layer.0.attention.output.dense.bias" : tensor<64xf32>
      %4 = eff.linear %attn, %encoder.layer.0.attention.output.dense.weight, %encoder.layer.0.attention.output.dense.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %5 = eff.add %embeddings_1, %4 : tensor<?x?x64xf32>
      %encoder.layer.0.attention.output.LayerNorm.weight = eff.parameter "encoder.layer.0.attention.output.LayerNorm.weight" : tensor<64xf32>
      %encoder.layer.0.attention.output.LayerNorm.bias = eff.parameter "encoder.layer.0.attention.output.LayerNorm.bias" : tensor<64xf32>
      %6 = eff.layer_norm %5, %encoder.layer.0.attention.output.LayerNorm.weight, %encoder.layer.0.attention.output.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.intermediate.dense.weight = eff.parameter "encoder.layer.0.intermediate.dense.weight" : tensor<256x64xf32>
      %encoder.layer.0.intermediate.dense.bias = eff.parameter "encoder.layer.0.intermediate.dense.bias" : tensor<256xf32>
      %encoder.layer.0.output.dense.weight = eff.parameter "encoder.layer.0.output.dense.weight" : tensor<64x256xf32>
      %encoder.layer.0.output.dense.bias = eff.parameter "encoder.layer.0.output.dense.bias" : tensor<64xf32>
      %ffn = eff.ffn %6 up(%encoder.layer.0.intermediate.dense.weight, %encoder.layer.0.intermediate.dense.bias) down(%encoder.layer.0.output.dense.weight, %encoder.layer.0.output.dense.bias) gelu : (tensor<?x?x64xf32>, tensor<256x64xf32>, tensor<256xf32>, tensor<64x256xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %7 = eff.add %6, %ffn : tensor<?x?x64xf32>
      %encoder.layer.0.output.LayerNorm.weight = eff.parameter "encoder.layer.0.output.LayerNorm.weight" : tensor<64xf32>
      %encoder.layer.0.output.LayerNorm.bias = eff.parameter "encoder.layer.0.output.LayerNorm.bias" : tensor<64xf32>
      %8 = eff.layer_norm %7, %encoder.layer.0.output.LayerNorm.weight, %encoder.layer.0.output.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      eff.yield %8 : tensor<?x?x64xf32>
    }
    %layer1 = eff.layer 1 (%layer0, %attention_mask) : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
    ^bb0(%layer0_1: tensor<?x?x64xf32>, %attention_mask_2: tensor<?x?xi64>):
      %encoder.layer.1.attention.self.query.weight = eff.parameter "encoder.layer.1.attention.self.query.weight" : tensor<64x64xf32>
      %encoder.layer.1.attention.self.query.bias = eff.parameter "encoder.layer.1.attention.self.query.bias" : tensor<64xf32>
      %q_1 = eff.linear %layer0_1, %encoder.layer.1.attention.self.query.weight, %encoder.layer.1.attention.self.query.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.self.key.weight = eff.parameter "encoder.layer.1.attention.self.key.weight" : tensor<64x64xf32>
      %encoder.layer.1.attention.self.key.bias = eff.parameter "encoder.layer.1.attention.self.key.bias" : tensor<64xf32>
      %k_1 = eff.linear %layer0_1, %encoder.layer.1.attention.self.key.weight, %encoder.layer.1.attention.self.key.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.self.value.weight = eff.parameter "encoder.layer.1.attention.self.value.weight" : tensor<64x64xf32>
      %encoder.layer.1.attention.self.value.bias = eff.parameter "encoder.layer.1.attention.self.value.bias" : tensor<64xf32>
      %v_1 = eff.linear %layer0_1, %encoder.layer.1.attention.self.value.weight, %encoder.layer.1.attention.self.value.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %attn_1 = eff.attention %q_1, %k_1, %v_1 mask(%attention_mask_2) {num_heads = 4 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.output.dense.weight = eff.parameter "encoder.layer.1.attention.output.dense.weight" : tensor<64x64xf32>
      %encoder.layer.1.attention.output.dense.bias = eff.parameter "encoder.layer.1.attention.output.dense.bias" : tensor<64xf32>
      %9 = eff.linear %attn_1, %encoder.layer.1.attention.output.dense.weight, %encoder.layer.1.attention.output.dense.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %10 = eff.add %layer0_1, %9 : tensor<?x?x64xf32>
      %encoder.layer.1.attention.output.LayerNorm.weight = eff.parameter "encoder.layer.1.attention.output.LayerNorm.weight" : tensor<64xf32>
      %encoder.layer.1.attention.output.LayerNorm.bias = eff.parameter "encoder.layer.1.attention.output.LayerNorm.bias" : tensor<64xf32>
      %11 = eff.layer_norm %10, %encoder.layer.1.attention.output.LayerNorm.weight, %encoder.layer.1.attention.output.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.intermediate.dense.weight = eff.parameter "encoder.layer.1.intermediate.dense.weight" : tensor<256x64xf32>
      %encoder.layer.1.intermediate.dense.bias = eff.parameter "encoder.layer.1.intermediate.dense.bias" : tensor<256xf32>
      %encoder.layer.1.output.dense.weight = eff.parameter "encoder.layer.1.output.dense.weight" : tensor<64x256xf32>
      %encoder.layer.1.output.dense.bias = eff.parameter "encoder.layer.1.output.dense.bias" : tensor<64xf32>
      %ffn_1 = eff.ffn %11 up(%encoder.layer.1.intermediate.dense.weight, %encoder.layer.1.intermediate.dense.bias) down(%encoder.layer.1.output.dense.weight, %encoder.layer.1.output.dense.bias) gelu : (tensor<?x?x64xf32>, tensor<256x64xf32>, tensor<256xf32>, tensor<64x256xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %12 = eff.add %11, %ffn_1 : tensor<?x?x64xf32>
      %encoder.layer.1.output.LayerNorm.weight = eff.parameter "encoder.layer.1.output.LayerNorm.weight" : tensor<64xf32>
      %encoder.layer.1.output.LayerNorm.bias = eff.parameter "encoder.layer.1.output.LayerNorm.bias" : tensor<64xf32>
      %13 = eff.layer_norm %12, %encoder.layer.1.output.LayerNorm.weight, %encoder.layer.1.output.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      eff.yield %13 : tensor<?x?x64xf32>
    }
    return %layer1 : tensor<?x?x64xf32>
  }
}
