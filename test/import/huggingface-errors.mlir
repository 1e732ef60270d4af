// RUN: rm -rf %t && %PYTHON %S/make_hf_folder.py %t
// RUN: not effc-import %t/empty 2>&1 | FileCheck %s --check-prefix=NO-CONFIG
// RUN: not effc-import %t/absent 2>&1 | FileCheck %s --check-prefix=NOT-A-FOLDER
// RUN: not effc-import %t/bad_json 2>&1 | FileCheck %s --check-prefix=BAD-JSON
// RUN: not effc-import %t/no_weights 2>&1 | FileCheck %s --check-prefix=NO-WEIGHTS
// RUN: not effc-import %t/unknown_arch 2>&1 | FileCheck %s --check-prefix=UNKNOWN-ARCH
// RUN: not effc-import %t/no_arch 2>&1 | FileCheck %s --check-prefix=NO-ARCH
// RUN: not effc-import %t/missing_key 2>&1 | FileCheck %s --check-prefix=MISSING-KEY
// RUN: not effc-import %t/bad_heads 2>&1 | FileCheck %s --check-prefix=BAD-HEADS
// RUN: not effc-import %t/bad_act 2>&1 | FileCheck %s --check-prefix=BAD-ACT
// RUN: not effc-import %t/rope_scaling 2>&1 | FileCheck %s --check-prefix=ROPE-SCALING
// RUN: not effc-import %t/bad_shape 2>&1 | FileCheck %s --check-prefix=BAD-SHAPE
// RUN: not effc-import %t/missing_tensor 2>&1 | FileCheck %s --check-prefix=MISSING-TENSOR
// RUN: not effc-import %t/f16 2>&1 | FileCheck %s --check-prefix=F16
// RUN: not effc-import %t/truncated 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// RUN: not effc-import %t/corrupt 2>&1 | FileCheck %s --check-prefix=CORRUPT
// RUN: not effc-import %t/duplicate 2>&1 | FileCheck %s --check-prefix=DUPLICATE
// RUN: not effc %t/unknown_arch -o %t/model.so 2>&1 | FileCheck %s --check-prefix=UNKNOWN-ARCH
// RUN: not effc-import %t/header_too_long 2>&1 | FileCheck %s --check-prefix=HEADER-TOO-LONG
// RUN: not effc-import %t/byte_mismatch 2>&1 | FileCheck %s --check-prefix=BYTE-MISMATCH
// RUN: not effc-import %t/t5_missing_bias 2>&1 | FileCheck %s --check-prefix=T5-MISSING-BIAS
// RUN: not effc-import %t/t5_bad_proj 2>&1 | FileCheck %s --check-prefix=T5-BAD-PROJ
// RUN: not effc-import %t/t5_bad_kv 2>&1 | FileCheck %s --check-prefix=T5-BAD-KV
// RUN: not effc-import %t/switch_router_bias 2>&1 | FileCheck %s --check-prefix=SWITCH-ROUTER-BIAS
// RUN: not effc-import %t/switch_missing_expert 2>&1 | FileCheck %s --check-prefix=SWITCH-MISSING-EXPERT

// Every diagnostic of the Hugging Face importer (lib/Import/HuggingFace.cpp), one broken folder each
// (make_hf_folder.py), through effc-import and, for one case, through effc (which imports a directory).
// Errors are reported at config.json and never crash.

// NO-CONFIG: empty/config.json:0:0: error: cannot read {{.*}}empty/config.json: No such file or directory (a Hugging Face model folder needs config.json)
// NOT-A-FOLDER: error: {{.*}}absent is not a model folder (a directory with config.json and *.safetensors)
// BAD-JSON: error: config.json is not valid JSON: [1:33, byte=33]: Expected object key
// NO-WEIGHTS: error: no *.safetensors weights in {{.*}}no_weights
// UNKNOWN-ARCH: error: unsupported architecture FalconForCausalLM; supported: BertModel, BertForSequenceClassification, GPT2LMHeadModel, LlamaForCausalLM, MixtralForCausalLM, T5Model, T5ForConditionalGeneration, T5EncoderModel, SwitchTransformersForConditionalGeneration
// NO-ARCH: error: config.json names no architecture ("architectures" or "model_type"); supported: BertModel, BertForSequenceClassification, GPT2LMHeadModel, LlamaForCausalLM, MixtralForCausalLM, T5Model, T5ForConditionalGeneration, T5EncoderModel, SwitchTransformersForConditionalGeneration
// MISSING-KEY: error: config.json lacks the integer "hidden_size"
// BAD-HEADS: error: config.json's "hidden_size" (16) is not a multiple of "num_attention_heads" (3)
// BAD-ACT: error: config.json's "hidden_act" is "mish"; supported: gelu, gelu_new, gelu_pytorch_tanh, relu, silu, tanh
// ROPE-SCALING: error: config.json sets "rope_scaling": rope scaling is not supported
// BAD-SHAPE: error: tensor 'encoder.layer.0.intermediate.dense.weight' has shape [32, 16] in model.safetensors, but config.json implies [48, 16]
// MISSING-TENSOR: error: tensor 'encoder.layer.1.output.dense.bias' is missing from the weights (model.safetensors)
// F16: error: tensor 'embeddings.word_embeddings.weight' is F16 in model.safetensors; the importer reads F32 checkpoints only
// TRUNCATED: error: {{.*}}truncated/model.safetensors: truncated safetensors file: tensor 'encoder.layer.1.output.dense.weight' ends at byte 23232 of a 23196-byte data section
// CORRUPT: error: {{.*}}corrupt/model.safetensors: malformed safetensors header: [1:1, byte=1]: Invalid JSON value
// DUPLICATE: error: tensor 'model.embed_tokens.weight' is in two weights files, model-00001-of-00002.safetensors and model-00002-of-00002.safetensors

// Safetensors whose header length runs past the file, or whose tensor's bytes disagree with its dtype and shape.
// HEADER-TOO-LONG: error: {{.*}}header_too_long/model.safetensors: truncated safetensors file: header of 1099511627776 bytes, file has {{[0-9]+}}
// BYTE-MISMATCH: error: {{.*}}byte_mismatch/model.safetensors: tensor 'embeddings.word_embeddings.weight' occupies 3200 bytes, its shape needs 1600
// T5 and Switch Transformers folders with a missing tensor, an unknown activation, a d_kv the weights contradict,
// an unsupported router bias and a missing expert.
// T5-MISSING-BIAS: error: tensor 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight' is missing from the weights (model.safetensors)
// T5-BAD-PROJ: error: config.json's "feed_forward_proj" is "gated-mish" (activation "mish"); supported: gelu, gelu_new, gelu_pytorch_tanh, relu, silu, tanh
// T5-BAD-KV: error: tensor 'encoder.block.0.layer.0.SelfAttention.q.weight' has shape [8, 16] in model.safetensors, but config.json implies [12, 16]
// SWITCH-ROUTER-BIAS: error: config.json sets "router_bias": a router with a bias is not supported
// SWITCH-MISSING-EXPERT: error: tensor 'encoder.block.1.layer.1.mlp.experts.expert_3.wo.weight' is missing from the weights (model.safetensors)
