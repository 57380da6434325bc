#!/usr/bin/env python3
"""Golden data for Hugging Face models loaded in reduced precision: the
folders of tests/data/hf/ (made by gen_hf_golden.py) loaded by transformers
with dtype bfloat16 and float16 (eager attention), and their logits for the
same two sequences, in tests/data/hf/golden_lowp.json. The test compares our
model loaded with the same dtype: in bfloat16 one rounding step is 2^-8 of
the value, so agreement is bounded by the casts each side makes, not 1e-5.

Run: python3 tests/tools/gen_hf_lowp_golden.py   (needs torch, transformers)
"""
import json
import os
import sys

import torch
import transformers as tf

from gen_hf_golden import ROOT, save
NAMES = ["llama3", "qwen2", "qwen3", "mistral", "gemma", "gemma2", "gemma3"]
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def main():
    with open(os.path.join(ROOT, "golden.json")) as f:
        ids = torch.tensor(json.load(f)["input_ids"])
    out = {"input_ids": ids.tolist(), "models": {}}
    for name in NAMES:
        out["models"][name] = {}
        for dname, dt in DTYPES.items():
            model = tf.AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, name), dtype=dt,
                                                            attn_implementation="eager").eval()
            with torch.no_grad():
                logits = model(ids).logits
            ref = tf.AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, name), dtype=torch.float32,
                                                          attn_implementation="eager").eval()
            with torch.no_grad():
                full = ref(ids).logits
            out["models"][name][dname] = [round(x, 5) for x in logits.float().flatten().tolist()]
            print(name, dname, "max |lowp - float32| = %.4f" % (logits.float() - full).abs().max().item(),
                  "max |logit| %.2f" % full.abs().max().item())
    save("golden_lowp.json", out, "gen_hf_lowp_golden.py")


if __name__ == "__main__":
    sys.exit(main())
