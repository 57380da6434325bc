#!/usr/bin/env python3
"""Golden data for LoRA on Hugging Face models: a PEFT adapter of the tiny
Llama-3 of tests/data/hf/llama3 (r 4, alpha 8, on q_proj v_proj o_proj
gate_proj down_proj; A and B drawn at random so that the adapter changes the
outputs), saved by PEFT itself under tests/data/hf/llama3_lora/
(adapter_model.safetensors + adapter_config.json), and the logits PEFT
computes with it for the input_ids of tests/data/hf/golden.json, into
tests/data/hf/lora_golden.json.

Run after gen_hf_golden.py:  python3 tests/tools/gen_lora_golden.py
(needs torch, transformers, peft)
"""
import json
import os

import peft
import torch
import transformers as tf

HF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "hf")


def main():
    gen = torch.Generator().manual_seed(99)
    with open(os.path.join(HF, "golden.json")) as f:
        ids = torch.tensor(json.load(f)["input_ids"])
    base = tf.AutoModelForCausalLM.from_pretrained(os.path.join(HF, "llama3"), attn_implementation="eager").eval()
    cfg = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM",
                          target_modules=["q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"])
    model = peft.get_peft_model(base, cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
        logits = model(ids).logits
    out = os.path.join(HF, "llama3_lora")
    model.save_pretrained(out)
    # the folder is read by path in tests: no absolute path of this machine in it
    cpath = os.path.join(out, "adapter_config.json")
    with open(cpath) as f:
        c = json.load(f)
    c["base_model_name_or_path"] = "llama3"
    with open(cpath, "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
    for extra in ("README.md",):
        if os.path.exists(os.path.join(out, extra)):
            os.remove(os.path.join(out, extra))
    golden = {
        "adapter": "llama3_lora",
        "r": 4, "lora_alpha": 8,
        "logits": [round(x, 6) for x in logits.flatten().tolist()],
        "logits_shape": list(logits.shape),
        "made_by": "peft %s, transformers %s, torch %s (tests/tools/gen_lora_golden.py)"
                   % (peft.__version__, tf.__version__, torch.__version__),
    }
    with open(os.path.join(HF, "lora_golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print("lora logits", list(logits.shape), "first", golden["logits"][:3])


if __name__ == "__main__":
    main()
