#!/usr/bin/env python3
# ===- make_hf_folder.py - Hugging Face model folders for the lit tests --=== #
#
# SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
#
# ===----------------------------------------------------------------------=== #
#
# Writes small Hugging Face-style model folders (config.json + safetensors, with the checkpoint tensor names
# of each architecture) into the directory given as the first argument, one sub-folder per case; the
# importer's lit tests (test/import/*.mlir) read them. Weights are seeded random f32. Also used by
# test/e2e/test_huggingface_import.py for its safetensors writer.
#
# ===----------------------------------------------------------------------=== #

import json
import os
import struct
import sys

import numpy as np


def write_safetensors(path, tensors):
    """Writes {name: ndarray} as safetensors (8-byte header length, JSON header, raw little-endian bytes)."""
    dtypes = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtypes[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def write_folder(path, config, tensors, shards=1):
    """A model folder: config.json and the tensors in `shards` files (with an index when sharded)."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if shards == 1:
        write_safetensors(os.path.join(path, "model.safetensors"), tensors)
        return
    names = list(tensors)
    weight_map = {}
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s::shards]}
        weight_map.update({n: file for n in part})
        write_safetensors(os.path.join(path, file), part)
    with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)


def write_adapter(path, config, tensors):
    """A PEFT adapter folder: adapter_config.json and adapter_model.safetensors."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(path, "adapter_model.safetensors"), tensors)


def lora_adapter(modules, r=4, alpha=8, fan_in_fan_out=False):
    """adapter_config.json and {tensor: shape} of a LoRA adapter on `modules` ({module name: (out, in)})."""
    config = {"peft_type": "LORA", "r": r, "lora_alpha": alpha, "lora_dropout": 0.0, "bias": "none",
              "fan_in_fan_out": fan_in_fan_out, "target_modules": sorted({m.split(".")[-1] for m in modules}),
              "task_type": None}
    tensors = {}
    for module, (out, inp) in modules.items():
        tensors[f"base_model.model.{module}.lora_A.weight"] = (r, inp)
        tensors[f"base_model.model.{module}.lora_B.weight"] = (out, r)
    return config, tensors


def ia3_adapter(modules, feedforward):
    """(IA)^3 adapter on `modules` ({module name: (out, in)}); those ending in a `feedforward` name scale inputs."""
    targets = sorted({m.split(".")[-1] for m in modules})
    config = {"peft_type": "IA3", "target_modules": targets, "feedforward_modules": feedforward,
              "fan_in_fan_out": False, "task_type": "CAUSAL_LM"}
    tensors = {}
    for module, (out, inp) in modules.items():
        ff = module.split(".")[-1] in feedforward
        tensors[f"base_model.model.{module}.ia3_l"] = (1, inp) if ff else (out, 1)
    return config, tensors


# Configs and tensor shapes of each architecture, following the Hugging Face checkpoints.

def bert(layers=2, d=16, heads=2, ffn=32, vocab=50, positions=32, types=2):
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab, "hidden_size": d,
              "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": ffn,
              "max_position_embeddings": positions, "type_vocab_size": types, "layer_norm_eps": 1e-12,
              "hidden_act": "gelu", "position_embedding_type": "absolute"}
    shapes = {"embeddings.word_embeddings.weight": (vocab, d), "embeddings.position_embeddings.weight": (positions, d),
              "embeddings.token_type_embeddings.weight": (types, d), "embeddings.LayerNorm.weight": (d,),
              "embeddings.LayerNorm.bias": (d,)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes.update({p + name + ".weight": (d, d), p + name + ".bias": (d,)})
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes.update({p + name + ".weight": (d,), p + name + ".bias": (d,)})
        shapes.update({p + "intermediate.dense.weight": (ffn, d), p + "intermediate.dense.bias": (ffn,),
                       p + "output.dense.weight": (d, ffn), p + "output.dense.bias": (d,)})
    return config, shapes


def gpt2(layers=2, d=16, heads=2, vocab=50, positions=32):
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": vocab, "n_embd": d,
              "n_layer": layers, "n_head": heads, "n_positions": positions, "n_inner": None,
              "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "scale_attn_weights": True,
              "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False}
    shapes = {"transformer.wte.weight": (vocab, d), "transformer.wpe.weight": (positions, d),
              "transformer.ln_f.weight": (d,), "transformer.ln_f.bias": (d,)}
    for i in range(layers):
        p = f"transformer.h.{i}."
        shapes.update({p + "ln_1.weight": (d,), p + "ln_1.bias": (d,), p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
                       p + "attn.c_attn.weight": (d, 3 * d), p + "attn.c_attn.bias": (3 * d,),
                       p + "attn.c_proj.weight": (d, d), p + "attn.c_proj.bias": (d,),
                       p + "mlp.c_fc.weight": (d, 4 * d), p + "mlp.c_fc.bias": (4 * d,),
                       p + "mlp.c_proj.weight": (4 * d, d), p + "mlp.c_proj.bias": (d,)})
    return config, shapes


def llama(layers=2, d=16, heads=4, kv_heads=2, ffn=24, vocab=50, experts=0, top_k=2):
    hd = d // heads
    config = {"architectures": ["MixtralForCausalLM" if experts else "LlamaForCausalLM"],
              "model_type": "mixtral" if experts else "llama", "vocab_size": vocab, "hidden_size": d,
              "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
              "intermediate_size": ffn, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
              "tie_word_embeddings": False, "rope_scaling": None, "attention_bias": False}
    if experts:
        config.update({"num_local_experts": experts, "num_experts_per_tok": top_k})
    shapes = {"model.embed_tokens.weight": (vocab, d), "model.norm.weight": (d,), "lm_head.weight": (vocab, d)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (d,), p + "post_attention_layernorm.weight": (d,),
                       p + "self_attn.q_proj.weight": (heads * hd, d), p + "self_attn.k_proj.weight": (kv_heads * hd, d),
                       p + "self_attn.v_proj.weight": (kv_heads * hd, d), p + "self_attn.o_proj.weight": (d, heads * hd)})
        if experts:
            m = p + "block_sparse_moe."
            shapes[m + "gate.weight"] = (experts, d)
            for e in range(experts):
                shapes.update({f"{m}experts.{e}.w1.weight": (ffn, d), f"{m}experts.{e}.w3.weight": (ffn, d),
                               f"{m}experts.{e}.w2.weight": (d, ffn)})
        else:
            shapes.update({p + "mlp.gate_proj.weight": (ffn, d), p + "mlp.up_proj.weight": (ffn, d),
                           p + "mlp.down_proj.weight": (d, ffn)})
    return config, shapes


