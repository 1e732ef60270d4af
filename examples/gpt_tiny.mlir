// gpt_tiny: GPT-2 style pre-LN decoder (2 layers, hidden 128, 4 heads, FFN 512, vocab 1000, tied LM head).
// prefill(input_ids [batch, seq] i64) -> logits [batch, seq, vocab], present_key_<i>/present_value_<i>
//     [batch, seq, hidden] per layer (the KV cache).
// decode(input_ids [batch, 1] i64, past_key_<i>/past_value_<i> [batch, past, hidden]) -> logits
//     [batch, 1, vocab] and presents [batch, past + 1, hidden]. The position of the new token is the past
//     length, read from past_key_0 with tensor.dim.
module attributes {eff.weights = "gpt_tiny.safetensors"} {
  func.func @prefill(%input_ids: tensor<?x?xi64> {eff.name = "input_ids"}) -> (tensor<?x?x1000xf32> {eff.name = "logits"}, tensor<?x?x128xf32> {eff.name = "present_key_0"}, tensor<?x?x128xf32> {eff.name = "present_value_0"}, tensor<?x?x128xf32> {eff.name = "present_key_1"}, tensor<?x?x128xf32> {eff.name = "present_value_1"}) {
    %positions = eff.position_ids %input_ids : tensor<?x?xi64>
    %wte.weight = eff.parameter "wte.weight" : tensor<1000x128xf32>
    %tokens = eff.embedding token %wte.weight[%input_ids] : (tensor<1000x128xf32>, tensor<?x?xi64>) -> tensor<?x?x128xf32>
    %wpe.weight = eff.parameter "wpe.weight" : tensor<128x128xf32>
    %0 = eff.embedding position %wpe.weight[%positions] : (tensor<128x128xf32>, tensor<?x?xi64>) -> tensor<?x?x128xf32>
    %embeddings = eff.add %tokens, %0 : tensor<?x?x128xf32>
    %layer0, %layer0_1, %layer0_2 = eff.layer 0 (%embeddings) : (tensor<?x?x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
    ^bb0(%embeddings_1: tensor<?x?x128xf32>):
      %h.0.ln_1.weight = eff.parameter "h.0.ln_1.weight" : tensor<128xf32>
      %h.0.ln_1.bias = eff.parameter "h.0.ln_1.bias" : tensor<128xf32>
      %1 = eff.layer_norm %embeddings_1, %h.0.ln_1.weight, %h.0.ln_1.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %h.0.attn.q_proj.weight = eff.parameter "h.0.attn.q_proj.weight" : tensor<128x128xf32>
      %h.0.attn.q_proj.bias = eff.parameter "h.0.attn.q_proj.bias" : tensor<128xf32>
      %q = eff.linear %1, %h.0.attn.q_proj.weight, %h.0.attn.q_proj.bias : (tensor<?x?x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %h.0.attn.k_proj.weight = eff.parameter "h.0.attn.k_proj.weight" : tensor<128x128xf32>
      %h.0.attn.k_proj.bias = eff.parameter "h.0.attn.k_proj.bias" : tensor<128xf32>
      %k = eff.linear %1, %h.0.attn.k_proj.weight, %h.0.attn.k_proj.bias : (tensor<?x?x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %h.0.attn.v_proj.weight = eff.parameter "h.0.attn.v_proj.weight" : tensor<128x128xf32>
      %h.0.attn.v_proj.bias = eff.parameter "h.0.attn.v_proj.bias" : tensor<128xf32>
      %v = eff.linear %1, %h.0.attn.v_proj.weight, %h.0.attn.v_proj.bias : (tensor<?x?x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %attn = eff.attention %q, %k, %v {num_heads = 4 : i64, causal} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
      %h.0.attn.out_proj.weight = eff.parameter "h.0.attn.out_proj.weight" : tensor<128x128xf32>
      %h.0.attn.out_proj.bias = eff.parameter "h.0.attn.out_proj.bias" : tensor<128xf32>
      %2 = eff.linear %attn, %h.0.attn.out_proj.weight, %h.0.attn.out_proj.bias : (tensor<?x?x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %3 = eff.add %embeddings_1, %2 : tensor<?x?x128xf32>
      %h.0.ln_2.weight = eff.parameter "h.0.ln_2.weight" : tensor<128xf32>
      %h.0.ln_2.bias = eff.parameter "h.0.ln_2.bias" : tensor<128xf32>
      %4 = eff.layer_norm %3, %h.0.ln_2.weight, %h.0.ln_2.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %h.0.mlp.fc_in.weight = eff.parameter "h.0.mlp.fc_in.weight" : tensor<512x128xf32>
      %h.0.mlp.fc_in.bias = eff.parameter "h.0.mlp.fc_in.bias" : tensor<512xf32>
      %h.0.mlp.fc_out.weight = eff.parameter "h.0.mlp.fc_out.weight" : tensor<128x512xf32>
      %h.0.mlp.fc_out.bias = eff.parameter "h.0.mlp.fc_out.bias" : tensor<128xf32>
      %mlp = eff.ffn %4 up(%h.0.mlp.fc_in.weight, %h.0.mlp.fc_in.bias) down(%h.0.mlp.fc_out.weight, %h.0.mlp.fc_out.bias) gelu_tanh : (tensor<?x?x128xf32>, tensor<512x128xf32>, tensor<512xf32>, tensor<128x512xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %5 = eff.add %3, %mlp : tensor<?x?x128xf32>
      eff.yield %5, %k, %v : tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
    }
    %layer1, %layer1_1, %layer1_2 = eff.layer 1 (%layer0) : (tensor<?x?x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
    ^bb0(%layer0_3: tensor<?x?x128xf32>):
      %h.1.ln_1.weight = eff.parameter "h.1.ln_1.weight" : tensor<128xf32>
      %h.1.ln_1.bias = eff.parameter "h.1.ln_1.bias" : tensor<128xf32>
      %6 = eff.layer_norm %layer0_3, %h.1.ln_1.weight, %h.1.ln_1.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %h.1.attn.q_proj.weight = eff.parameter "h.1.attn.q_proj.weight" : tensor<128x128xf32>
      %h.1.attn.q_proj.bias = eff.parameter "h.1.attn.q_proj.bias" : tensor<128xf32>
      %q_1 = eff.linear %6, %h.1.attn.q_proj.weight, %h.1.attn.q_proj.bias : (tensor<?x?x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %h.1.attn.k_proj.weight = eff.parameter "h.1.attn.k_proj.weight" : tensor<128x128xf32>
      %h.1.attn.k_proj.bias = eff.parameter "h.1.attn.k_proj.bias" : tensor<128xf32>
      %k_1 = eff.linear %6, %h.1.attn.k_proj.weight, %h.1.attn.k_proj.bias : (tensor<?x?x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %h.1.attn.v_proj.weight = eff.parameter "h.1.attn.v_proj.weight" : tensor<128x128xf32>
      %h.1.attn.v_proj.bias = eff.parameter "h.1.attn.v_proj.bias" : tensor<128xf32>
      %v_1 = eff.linear %6, %h.1.attn.v_proj.weight, %h.1.attn.v_proj.bias : (tensor<?x?x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %attn_1 = eff.attention %q_1, %k_1, %v_1 {num_heads = 4 : i64, causal} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
      %h.1.attn.out_proj.weight = eff.parameter "h.1.attn.out_proj.weight" : tensor<128x128xf32>
      %h.1.attn.out_proj.bias = eff.parameter "h.1.attn.out_proj.bias" : tensor<128xf32>
      %7 = eff.linear %attn_1, %h.1.attn.out_proj.weight, %h.1.attn.out_proj.bias : (tensor<?x?x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %8 = eff.add %layer0_3, %7 : tensor<?x?x128xf32>
      %h.1.ln_2.weight = eff.parameter "h.1.ln_2.weight" : tensor<128xf32>
      %h.1.ln_2.bias = eff.parameter "h.1.ln_2.bias" : tensor<128xf32>
      %9 = eff.layer_norm %8, %h.1.ln_2.weight, %h.1.ln_2.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %h.1.mlp.fc_in.weight = eff.parameter "h.1.mlp.fc_in.weight" : tensor<512x128xf32>
      %h.1.mlp.fc_in.bias = eff.parameter "h.1.mlp.fc_in.bias" : tensor<512xf32>
      %h.1.mlp.fc_out.weight = eff.parameter "h.1.mlp.fc_out.weight" : tensor<128x512xf32>
      %h.1.mlp.fc_out.bias = eff.parameter "h.1.mlp.fc_out.bias" : tensor<128xf32>
      %mlp_1 = eff.ffn %9 up(%h.1.mlp.fc_in.weight, %h.1.mlp.fc_in.bias) down(%h.1.mlp.fc_out.weight, %h.1.mlp.fc_out.bias) gelu_tanh : (tensor<?x?x128xf32>, tensor<512x128xf32>, tensor<512xf32>, tensor<128x512xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
      %10 = eff.add %8, %mlp_1 : tensor<?x?x128xf32>
      eff.yield %10, %k_1, %v_1 : tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
    }
    %ln_f.weight = eff.parameter "ln_f.weight" : tensor<128xf32>
    %ln_f.bias = eff.parameter "ln_f.bias" : tensor<128xf32>
    %11 = eff.layer_norm %layer1, %ln_f.weight, %ln_f.bias {epsilon = 1.0e-05 : f32} : (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %logits = eff.linear %11, %wte.weight : (tensor<?x?x128xf32>, tensor<1000x128xf32>) -> tensor<?x?x1000xf32>
    return %logits, %layer0_1, %layer0_2, %layer1_1, %layer1_2 : tensor<?x?x1000xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
  }

  func.func @decode(%input_ids: tensor<?x1xi64> {eff.name = "input_ids"}, %past_key_0: tensor<?x?x128xf32> {eff.name = "past_key_0"}, %past_value_0: tensor<?x?x128xf32> {eff.name = "past_value_0"}, %past_key_1: tensor<?x?x128xf32> {eff.name = "past_key_1"}, %past_value_1: tensor<?x?x128xf32> {eff.name = "past_value_1"}) -> (tensor<?x1x1000xf32> {eff.name = "logits"}, tensor<?x?x128xf32> {eff.name = "present_key_0"}, tensor<?x?x128xf32> {eff.name = "present_value_0"}, tensor<?x?x128xf32> {eff.name = "present_key_1"}, tensor<?x?x128xf32> {eff.name = "present_value_1"}) {
    %c1 = arith.constant 1 : index
    %past_length = tensor.dim %past_key_0, %c1 : tensor<?x?x128xf32>
    %positions = eff.position_ids %input_ids offset %past_length : tensor<?x1xi64>
    %wte.weight = eff.parameter "wte.weight" : tensor<1000x128xf32>
    %tokens = eff.embedding token %wte.weight[%input_ids] : (tensor<1000x128xf32>, tensor<?x1xi64>) -> tensor<?x1x128xf32>
    %wpe.weight = eff.parameter "wpe.weight" : tensor<128x128xf32>
    %0 = eff.embedding position %wpe.weight[%positions] : (tensor<128x128xf32>, tensor<?x1xi64>) -> tensor<?x1x128xf32>
    %embeddings = eff.add %tokens, %0 : tensor<?x1x128xf32>
    %layer0, %layer0_1, %layer0_2 = eff.layer 0 (%embeddings, %past_key_0, %past_value_0) : (tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> (tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
    ^bb0(%embeddings_1: tensor<?x1x128xf32>, %past_key_0_1: tensor<?x?x128xf32>, %past_value_0_1: tensor<?x?x128xf32>):
      %h.0.ln_1.weight = eff.parameter "h.0.ln_1.weight" : tensor<128xf32>
      %h.0.ln_1.bias = eff.parameter "h.0.ln_1.bias" : tensor<128xf32>
      %1 = eff.layer_norm %embeddings_1, %h.0.ln_1.weight, %h.0.ln_1.bias {epsilon = 1.0e-05 : f32} : (tensor<?x1x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %h.0.attn.q_proj.weight = eff.parameter "h.0.attn.q_proj.weight" : tensor<128x128xf32>
      %h.0.attn.q_proj.bias = eff.parameter "h.0.attn.q_proj.bias" : tensor<128xf32>
      %q = eff.linear %1, %h.0.attn.q_proj.weight, %h.0.attn.q_proj.bias : (tensor<?x1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %h.0.attn.k_proj.weight = eff.parameter "h.0.attn.k_proj.weight" : tensor<128x128xf32>
      %h.0.attn.k_proj.bias = eff.parameter "h.0.attn.k_proj.bias" : tensor<128xf32>
      %k = eff.linear %1, %h.0.attn.k_proj.weight, %h.0.attn.k_proj.bias : (tensor<?x1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %h.0.attn.v_proj.weight = eff.parameter "h.0.attn.v_proj.weight" : tensor<128x128xf32>
      %h.0.attn.v_proj.bias = eff.parameter "h.0.attn.v_proj.bias" : tensor<128xf32>
      %v = eff.linear %1, %h.0.attn.v_proj.weight, %h.0.attn.v_proj.bias : (tensor<?x1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %attn, %present_key, %present_value = eff.attention %q, %k, %v past(%past_key_0_1, %past_value_0_1) {num_heads = 4 : i64, causal} : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> (tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>)
      %h.0.attn.out_proj.weight = eff.parameter "h.0.attn.out_proj.weight" : tensor<128x128xf32>
      %h.0.attn.out_proj.bias = eff.parameter "h.0.attn.out_proj.bias" : tensor<128xf32>
      %2 = eff.linear %attn, %h.0.attn.out_proj.weight, %h.0.attn.out_proj.bias : (tensor<?x1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %3 = eff.add %embeddings_1, %2 : tensor<?x1x128xf32>
      %h.0.ln_2.weight = eff.parameter "h.0.ln_2.weight" : tensor<128xf32>
      %h.0.ln_2.bias = eff.parameter "h.0.ln_2.bias" : tensor<128xf32>
      %4 = eff.layer_norm %3, %h.0.ln_2.weight, %h.0.ln_2.bias {epsilon = 1.0e-05 : f32} : (tensor<?x1x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %h.0.mlp.fc_in.weight = eff.parameter "h.0.mlp.fc_in.weight" : tensor<512x128xf32>
      %h.0.mlp.fc_in.bias = eff.parameter "h.0.mlp.fc_in.bias" : tensor<512xf32>
      %h.0.mlp.fc_out.weight = eff.parameter "h.0.mlp.fc_out.weight" : tensor<128x512xf32>
      %h.0.mlp.fc_out.bias = eff.parameter "h.0.mlp.fc_out.bias" : tensor<128xf32>
      %mlp = eff.ffn %4 up(%h.0.mlp.fc_in.weight, %h.0.mlp.fc_in.bias) down(%h.0.mlp.fc_out.weight, %h.0.mlp.fc_out.bias) gelu_tanh : (tensor<?x1x128xf32>, tensor<512x128xf32>, tensor<512xf32>, tensor<128x512xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %5 = eff.add %3, %mlp : tensor<?x1x128xf32>
      eff.yield %5, %present_key, %present_value : tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
    }
    %layer1, %layer1_1, %layer1_2 = eff.layer 1 (%layer0, %past_key_1, %past_value_1) : (tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> (tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
    ^bb0(%layer0_3: tensor<?x1x128xf32>, %past_key_1_1: tensor<?x?x128xf32>, %past_value_1_1: tensor<?x?x128xf32>):
      %h.1.ln_1.weight = eff.parameter "h.1.ln_1.weight" : tensor<128xf32>
      %h.1.ln_1.bias = eff.parameter "h.1.ln_1.bias" : tensor<128xf32>
      %6 = eff.layer_norm %layer0_3, %h.1.ln_1.weight, %h.1.ln_1.bias {epsilon = 1.0e-05 : f32} : (tensor<?x1x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %h.1.attn.q_proj.weight = eff.parameter "h.1.attn.q_proj.weight" : tensor<128x128xf32>
      %h.1.attn.q_proj.bias = eff.parameter "h.1.attn.q_proj.bias" : tensor<128xf32>
      %q_1 = eff.linear %6, %h.1.attn.q_proj.weight, %h.1.attn.q_proj.bias : (tensor<?x1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %h.1.attn.k_proj.weight = eff.parameter "h.1.attn.k_proj.weight" : tensor<128x128xf32>
      %h.1.attn.k_proj.bias = eff.parameter "h.1.attn.k_proj.bias" : tensor<128xf32>
      %k_1 = eff.linear %6, %h.1.attn.k_proj.weight, %h.1.attn.k_proj.bias : (tensor<?x1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %h.1.attn.v_proj.weight = eff.parameter "h.1.attn.v_proj.weight" : tensor<128x128xf32>
      %h.1.attn.v_proj.bias = eff.parameter "h.1.attn.v_proj.bias" : tensor<128xf32>
      %v_1 = eff.linear %6, %h.1.attn.v_proj.weight, %h.1.attn.v_proj.bias : (tensor<?x1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %attn_1, %present_key_1, %present_value_1 = eff.attention %q_1, %k_1, %v_1 past(%past_key_1_1, %past_value_1_1) {num_heads = 4 : i64, causal} : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> (tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>)
      %h.1.attn.out_proj.weight = eff.parameter "h.1.attn.out_proj.weight" : tensor<128x128xf32>
      %h.1.attn.out_proj.bias = eff.parameter "h.1.attn.out_proj.bias" : tensor<128xf32>
      %7 = eff.linear %attn_1, %h.1.attn.out_proj.weight, %h.1.attn.out_proj.bias : (tensor<?x1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %8 = eff.add %layer0_3, %7 : tensor<?x1x128xf32>
      %h.1.ln_2.weight = eff.parameter "h.1.ln_2.weight" : tensor<128xf32>
      %h.1.ln_2.bias = eff.parameter "h.1.ln_2.bias" : tensor<128xf32>
      %9 = eff.layer_norm %8, %h.1.ln_2.weight, %h.1.ln_2.bias {epsilon = 1.0e-05 : f32} : (tensor<?x1x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %h.1.mlp.fc_in.weight = eff.parameter "h.1.mlp.fc_in.weight" : tensor<512x128xf32>
      %h.1.mlp.fc_in.bias = eff.parameter "h.1.mlp.fc_in.bias" : tensor<512xf32>
      %h.1.mlp.fc_out.weight = eff.parameter "h.1.mlp.fc_out.weight" : tensor<128x512xf32>
      %h.1.mlp.fc_out.bias = eff.parameter "h.1.mlp.fc_out.bias" : tensor<128xf32>
      %mlp_1 = eff.ffn %9 up(%h.1.mlp.fc_in.weight, %h.1.mlp.fc_in.bias) down(%h.1.mlp.fc_out.weight, %h.1.mlp.fc_out.bias) gelu_tanh : (tensor<?x1x128xf32>, tensor<512x128xf32>, tensor<512xf32>, tensor<128x512xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
      %10 = eff.add %8, %mlp_1 : tensor<?x1x128xf32>
      eff.yield %10, %present_key_1, %present_value_1 : tensor<?x1x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
    }
    %ln_f.weight = eff.parameter "ln_f.weight" : tensor<128xf32>
    %ln_f.bias = eff.parameter "ln_f.bias" : tensor<128xf32>
    %11 = eff.layer_norm %layer1, %ln_f.weight, %ln_f.bias {epsilon = 1.0e-05 : f32} : (tensor<?x1x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
    %logits = eff.linear %11, %wte.weight : (tensor<?x1x128xf32>, tensor<1000x128xf32>) -> tensor<?x1x1000xf32>
    return %logits, %layer0_1, %layer0_2, %layer1_1, %layer1_2 : tensor<?x1x1000xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
  }
}
