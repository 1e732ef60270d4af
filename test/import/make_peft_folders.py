#!/usr/bin/env python3
# ===- make_peft_folders.py - PEFT adapter folders for the lit tests ------=== #
#
# SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
#
# ===----------------------------------------------------------------------=== #
#
# Writes small Hugging Face model folders (make_hf_folder.py) and PEFT adapter folders for them
# (adapter_config.json + adapter_model.safetensors with PEFT's tensor names) into the directory given as the
# first argument: working LoRA and (IA)^3 adapters, and broken adapters with one problem each, for
# test/import/huggingface-peft.mlir. Weights are seeded random f32.
#
# ===----------------------------------------------------------------------=== #

import os
import sys

import numpy as np

import make_hf_folder as hf


def main():
    out = sys.argv[1]
    join = lambda name: os.path.join(out, name)  # noqa: E731
    rng = np.random.default_rng(0)
    tensors = lambda shapes: {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes.items()}  # noqa: E731

    for name, (config, shapes) in {"bert": hf.bert(), "gpt2": hf.gpt2(), "llama": hf.llama()}.items():
        hf.write_folder(join(name), config, tensors(shapes))

    # Working adapters: LoRA on BERT's query and value, on GPT-2's fused c_attn; (IA)^3 on Llama.
    d = 16
    bert_modules = {f"encoder.layer.{i}.attention.self.{m}": (d, d) for i in range(2) for m in ("query", "value")}
    config, shapes = hf.lora_adapter(bert_modules, r=4, alpha=8)
    hf.write_adapter(join("bert_lora"), config, tensors(shapes))
    config, shapes = hf.lora_adapter({f"transformer.h.{i}.attn.c_attn": (3 * d, d) for i in range(2)}, r=2,
                                     alpha=4, fan_in_fan_out=True)
    hf.write_adapter(join("gpt2_lora"), config, tensors(shapes))
    llama_modules = {}
    for i in range(2):
        p = f"model.layers.{i}."
        llama_modules.update({p + "self_attn.k_proj": (8, d), p + "self_attn.v_proj": (8, d),
                              p + "mlp.down_proj": (d, 24)})
    config, shapes = hf.ia3_adapter(llama_modules, ["down_proj"])
    hf.write_adapter(join("llama_ia3"), config, tensors(shapes))
    # A regular-expression target (PEFT matches it against whole module names): layer 1's query only.
    config, shapes = hf.lora_adapter({"encoder.layer.1.attention.self.query": (d, d)}, r=2, alpha=2)
    hf.write_adapter(join("bert_regex"), dict(config, target_modules=r".*\.1\.attention\.self\.query"),
                     tensors(shapes))

    # A second LoRA for BERT (query and key, r=2), to attach with bert_lora; and one made for a wider BERT.
    config, shapes = hf.lora_adapter({f"encoder.layer.{i}.attention.self.{m}": (d, d) for i in range(2)
                                      for m in ("query", "key")}, r=2, alpha=4)
    hf.write_adapter(join("bert_lora_qk"), config, tensors(shapes))
    config, shapes = hf.lora_adapter({f"encoder.layer.{i}.attention.self.query": (2 * d, 2 * d) for i in range(2)},
                                     r=2, alpha=4)
    hf.write_adapter(join("bert_lora_wide"), config, tensors(shapes))

    # Broken adapters, one problem each.
    config, shapes = hf.lora_adapter(bert_modules, r=4, alpha=8)
    good = tensors(shapes)
    os.makedirs(join("no_adapter_config"), exist_ok=True)
    hf.write_adapter(join("prefix_tuning"), dict(config, peft_type="PREFIX_TUNING"), good)
    hf.write_adapter(join("no_target"), dict(config, target_modules=["query", "qkv"]), good)
    hf.write_adapter(join("bad_rank"), dict(config, r=0), good)
    hf.write_adapter(join("dora"), dict(config, use_dora=True), good)
    hf.write_adapter(join("bad_regex"), dict(config, target_modules="(query"), good)
    bad = dict(good)
    bad["base_model.model.encoder.layer.0.attention.self.value.lora_A.weight"] = np.zeros((4, 12), np.float32)
    hf.write_adapter(join("bad_shape"), config, bad)
    missing = dict(good)
    del missing["base_model.model.encoder.layer.1.attention.self.query.lora_B.weight"]
    hf.write_adapter(join("missing_tensor"), config, missing)
    extra = dict(good, **{"base_model.model.encoder.layer.0.attention.self.key.lora_A.weight":
                          np.zeros((4, d), np.float32)})
    hf.write_adapter(join("unused_tensor"), config, extra)
    config, shapes = hf.ia3_adapter(llama_modules, ["down_proj"])
    ia3 = tensors(shapes)
    ia3["base_model.model.model.layers.0.mlp.down_proj.ia3_l"] = np.ones((d, 1), np.float32)
    hf.write_adapter(join("ia3_bad_shape"), config, ia3)


if __name__ == "__main__":
    main()