def bert_classifier(num_labels=3, **kwargs):
    """BertForSequenceClassification: the encoder under "bert.", its pooler and the classifier."""
    config, shapes = bert(**kwargs)
    d = config["hidden_size"]
    config = dict(config, architectures=["BertForSequenceClassification"],
                  id2label={str(i): f"LABEL_{i}" for i in range(num_labels)},
                  label2id={f"LABEL_{i}": i for i in range(num_labels)})
    shapes = {"bert." + n: s for n, s in shapes.items()}
    shapes.update({"bert.pooler.dense.weight": (d, d), "bert.pooler.dense.bias": (d,),
                   "classifier.weight": (num_labels, d), "classifier.bias": (num_labels,)})
    return config, shapes


def t5(layers=2, decoder_layers=2, d=16, d_kv=4, heads=2, ffn=24, vocab=50, buckets=8, max_distance=20,
       gated=False, tied=True, architecture="T5ForConditionalGeneration", experts=0, sparse_step=2,
       expert_capacity=64):
    """T5 (relu or gated-gelu FFN) or, with experts, SwitchTransformers (top-1 experts every sparse_step)."""
    switch = experts > 0
    config = {"architectures": [architecture], "model_type": "switch_transformers" if switch else "t5",
              "vocab_size": vocab, "d_model": d, "d_kv": d_kv, "d_ff": ffn, "num_layers": layers,
              "num_decoder_layers": decoder_layers, "num_heads": heads, "relative_attention_num_buckets": buckets,
              "relative_attention_max_distance": max_distance, "layer_norm_epsilon": 1e-6,
              "feed_forward_proj": "gated-gelu" if gated else "relu", "tie_word_embeddings": tied,
              "is_encoder_decoder": True}
    if switch:
        config.update({"num_experts": experts, "expert_capacity": expert_capacity, "encoder_sparse_step": sparse_step,
                       "decoder_sparse_step": sparse_step, "router_bias": False, "router_jitter_noise": 0.01,
                       "dense_act_fn": "relu", "router_dtype": "float32"})
    inner = heads * d_kv
    shapes = {"shared.weight": (vocab, d), "encoder.final_layer_norm.weight": (d,),
              "decoder.final_layer_norm.weight": (d,)}
    if not tied:
        shapes["lm_head.weight"] = (vocab, d)

    def attention(p):
        shapes.update({p + n + ".weight": (inner, d) for n in "qkv"})
        shapes[p + "o.weight"] = (d, inner)

    def ffn_block(p, i):
        if switch and (i % sparse_step == 1 or sparse_step == 1):
            shapes[p + "mlp.router.classifier.weight"] = (experts, d)
            for e in range(experts):
                shapes.update({f"{p}mlp.experts.expert_{e}.wi.weight": (ffn, d),
                               f"{p}mlp.experts.expert_{e}.wo.weight": (d, ffn)})
        elif switch:
            shapes.update({p + "mlp.wi.weight": (ffn, d), p + "mlp.wo.weight": (d, ffn)})
        elif gated:
            shapes.update({p + "DenseReluDense.wi_0.weight": (ffn, d), p + "DenseReluDense.wi_1.weight": (ffn, d),
                           p + "DenseReluDense.wo.weight": (d, ffn)})
        else:
            shapes.update({p + "DenseReluDense.wi.weight": (ffn, d), p + "DenseReluDense.wo.weight": (d, ffn)})
        shapes[p + "layer_norm.weight"] = (d,)

    for stack, count in (("encoder", layers), ("decoder", decoder_layers)):
        shapes[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = (buckets, heads)
        for i in range(count):
            p = f"{stack}.block.{i}.layer."
            attention(p + "0.SelfAttention.")
            shapes[p + "0.layer_norm.weight"] = (d,)
            if stack == "decoder":
                attention(p + "1.EncDecAttention.")
                shapes[p + "1.layer_norm.weight"] = (d,)
            ffn_block(p + ("2." if stack == "decoder" else "1."), i)
    return config, shapes


def random_tensors(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return {n: (rng.standard_normal(s) * 0.1).astype(np.float32) for n, s in shapes.items()}


def main():
    out = sys.argv[1]
    join = lambda name: os.path.join(out, name)
    for name, (config, shapes) in {"bert": bert(), "gpt2": gpt2(), "llama": llama(),
                                   "mixtral": llama(experts=4, top_k=2)}.items():
        write_folder(join(name), config, random_tensors(shapes))
    config, shapes = llama()
    write_folder(join("llama_sharded"), config, random_tensors(shapes), shards=3)
    for name, (config, shapes) in {"t5": t5(), "t5_gated": t5(gated=True, tied=False, decoder_layers=1),
                                   "t5_encoder": t5(architecture="T5EncoderModel"),
                                   "switch": t5(layers=3, experts=4, sparse_step=2,
                                                architecture="SwitchTransformersForConditionalGeneration"),
                                   "bert_classifier": bert_classifier()}.items():
        write_folder(join(name), config, random_tensors(shapes))

    # Broken folders, one problem each.
    os.makedirs(join("empty"), exist_ok=True)
    config, shapes = bert()
    write_folder(join("no_weights"), config, {})
    os.remove(join("no_weights/model.safetensors"))
    write_folder(join("unknown_arch"), dict(config, architectures=["FalconForCausalLM"]), random_tensors(shapes))
    write_folder(join("no_arch"), {k: v for k, v in config.items() if k not in ("architectures", "model_type")},
                 random_tensors(shapes))
    write_folder(join("bad_shape"), dict(config, intermediate_size=48), random_tensors(shapes))
    missing = random_tensors(shapes)
    del missing["encoder.layer.1.output.dense.bias"]
    write_folder(join("missing_tensor"), config, missing)
    write_folder(join("missing_key"), {k: v for k, v in config.items() if k != "hidden_size"}, random_tensors(shapes))
    write_folder(join("bad_heads"), dict(config, num_attention_heads=3), random_tensors(shapes))
    write_folder(join("bad_act"), dict(config, hidden_act="mish"), random_tensors(shapes))
    write_folder(join("truncated"), config, random_tensors(shapes))
    with open(join("truncated/model.safetensors"), "r+b") as f:
        f.truncate(os.path.getsize(join("truncated/model.safetensors")) - 100)
    write_folder(join("corrupt"), config, random_tensors(shapes))
    with open(join("corrupt/model.safetensors"), "r+b") as f:
        f.seek(8)
        f.write(b"#not json")
    write_folder(join("bad_json"), config, random_tensors(shapes))
    with open(join("bad_json/config.json"), "w") as f:
        f.write('{"architectures": ["BertModel"], ')
    f16 = {n: a.astype(np.float16) for n, a in random_tensors(shapes).items()}
    write_folder(join("f16"), config, f16)
    write_folder(join("header_too_long"), config, random_tensors(shapes))
    with open(join("header_too_long/model.safetensors"), "r+b") as f:
        f.write(struct.pack("<Q", 1 << 40))
    write_folder(join("byte_mismatch"), config, random_tensors(shapes))
    with open(join("byte_mismatch/model.safetensors"), "r+b") as f:  # a [50, 16] F32 tensor declared F16
        text = f.read(struct.unpack("<Q", f.read(8))[0])
        f.seek(8)
        f.write(text.replace(b'"F32","shape":[50,16]', b'"F16","shape":[50,16]', 1))
    tconfig, tshapes = t5()
    missing = random_tensors(tshapes)
    del missing["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
    write_folder(join("t5_missing_bias"), tconfig, missing)
    write_folder(join("t5_bad_proj"), dict(tconfig, feed_forward_proj="gated-mish"), random_tensors(tshapes))
    write_folder(join("t5_bad_kv"), dict(tconfig, d_kv=6), random_tensors(tshapes))
    sconfig, sshapes = t5(layers=3, experts=4, architecture="SwitchTransformersForConditionalGeneration")
    write_folder(join("switch_router_bias"), dict(sconfig, router_bias=True), random_tensors(sshapes))
    write_folder(join("switch_missing_expert"), sconfig,
                 {n: a for n, a in random_tensors(sshapes).items() if "expert_3.wo" not in n})
    lconfig, lshapes = llama()
    write_folder(join("rope_scaling"), dict(lconfig, rope_scaling={"type": "linear", "factor": 2.0}),
                 random_tensors(lshapes))
    write_folder(join("duplicate"), lconfig, random_tensors(lshapes), shards=2)
    with open(join("duplicate/model.safetensors.index.json")) as f:
        index = json.load(f)
    files = sorted(set(index["weight_map"].values()))
    write_safetensors(join("duplicate/") + files[1], dict(random_tensors({"model.norm.weight": (16,)}),
                                                          **random_tensors({"model.embed_tokens.weight": (50, 16)})))


if __name__ == "__main__":
    main()
