// llama_tiny: Llama-style decoder (2 layers, hidden 64, 4 query heads, 2 key/value heads, SwiGLU FFN 192, vocab 1000).
// input_ids [batch, seq] i64 -> logits [batch, seq, vocab] f32 (causal)
module attributes {eff.weights = "llama_tiny.safetensors"} {
  func.func @main(%input_ids: tensor<?x?xi64> {eff.name = "input_ids"}) -> (tensor<?x?x1000xf32> {eff.name = "logits"}) {
    %model.embed_tokens.weight = eff.parameter "model.embed_tokens.weight" : tensor<1000x64xf32>
    %embeddings = eff.embedding token %model.embed_tokens.weight[%input_ids] : (tensor<1000x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
    %positions = eff.position_ids %input_ids : tensor<?x?xi64>
    %layer0 = eff.layer 0 (%embeddings, %positions) : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
    ^bb0(%embeddings_1: tensor<?x?x64xf32>, %positions_1: tensor<?x?xi64>):
      %model.layers.0.input_layernorm.weight = eff.parameter "model.layers.0.input_layernorm.weight" : tensor<64xf32>
      %0 = eff.rms_norm %embeddings_1, %model.layers.0.input_layernorm.weight {epsilon = 1.0e-06 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %model.layers.0.self_attn.q_proj.weight = eff.parameter "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
      %q = eff.linear %0, %model.layers.0.self_attn.q_proj.weight : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
      %model.layers.0.self_attn.k_proj.weight = eff.parameter "model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf32>
      %k = eff.linear %0, %model.layers.0.self_attn.k_proj.weight : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
      %model.layers.0.self_attn.v_proj.weight = eff.parameter "model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf32>
      %v = eff.linear %0, %model.layers.0.self_attn.v_proj.weight : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
      %q_rot = eff.rotary %q, %positions_1 {num_heads = 4 : i64, theta = 10000.0 : f32} : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
      %k_rot = eff.rotary %k, %positions_1 {num_heads = 2 : i64, theta = 10000.0 : f32} : (tensor<?x?x32xf32>, tensor<?x?xi64>) -> tensor<?x?x32xf32>
      %attn = eff.attention %q_rot, %k_rot, %v {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x64xf32>
      %model.layers.0.self_attn.o_proj.weight = eff.parameter "model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf32>
      %1 = eff.linear %attn, %model.layers.0.self_attn.o_proj.weight : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
      %2 = eff.add %embeddings_1, %1 : tensor<?x?x64xf32>
      %model.layers.0.post_attention_layernorm.weight = eff.parameter "model.layers.0.post_attention_layernorm.weight" : tensor<64xf32>
      %3 = eff.rms_norm %2, %model.layers.0.post_attention_layernorm.weight {epsilon = 1.0e-06 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %model.layers.0.mlp.up_proj.weight = eff.parameter "model.layers.0.mlp.up_proj.weight" : tensor<192x64xf32>
      %model.layers.0.mlp.gate_proj.weight = eff.parameter "model.layers.0.mlp.gate_proj.weight" : tensor<192x64xf32>
      %model.layers.0.mlp.down_proj.weight = eff.parameter "model.layers.0.mlp.down_proj.weight" : tensor<64x192xf32>
      %mlp = eff.ffn %3 up(%model.layers.0.mlp.up_proj.weight) gate(%model.layers.0.mlp.gate_proj.weight) down(%model.layers.0.mlp.down_proj.weight) silu : (tensor<?x?x64xf32>, tensor<192x64xf32>, tensor<192x64xf32>, tensor<64x192xf32>) -> tensor<?x?x64xf32>
      %4 = eff.add %2, %mlp : tensor<?x?x64xf32>
      eff.yield %4 : tensor<?x?x64xf32>
    }
    %layer1 = eff.layer 1 (%layer0, %positions) : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
    ^bb0(%layer0_1: tensor<?x?x64xf32>, %positions_2: tensor<?x?xi64>):
      %model.layers.1.input_layernorm.weight = eff.parameter "model.layers.1.input_layernorm.weight" : tensor<64xf32>
      %5 = eff.rms_norm %layer0_1, %model.layers.1.input_layernorm.weight {epsilon = 1.0e-06 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %model.layers.1.self_attn.q_proj.weight = eff.parameter "model.layers.1.self_attn.q_proj.weight" : tensor<64x64xf32>
      %q_1 = eff.linear %5, %model.layers.1.self_attn.q_proj.weight : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
      %model.layers.1.self_attn.k_proj.weight = eff.parameter "model.layers.1.self_attn.k_proj.weight" : tensor<32x64xf32>
      %k_1 = eff.linear %5, %model.layers.1.self_attn.k_proj.weight : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
      %model.layers.1.self_attn.v_proj.weight = eff.parameter "model.layers.1.self_attn.v_proj.weight" : tensor<32x64xf32>
      %v_1 = eff.linear %5, %model.layers.1.self_attn.v_proj.weight : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
      %q_rot_1 = eff.rotary %q_1, %positions_2 {num_heads = 4 : i64, theta = 10000.0 : f32} : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
      %k_rot_1 = eff.rotary %k_1, %positions_2 {num_heads = 2 : i64, theta = 10000.0 : f32} : (tensor<?x?x32xf32>, tensor<?x?xi64>) -> tensor<?x?x32xf32>
      %attn_1 = eff.attention %q_rot_1, %k_rot_1, %v_1 {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x64xf32>
      %model.layers.1.self_attn.o_proj.weight = eff.parameter "model.layers.1.self_attn.o_proj.weight" : tensor<64x64xf32>
      %6 = eff.linear %attn_1, %model.layers.1.self_attn.o_proj.weight : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
      %7 = eff.add %layer0_1, %6 : tensor<?x?x64xf32>
      %model.layers.1.post_attention_layernorm.weight = eff.parameter "model.layers.1.post_attention_layernorm.weight" : tensor<64xf32>
      %8 = eff.rms_norm %7, %model.layers.1.post_attention_layernorm.weight {epsilon = 1.0e-06 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %model.layers.1.mlp.up_proj.weight = eff.parameter "model.layers.1.mlp.up_proj.weight" : tensor<192x64xf32>
      %model.layers.1.mlp.gate_proj.weight = eff.parameter "model.layers.1.mlp.gate_proj.weight" : tensor<192x64xf32>
      %model.layers.1.mlp.down_proj.weight = eff.parameter "model.layers.1.mlp.down_proj.weight" : tensor<64x192xf32>
      %mlp_1 = eff.ffn %8 up(%model.layers.1.mlp.up_proj.weight) gate(%model.layers.1.mlp.gate_proj.weight) down(%model.layers.1.mlp.down_proj.weight) silu : (tensor<?x?x64xf32>, tensor<192x64xf32>, tensor<192x64xf32>, tensor<64x192xf32>) -> tensor<?x?x64xf32>
      %9 = eff.add %7, %mlp_1 : tensor<?x?x64xf32>
      eff.yield %9 : tensor<?x?x64xf32>
    }
    %model.norm.weight = eff.parameter "model.norm.weight" : tensor<64xf32>
    %10 = eff.rms_norm %layer1, %model.norm.weight {epsilon = 1.0e-06 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %lm_head.weight = eff.parameter "lm_head.weight" : tensor<1000x64xf32>
    %logits = eff.linear %10, %lm_head.weight : (tensor<?x?x64xf32>, tensor<1000x64xf32>) -> tensor<?x?x1000xf32>
    return %logits : tensor<?x?x1000xf32>
  }
}
