#!/usr/bin/env python3
"""Checks that PEFT reads an adapter folder written by torch_hf_lora_save and
computes the same logits as lispe_torch did.

  python3 tests/tools/lora_peft_check.py BASE_MODEL_DIR ADAPTER_DIR LOGITS.safetensors

LOGITS.safetensors holds "ids" (int64 [batch, seq]) and "logits" (float32,
[batch, seq, vocab]) as lispe_torch computed them with the adapter (see the
LispE snippet in the README's LoRA section). Prints the largest difference;
exits 1 when it exceeds 1e-4. Needs torch, transformers, peft, safetensors.
"""
import sys

import peft
import torch
import transformers as tf
from safetensors.torch import load_file


def main(base_dir, adapter_dir, logits_file):
    ref = load_file(logits_file)
    base = tf.AutoModelForCausalLM.from_pretrained(base_dir, attn_implementation="eager")
    model = peft.PeftModel.from_pretrained(base, adapter_dir).eval()
    with torch.no_grad():
        logits = model(ref["ids"]).logits
    d = (logits - ref["logits"]).abs().max().item()
    print("PEFT read %s: %d adapted modules, largest logit difference %.3g" %
          (adapter_dir, sum(1 for n, _ in model.named_modules() if n.endswith("lora_A")), d))
    return 0 if d <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
