// RUN: effc-opt %s -split-input-file -eff-merge-adapters -verify-diagnostics

// Adapters that eff-merge-adapters (lib/Dialect/Eff/Transforms/MergeAdapters.cpp) leaves in place, each
// with its remark. Prefix and prompt tuning with constant tensors are constant prefixes already: no remark.

func.func @lora_base_not_linear(%x: tensor<4x2xf32>, %y: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %a = arith.constant dense<1.0> : tensor<1x2xf32>
  %b = arith.constant dense<1.0> : tensor<2x1xf32>
  %base = eff.add %x, %y : tensor<4x2xf32>
  // expected-remark @+1 {{eff-merge-adapters: LoRA kept: its base is not the result of an eff.linear}}
  %z = eff.lora %base, %x, %a, %b {rank = 1 : i64, alpha = 1.0 : f32} : (tensor<4x2xf32>, tensor<4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

func.func @lora_other_input(%x: tensor<4x2xf32>, %x2: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %a = arith.constant dense<1.0> : tensor<1x2xf32>
  %b = arith.constant dense<1.0> : tensor<2x1xf32>
  %y = eff.linear %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  // expected-remark @+1 {{eff-merge-adapters: LoRA kept: its input is not the input of the eff.linear it adapts}}
  %z = eff.lora %y, %x2, %a, %b {rank = 1 : i64, alpha = 1.0 : f32} : (tensor<4x2xf32>, tensor<4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

func.func @lora_weight_is_argument(%x: tensor<4x2xf32>, %w: tensor<2x2xf32>) -> tensor<4x2xf32> {
  %a = arith.constant dense<1.0> : tensor<1x2xf32>
  %b = arith.constant dense<1.0> : tensor<2x1xf32>
  %y = eff.linear %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  // expected-remark @+1 {{eff-merge-adapters: LoRA kept: the base eff.linear's weight is not a float constant}}
  %z = eff.lora %y, %x, %a, %b {rank = 1 : i64, alpha = 1.0 : f32} : (tensor<4x2xf32>, tensor<4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

func.func @lora_adapter_is_argument(%x: tensor<4x2xf32>, %a: tensor<1x2xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %b = arith.constant dense<1.0> : tensor<2x1xf32>
  %y = eff.linear %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  // expected-remark @+1 {{eff-merge-adapters: LoRA kept: its A or B is not a float constant}}
  %z = eff.lora %y, %x, %a, %b {rank = 1 : i64, alpha = 1.0 : f32} : (tensor<4x2xf32>, tensor<4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

func.func @ia3_scale_is_argument(%x: tensor<4x2xf32>, %l: tensor<2xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %y = eff.linear %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  // expected-remark @+1 {{eff-merge-adapters: (IA)^3 vector kept: it is not a float constant}}
  %s = eff.ia3 key %y, %l : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  return %s : tensor<4x2xf32>
}

// -----

// The scaled keys are neither produced by an eff.linear nor only read by one (the attention reads them).
func.func @ia3_unfoldable(%q: tensor<1x4x2xf32>, %k: tensor<1x4x2xf32>) -> tensor<1x4x2xf32> {
  %l = arith.constant dense<2.0> : tensor<2xf32>
  // expected-remark @+1 {{eff-merge-adapters: (IA)^3 vector kept: the scaled tensor is not the output of an eff.linear with constant weights, and not only read as the input of such eff.linear ops}}
  %s = eff.ia3 key %k, %l : (tensor<1x4x2xf32>, tensor<2xf32>) -> tensor<1x4x2xf32>
  %a = eff.attention %q, %s, %s {num_heads = 1 : i64} : (tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  return %a : tensor<1x4x2xf32>
}

// -----

func.func @bottleneck(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %wd = arith.constant dense<1.0> : tensor<1x2xf32>
  %wu = arith.constant dense<1.0> : tensor<2x1xf32>
  // expected-remark @+1 {{eff-merge-adapters: bottleneck adapter kept: its activation between the down and up projections makes it nonlinear, so it has no equivalent weight to fold into}}
  %y = eff.bottleneck_adapter %x down(%wd) up(%wu) relu : (tensor<4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

func.func @prefix_and_prompt(%e: tensor<1x4x2xf32>, %k: tensor<1x4x2xf32>, %v: tensor<1x4x2xf32>) -> (tensor<1x5x2xf32>, tensor<1x6x2xf32>, tensor<1x6x2xf32>) {
  %p = arith.constant dense<1.0> : tensor<1x2xf32>
  %pk = arith.constant dense<2.0> : tensor<2x2xf32>
  %pv = arith.constant dense<3.0> : tensor<2x2xf32>
  %e2 = eff.prompt %e, %p : (tensor<1x4x2xf32>, tensor<1x2xf32>) -> tensor<1x5x2xf32>
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> (tensor<1x6x2xf32>, tensor<1x6x2xf32>)
  return %e2, %k2, %v2 : tensor<1x5x2xf32>, tensor<1x6x2xf32>, tensor<1x6x2xf32>
}
