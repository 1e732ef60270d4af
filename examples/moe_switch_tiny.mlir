// moe_switch_tiny: pre-LN encoder with mixture-of-experts FFNs (2 layers, hidden 64, 4 experts of width 128).
// Even layers: Switch FFN (softmax top-1 routing, capacity factor 1.25; dropped tokens
// pass through the residual). Odd layers: residual MoE (PR-MoE), a dense MLP beside the routed experts mixed
// by a learned per-token coefficient.
// input_ids, attention_mask: [batch, seq] i64 -> last_hidden_state [batch, seq, hidden] f32
module attributes {eff.weights = "moe_switch_tiny.safetensors"} {
  func.func @main(%input_ids: tensor<?x?xi64> {eff.name = "input_ids"}, %attention_mask: tensor<?x?xi64> {eff.name = "attention_mask"}) -> (tensor<?x?x64xf32> {eff.name = "last_hidden_state"}) {
    %embed_tokens.weight = eff.parameter "embed_tokens.weight" : tensor<1000x64xf32>
    %tokens = eff.embedding token %embed_tokens.weight[%input_ids] : (tensor<1000x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
    %positions = eff.position_ids %input_ids : tensor<?x?xi64>
    %embed_positions.weight = eff.parameter "embed_positions.weight" : tensor<64x64xf32>
    %0 = eff.embedding position %embed_positions.weight[%positions] : (tensor<64x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
    %embeddings = eff.add %tokens, %0 : tensor<?x?x64xf32>
    %layer0 = eff.layer 0 (%embeddings, %attention_mask) : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
    ^bb0(%embeddings_1: tensor<?x?x64xf32>, %attention_mask_1: tensor<?x?xi64>):
      %layers.0.attn_norm.weight = eff.parameter "layers.0.attn_norm.weight" : tensor<64xf32>
      %layers.0.attn_norm.bias = eff.parameter "layers.0.attn_norm.bias" : tensor<64xf32>
      %1 = eff.layer_norm %embeddings_1, %layers.0.attn_norm.weight, %layers.0.attn_norm.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.0.attn.q_proj.weight = eff.parameter "layers.0.attn.q_proj.weight" : tensor<64x64xf32>
      %layers.0.attn.q_proj.bias = eff.parameter "layers.0.attn.q_proj.bias" : tensor<64xf32>
      %q = eff.linear %1, %layers.0.attn.q_proj.weight, %layers.0.attn.q_proj.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.0.attn.k_proj.weight = eff.parameter "layers.0.attn.k_proj.weight" : tensor<64x64xf32>
      %layers.0.attn.k_proj.bias = eff.parameter "layers.0.attn.k_proj.bias" : tensor<64xf32>
      %k = eff.linear %1, %layers.0.attn.k_proj.weight, %layers.0.attn.k_proj.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.0.attn.v_proj.weight = eff.parameter "layers.0.attn.v_proj.weight" : tensor<64x64xf32>
      %layers.0.attn.v_proj.bias = eff.parameter "layers.0.attn.v_proj.bias" : tensor<64xf32>
      %v = eff.linear %1, %layers.0.attn.v_proj.weight, %layers.0.attn.v_proj.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %attn = eff.attention %q, %k, %v mask(%attention_mask_1) {num_heads = 4 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
      %layers.0.attn.o_proj.weight = eff.parameter "layers.0.attn.o_proj.weight" : tensor<64x64xf32>
      %layers.0.attn.o_proj.bias = eff.parameter "layers.0.attn.o_proj.bias" : tensor<64xf32>
      %2 = eff.linear %attn, %layers.0.attn.o_proj.weight, %layers.0.attn.o_proj.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %3 = eff.add %embeddings_1, %2 : tensor<?x?x64xf32>
      %layers.0.ffn_norm.weight = eff.parameter "layers.0.ffn_norm.weight" : tensor<64xf32>
      %layers.0.ffn_norm.bias = eff.parameter "layers.0.ffn_norm.bias" : tensor<64xf32>
      %4 = eff.layer_norm %3, %layers.0.ffn_norm.weight, %layers.0.ffn_norm.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.0.moe.router.weight = eff.parameter "layers.0.moe.router.weight" : tensor<4x64xf32>
      %route_weights, %route_experts = eff.router softmax %4, %layers.0.moe.router.weight {top_k = 1 : i64, capacity_factor = 1.25 : f32} : (tensor<?x?x64xf32>, tensor<4x64xf32>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
      %layers.0.moe.experts.up.weight = eff.parameter "layers.0.moe.experts.up.weight" : tensor<4x128x64xf32>
      %layers.0.moe.experts.up.bias = eff.parameter "layers.0.moe.experts.up.bias" : tensor<4x128xf32>
      %layers.0.moe.experts.down.weight = eff.parameter "layers.0.moe.experts.down.weight" : tensor<4x64x128xf32>
      %layers.0.moe.experts.down.bias = eff.parameter "layers.0.moe.experts.down.bias" : tensor<4x64xf32>
      %experts = eff.experts %4, %route_weights, %route_experts up(%layers.0.moe.experts.up.weight, %layers.0.moe.experts.up.bias) down(%layers.0.moe.experts.down.weight, %layers.0.moe.experts.down.bias) relu : (tensor<?x?x64xf32>, tensor<?x?x1xf32>, tensor<?x?x1xi64>, tensor<4x128x64xf32>, tensor<4x128xf32>, tensor<4x64x128xf32>, tensor<4x64xf32>) -> tensor<?x?x64xf32>
      %5 = eff.add %3, %experts : tensor<?x?x64xf32>
      eff.yield %5 : tensor<?x?x64xf32>
    }
    %layer1 = eff.layer 1 (%layer0, %attention_mask) : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
    ^bb0(%layer0_1: tensor<?x?x64xf32>, %attention_mask_2: tensor<?x?xi64>):
      %layers.1.attn_norm.weight = eff.parameter "layers.1.attn_norm.weight" : tensor<64xf32>
      %layers.1.attn_norm.bias = eff.parameter "layers.1.attn_norm.bias" : tensor<64xf32>
      %6 = eff.layer_norm %layer0_1, %layers.1.attn_norm.weight, %layers.1.attn_norm.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.1.attn.q_proj.weight = eff.parameter "layers.1.attn.q_proj.weight" : tensor<64x64xf32>
      %layers.1.attn.q_proj.bias = eff.parameter "layers.1.attn.q_proj.bias" : tensor<64xf32>
      %q_1 = eff.linear %6, %layers.1.attn.q_proj.weight, %layers.1.attn.q_proj.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.1.attn.k_proj.weight = eff.parameter "layers.1.attn.k_proj.weight" : tensor<64x64xf32>
      %layers.1.attn.k_proj.bias = eff.parameter "layers.1.attn.k_proj.bias" : tensor<64xf32>
      %k_1 = eff.linear %6, %layers.1.attn.k_proj.weight, %layers.1.attn.k_proj.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.1.attn.v_proj.weight = eff.parameter "layers.1.attn.v_proj.weight" : tensor<64x64xf32>
      %layers.1.attn.v_proj.bias = eff.parameter "layers.1.attn.v_proj.bias" : tensor<64xf32>
      %v_1 = eff.linear %6, %layers.1.attn.v_proj.weight, %layers.1.attn.v_proj.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %attn_1 = eff.attention %q_1, %k_1, %v_1 mask(%attention_mask_2) {num_heads = 4 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
      %layers.1.attn.o_proj.weight = eff.parameter "layers.1.attn.o_proj.weight" : tensor<64x64xf32>
      %layers.1.attn.o_proj.bias = eff.parameter "layers.1.attn.o_proj.bias" : tensor<64xf32>
      %7 = eff.linear %attn_1, %layers.1.attn.o_proj.weight, %layers.1.attn.o_proj.bias : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %8 = eff.add %layer0_1, %7 : tensor<?x?x64xf32>
      %layers.1.ffn_norm.weight = eff.parameter "layers.1.ffn_norm.weight" : tensor<64xf32>
      %layers.1.ffn_norm.bias = eff.parameter "layers.1.ffn_norm.bias" : tensor<64xf32>
      %9 = eff.layer_norm %8, %layers.1.ffn_norm.weight, %layers.1.ffn_norm.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.1.moe.router.weight = eff.parameter "layers.1.moe.router.weight" : tensor<4x64xf32>
      %route_weights_1, %route_experts_1 = eff.router softmax %9, %layers.1.moe.router.weight {top_k = 1 : i64, capacity_factor = 1.25 : f32} : (tensor<?x?x64xf32>, tensor<4x64xf32>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
      %layers.1.moe.experts.up.weight = eff.parameter "layers.1.moe.experts.up.weight" : tensor<4x128x64xf32>
      %layers.1.moe.experts.up.bias = eff.parameter "layers.1.moe.experts.up.bias" : tensor<4x128xf32>
      %layers.1.moe.experts.down.weight = eff.parameter "layers.1.moe.experts.down.weight" : tensor<4x64x128xf32>
      %layers.1.moe.experts.down.bias = eff.parameter "layers.1.moe.experts.down.bias" : tensor<4x64xf32>
      %experts_1 = eff.experts %9, %route_weights_1, %route_experts_1 up(%layers.1.moe.experts.up.weight, %layers.1.moe.experts.up.bias) down(%layers.1.moe.experts.down.weight, %layers.1.moe.experts.down.bias) relu : (tensor<?x?x64xf32>, tensor<?x?x1xf32>, tensor<?x?x1xi64>, tensor<4x128x64xf32>, tensor<4x128xf32>, tensor<4x64x128xf32>, tensor<4x64xf32>) -> tensor<?x?x64xf32>
      %layers.1.mlp.fc_in.weight = eff.parameter "layers.1.mlp.fc_in.weight" : tensor<128x64xf32>
      %layers.1.mlp.fc_in.bias = eff.parameter "layers.1.mlp.fc_in.bias" : tensor<128xf32>
      %layers.1.mlp.fc_out.weight = eff.parameter "layers.1.mlp.fc_out.weight" : tensor<64x128xf32>
      %layers.1.mlp.fc_out.bias = eff.parameter "layers.1.mlp.fc_out.bias" : tensor<64xf32>
      %dense = eff.ffn %9 up(%layers.1.mlp.fc_in.weight, %layers.1.mlp.fc_in.bias) down(%layers.1.mlp.fc_out.weight, %layers.1.mlp.fc_out.bias) gelu : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32>, tensor<64x128xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
      %layers.1.coefficient.weight = eff.parameter "layers.1.coefficient.weight" : tensor<2x64xf32>
      %layers.1.coefficient.bias = eff.parameter "layers.1.coefficient.bias" : tensor<2xf32>
      %mixed = eff.residual_moe %9, %dense, %experts_1, %layers.1.coefficient.weight, %layers.1.coefficient.bias : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<2x64xf32>, tensor<2xf32>) -> tensor<?x?x64xf32>
      %10 = eff.add %8, %mixed : tensor<?x?x64xf32>
      eff.yield %10 : tensor<?x?x64xf32>
    }
    %final_norm.weight = eff.parameter "final_norm.weight" : tensor<64xf32>
    %final_norm.bias = eff.parameter "final_norm.bias" : tensor<64xf32>
    %11 = eff.layer_norm %layer1, %final_norm.weight, %final_norm.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    return %11 : tensor<?x?x64xf32>
  }
}
