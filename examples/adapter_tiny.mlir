// adapter_tiny: BERT-like post-LN encoder (2 layers, hidden 64, 4 heads) with
// parameter-efficient fine-tuning: a soft prompt of 4 embeddings prepended to the embedded
// sequence (eff.prompt), LoRA (rank 4) on the query and value projections, (IA)^3 on keys,
// values and the FFN activation, a bottleneck adapter (width 16) after each FFN, and
// 3 prefix key/value vectors in layer 1 (eff.prefix). No padding mask: every
// sequence of a batch is full length.
// input_ids [batch, seq] i64 -> last_hidden_state [batch, 4 + seq, hidden] f32
module attributes {eff.weights = "adapter_tiny.safetensors"} {
  func.func @main(%input_ids: tensor<?x?xi64> {eff.name = "input_ids"}) -> (tensor<?x?x64xf32> {eff.name = "last_hidden_state"}) {
    %embeddings.word_embeddings.weight = eff.parameter "embeddings.word_embeddings.weight" : tensor<1000x64xf32>
    %words = eff.embedding token %embeddings.word_embeddings.weight[%input_ids] : (tensor<1000x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
    %positions = eff.position_ids %input_ids : tensor<?x?xi64>
    %embeddings.position_embeddings.weight = eff.parameter "embeddings.position_embeddings.weight" : tensor<64x64xf32>
    %0 = eff.embedding position %embeddings.position_embeddings.weight[%positions] : (tensor<64x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
    %1 = eff.add %words, %0 : tensor<?x?x64xf32>
    %embeddings.LayerNorm.weight = eff.parameter "embeddings.LayerNorm.weight" : tensor<64xf32>
    %embeddings.LayerNorm.bias = eff.parameter "embeddings.LayerNorm.bias" : tensor<64xf32>
    %2 = eff.layer_norm %1, %embeddings.LayerNorm.weight, %embeddings.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %prompt.embeddings = eff.parameter "prompt.embeddings" : tensor<4x64xf32>
    %prompted = eff.prompt %2, %prompt.embeddings : (tensor<?x?x64xf32>, tensor<4x64xf32>) -> tensor<?x?x64xf32>
    %layer0 = eff.layer 0 (%prompted) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%prompted_1: tensor<?x?x64xf32>):
      %encoder.layer.0.attention.query.weight = eff.parameter "encoder.layer.0.attention.query.weight" : tensor<64x64xf32>
      %encoder.layer.0.attention.query.bias = eff.parameter "encoder.layer.0.attention.query.bias" : tensor<64xf32>
      %3 = eff.linear %prompted_1, %encoder.layer.0.attention.query.weight, %encoder.layer.0.attention.query.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.query.lora_A = eff.parameter "encoder.layer.0.attention.query.lora_A" : tensor<4x64xf32>
      %encoder.layer.0.attention.query.lora_B = eff.parameter "encoder.layer.0.attention.query.lora_B" : tensor<64x4xf32>
      %4 = eff.lora %3, %prompted_1, %encoder.layer.0.attention.query.lora_A, %encoder.layer.0.attention.query.lora_B {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<64x4xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.key.weight = eff.parameter "encoder.layer.0.attention.key.weight" : tensor<64x64xf32>
      %encoder.layer.0.attention.key.bias = eff.parameter "encoder.layer.0.attention.key.bias" : tensor<64xf32>
      %5 = eff.linear %prompted_1, %encoder.layer.0.attention.key.weight, %encoder.layer.0.attention.key.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.key.ia3 = eff.parameter "encoder.layer.0.attention.key.ia3" : tensor<64xf32>
      %6 = eff.ia3 key %5, %encoder.layer.0.attention.key.ia3 : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.value.weight = eff.parameter "encoder.layer.0.attention.value.weight" : tensor<64x64xf32>
      %encoder.layer.0.attention.value.bias = eff.parameter "encoder.layer.0.attention.value.bias" : tensor<64xf32>
      %7 = eff.linear %prompted_1, %encoder.layer.0.attention.value.weight, %encoder.layer.0.attention.value.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.value.lora_A = eff.parameter "encoder.layer.0.attention.value.lora_A" : tensor<4x64xf32>
      %encoder.layer.0.attention.value.lora_B = eff.parameter "encoder.layer.0.attention.value.lora_B" : tensor<64x4xf32>
      %8 = eff.lora %7, %prompted_1, %encoder.layer.0.attention.value.lora_A, %encoder.layer.0.attention.value.lora_B {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<64x4xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.value.ia3 = eff.parameter "encoder.layer.0.attention.value.ia3" : tensor<64xf32>
      %9 = eff.ia3 value %8, %encoder.layer.0.attention.value.ia3 : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %attn = eff.attention %4, %6, %9 {num_heads = 4 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.attention.output.weight = eff.parameter "encoder.layer.0.attention.output.weight" : tensor<64x64xf32>
      %encoder.layer.0.attention.output.bias = eff.parameter "encoder.layer.0.attention.output.bias" : tensor<64xf32>
      %10 = eff.linear %attn, %encoder.layer.0.attention.output.weight, %encoder.layer.0.attention.output.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %11 = eff.add %prompted_1, %10 : tensor<?x?x64xf32>
      %encoder.layer.0.attention.LayerNorm.weight = eff.parameter "encoder.layer.0.attention.LayerNorm.weight" : tensor<64xf32>
      %encoder.layer.0.attention.LayerNorm.bias = eff.parameter "encoder.layer.0.attention.LayerNorm.bias" : tensor<64xf32>
      %12 = eff.layer_norm %11, %encoder.layer.0.attention.LayerNorm.weight, %encoder.layer.0.attention.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.intermediate.dense.weight = eff.parameter "encoder.layer.0.intermediate.dense.weight" : tensor<256x64xf32>
      %encoder.layer.0.intermediate.dense.bias = eff.parameter "encoder.layer.0.intermediate.dense.bias" : tensor<256xf32>
      %13 = eff.linear %12, %encoder.layer.0.intermediate.dense.weight, %encoder.layer.0.intermediate.dense.bias : (tensor<?x?x64xf32>, tensor<256x64xf32>, tensor<256xf32>) -> tensor<?x?x256xf32>
      %14 = eff.activation gelu %13 : tensor<?x?x256xf32>
      %encoder.layer.0.intermediate.ia3 = eff.parameter "encoder.layer.0.intermediate.ia3" : tensor<256xf32>
      %15 = eff.ia3 ffn %14, %encoder.layer.0.intermediate.ia3 : (tensor<?x?x256xf32>, tensor<256xf32>) -> tensor<?x?x256xf32>
      %encoder.layer.0.output.dense.weight = eff.parameter "encoder.layer.0.output.dense.weight" : tensor<64x256xf32>
      %encoder.layer.0.output.dense.bias = eff.parameter "encoder.layer.0.output.dense.bias" : tensor<64xf32>
      %16 = eff.linear %15, %encoder.layer.0.output.dense.weight, %encoder.layer.0.output.dense.bias : (tensor<?x?x256xf32>, tensor<64x256xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.0.output.adapter.down.weight = eff.parameter "encoder.layer.0.output.adapter.down.weight" : tensor<16x64xf32>
      %encoder.layer.0.output.adapter.down.bias = eff.parameter "encoder.layer.0.output.adapter.down.bias" : tensor<16xf32>
      %encoder.layer.0.output.adapter.up.weight = eff.parameter "encoder.layer.0.output.adapter.up.weight" : tensor<64x16xf32>
      %encoder.layer.0.output.adapter.up.bias = eff.parameter "encoder.layer.0.output.adapter.up.bias" : tensor<64xf32>
      %adapter = eff.bottleneck_adapter %16 down(%encoder.layer.0.output.adapter.down.weight, %encoder.layer.0.output.adapter.down.bias) up(%encoder.layer.0.output.adapter.up.weight, %encoder.layer.0.output.adapter.up.bias) relu : (tensor<?x?x64xf32>, tensor<16x64xf32>, tensor<16xf32>, tensor<64x16xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %17 = eff.add %12, %adapter : tensor<?x?x64xf32>
      %encoder.layer.0.output.LayerNorm.weight = eff.parameter "encoder.layer.0.output.LayerNorm.weight" : tensor<64xf32>
      %encoder.layer.0.output.LayerNorm.bias = eff.parameter "encoder.layer.0.output.LayerNorm.bias" : tensor<64xf32>
      %18 = eff.layer_norm %17, %encoder.layer.0.output.LayerNorm.weight, %encoder.layer.0.output.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      eff.yield %18 : tensor<?x?x64xf32>
    }
    %layer1 = eff.layer 1 (%layer0) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%layer0_1: tensor<?x?x64xf32>):
      %encoder.layer.1.attention.query.weight = eff.parameter "encoder.layer.1.attention.query.weight" : tensor<64x64xf32>
      %encoder.layer.1.attention.query.bias = eff.parameter "encoder.layer.1.attention.query.bias" : tensor<64xf32>
      %19 = eff.linear %layer0_1, %encoder.layer.1.attention.query.weight, %encoder.layer.1.attention.query.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.query.lora_A = eff.parameter "encoder.layer.1.attention.query.lora_A" : tensor<4x64xf32>
      %encoder.layer.1.attention.query.lora_B = eff.parameter "encoder.layer.1.attention.query.lora_B" : tensor<64x4xf32>
      %20 = eff.lora %19, %layer0_1, %encoder.layer.1.attention.query.lora_A, %encoder.layer.1.attention.query.lora_B {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<64x4xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.key.weight = eff.parameter "encoder.layer.1.attention.key.weight" : tensor<64x64xf32>
      %encoder.layer.1.attention.key.bias = eff.parameter "encoder.layer.1.attention.key.bias" : tensor<64xf32>
      %21 = eff.linear %layer0_1, %encoder.layer.1.attention.key.weight, %encoder.layer.1.attention.key.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.key.ia3 = eff.parameter "encoder.layer.1.attention.key.ia3" : tensor<64xf32>
      %22 = eff.ia3 key %21, %encoder.layer.1.attention.key.ia3 : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.value.weight = eff.parameter "encoder.layer.1.attention.value.weight" : tensor<64x64xf32>
      %encoder.layer.1.attention.value.bias = eff.parameter "encoder.layer.1.attention.value.bias" : tensor<64xf32>
      %23 = eff.linear %layer0_1, %encoder.layer.1.attention.value.weight, %encoder.layer.1.attention.value.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.value.lora_A = eff.parameter "encoder.layer.1.attention.value.lora_A" : tensor<4x64xf32>
      %encoder.layer.1.attention.value.lora_B = eff.parameter "encoder.layer.1.attention.value.lora_B" : tensor<64x4xf32>
      %24 = eff.lora %23, %layer0_1, %encoder.layer.1.attention.value.lora_A, %encoder.layer.1.attention.value.lora_B {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<64x4xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.value.ia3 = eff.parameter "encoder.layer.1.attention.value.ia3" : tensor<64xf32>
      %25 = eff.ia3 value %24, %encoder.layer.1.attention.value.ia3 : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.prefix_key = eff.parameter "encoder.layer.1.attention.prefix_key" : tensor<3x64xf32>
      %encoder.layer.1.attention.prefix_value = eff.parameter "encoder.layer.1.attention.prefix_value" : tensor<3x64xf32>
      %k_prefixed, %v_prefixed = eff.prefix %22, %25, %encoder.layer.1.attention.prefix_key, %encoder.layer.1.attention.prefix_value : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<3x64xf32>, tensor<3x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
      %attn_1 = eff.attention %20, %k_prefixed, %v_prefixed {num_heads = 4 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.attention.output.weight = eff.parameter "encoder.layer.1.attention.output.weight" : tensor<64x64xf32>
      %encoder.layer.1.attention.output.bias = eff.parameter "encoder.layer.1.attention.output.bias" : tensor<64xf32>
      %26 = eff.linear %attn_1, %encoder.layer.1.attention.output.weight, %encoder.layer.1.attention.output.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %27 = eff.add %layer0_1, %26 : tensor<?x?x64xf32>
      %encoder.layer.1.attention.LayerNorm.weight = eff.parameter "encoder.layer.1.attention.LayerNorm.weight" : tensor<64xf32>
      %encoder.layer.1.attention.LayerNorm.bias = eff.parameter "encoder.layer.1.attention.LayerNorm.bias" : tensor<64xf32>
      %28 = eff.layer_norm %27, %encoder.layer.1.attention.LayerNorm.weight, %encoder.layer.1.attention.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.intermediate.dense.weight = eff.parameter "encoder.layer.1.intermediate.dense.weight" : tensor<256x64xf32>
      %encoder.layer.1.intermediate.dense.bias = eff.parameter "encoder.layer.1.intermediate.dense.bias" : tensor<256xf32>
      %29 = eff.linear %28, %encoder.layer.1.intermediate.dense.weight, %encoder.layer.1.intermediate.dense.bias : (tensor<?x?x64xf32>, tensor<256x64xf32>, tensor<256xf32>) -> tensor<?x?x256xf32>
      %30 = eff.activation gelu %29 : tensor<?x?x256xf32>
      %encoder.layer.1.intermediate.ia3 = eff.parameter "encoder.layer.1.intermediate.ia3" : tensor<256xf32>
      %31 = eff.ia3 ffn %30, %encoder.layer.1.intermediate.ia3 : (tensor<?x?x256xf32>, tensor<256xf32>) -> tensor<?x?x256xf32>
      %encoder.layer.1.output.dense.weight = eff.parameter "encoder.layer.1.output.dense.weight" : tensor<64x256xf32>
      %encoder.layer.1.output.dense.bias = eff.parameter "encoder.layer.1.output.dense.bias" : tensor<64xf32>
      %32 = eff.linear %31, %encoder.layer.1.output.dense.weight, %encoder.layer.1.output.dense.bias : (tensor<?x?x256xf32>, tensor<64x256xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %encoder.layer.1.output.adapter.down.weight = eff.parameter "encoder.layer.1.output.adapter.down.weight" : tensor<16x64xf32>
      %encoder.layer.1.output.adapter.down.bias = eff.parameter "encoder.layer.1.output.adapter.down.bias" : tensor<16xf32>
      %encoder.layer.1.output.adapter.up.weight = eff.parameter "encoder.layer.1.output.adapter.up.weight" : tensor<64x16xf32>
      %encoder.layer.1.output.adapter.up.bias = eff.parameter "encoder.layer.1.output.adapter.up.bias" : tensor<64xf32>
      %adapter_1 = eff.bottleneck_adapter %32 down(%encoder.layer.1.output.adapter.down.weight, %encoder.layer.1.output.adapter.down.bias) up(%encoder.layer.1.output.adapter.up.weight, %encoder.layer.1.output.adapter.up.bias) relu : (tensor<?x?x64xf32>, tensor<16x64xf32>, tensor<16xf32>, tensor<64x16xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %33 = eff.add %28, %adapter_1 : tensor<?x?x64xf32>
      %encoder.layer.1.output.LayerNorm.weight = eff.parameter "encoder.layer.1.output.LayerNorm.weight" : tensor<64xf32>
      %encoder.layer.1.output.LayerNorm.bias = eff.parameter "encoder.layer.1.output.LayerNorm.bias" : tensor<64xf32>
      %34 = eff.layer_norm %33, %encoder.layer.1.output.LayerNorm.weight, %encoder.layer.1.output.LayerNorm.bias {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      eff.yield %34 : tensor<?x?x64xf32>
    }
    return %layer1 : tensor<?x?x64xf32>
  }
}
