#!/usr/bin/env python3
"""Golden data for the Hugging Face model family: tiny random models saved as
HF folders (config.json + model.safetensors) under tests/data/hf/<name>/, and
what Hugging Face transformers computes with them in tests/data/hf/golden.json:
the logits of every position for a batch of two sequences, and 12 greedy
tokens (argmax, recomputing the whole sequence each step, no stop on EOS),
plainly and through transformers' RepetitionPenaltyLogitsProcessor(1.5), and
the tokens of generate()'s beam search (3 beams, 10 new tokens, eos 2).

One model per architecture feature the loader must get right:
  llama3   GQA, rope_scaling "llama3", untied head, config in the format of
           transformers >= 5 (rope_parameters)
  qwen2    q/k/v biases, tied embeddings, classic config (rope_theta,
           rope_scaling null)
  qwen3    q/k RMS norms, head_dim given (not hidden/heads)
  mistral  sliding window 4 (shorter than the sequences)
  gemma    RMSNorm by 1 + w, embeddings times sqrt(hidden), GELU (tanh), tied
  gemma2   gemma + norms around attention and MLP, query_pre_attn_scalar,
           soft-capped scores and logits, sliding window on layer 0 only
  gemma3   gemma2 without soft-capping, with q/k norms, 3 layers of which
           the third is global (linear-scaled rope), the others sliding with
           their own rope base; the Hub's config format
Weights are drawn wider than HF's initialisation (std 0.2, norms around 1) so
that the logits are far apart and greedy choices are not near-ties.

Run: python3 tests/tools/gen_hf_golden.py   (needs torch, transformers)
"""
import json
import os
import sys

import torch
import transformers as tf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "hf")
COMMON = dict(hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, vocab_size=80, max_position_embeddings=128, rms_norm_eps=1e-6,
              bos_token_id=1, eos_token_id=2)
ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16}


def models():
    yield "llama3", tf.LlamaConfig(**COMMON, tie_word_embeddings=False,
                                   rope_parameters=dict(ROPE, rope_theta=500000.0)), None
    yield "qwen2", tf.Qwen2Config(**COMMON, tie_word_embeddings=True,
                                  rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}), "classic"
    yield "qwen3", tf.Qwen3Config(**COMMON, head_dim=8, tie_word_embeddings=False,
                                  rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), "classic"
    yield "mistral", tf.MistralConfig(**COMMON, sliding_window=4, tie_word_embeddings=False,
                                      rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), None
    yield "gemma", tf.GemmaConfig(**COMMON, head_dim=8, hidden_act="gelu_pytorch_tanh", tie_word_embeddings=True,
                                  rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), None
    # layer 0 slides (window 4), layer 1 sees everything; small caps so that
    # tanh bends the scores and logits
    yield "gemma2", tf.Gemma2Config(**COMMON, head_dim=8, query_pre_attn_scalar=12, sliding_window=4,
                                    attn_logit_softcapping=2.0, final_logit_softcapping=3.0, tie_word_embeddings=True,
                                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), "classic"
    # layers 0, 1 slide with their own rope base, layer 2 is global with
    # linear-scaled rope; q/k norms; the config as Gemma 3 1B's on the Hub
    # (rope_theta, rope_local_base_freq, sliding_window_pattern)
    yield "gemma3", tf.Gemma3TextConfig(**dict(COMMON, num_hidden_layers=3), head_dim=8, query_pre_attn_scalar=8,
                                        sliding_window=3, sliding_window_pattern=3, tie_word_embeddings=True,
                                        rope_parameters={
                                            "full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 1e6},
                                            "sliding_attention": {"rope_type": "default", "rope_theta": 100.0}}), "gemma3_hub"


def classic(cfg):
    """The config.json of transformers < 5: rope_theta at the top, rope_scaling."""
    rp = cfg.pop("rope_parameters", None) or {}
    cfg["rope_theta"] = rp.get("rope_theta", 10000.0)
    scaling = {k: v for k, v in rp.items() if k != "rope_theta"}
    cfg["rope_scaling"] = None if scaling.get("rope_type", "default") == "default" else scaling
    return cfg


def gemma3_hub(cfg):
    """Gemma 3's config.json as the Hub has it: rope_theta, rope_scaling and
    rope_local_base_freq at the top, sliding_window_pattern, no layer_types."""
    rp = cfg.pop("rope_parameters")
    full, local = dict(rp["full_attention"]), rp["sliding_attention"]
    cfg["rope_theta"] = full.pop("rope_theta")
    cfg["rope_scaling"] = None if full.get("rope_type", "default") == "default" else full
    cfg["rope_local_base_freq"] = local["rope_theta"]
    cfg["sliding_window_pattern"] = 3
    del cfg["layer_types"]
    return cfg


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    ids = torch.tensor([[1, 17, 42, 5, 63, 9, 30], [1, 3, 77, 21, 21, 50, 8]])
    prompt = [1, 11, 29, 4]
    golden = {"input_ids": ids.tolist(), "prompt": prompt, "models": {}}
    for name, config, fmt in models():
        model = tf.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
        randomize(model, gen)
        d = os.path.join(ROOT, name)
        model.save_pretrained(d, safe_serialization=True)
        for extra in ("generation_config.json",):
            if os.path.exists(os.path.join(d, extra)):
                os.remove(os.path.join(d, extra))
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        if fmt == "classic":
            cfg = classic(cfg)
        elif fmt == "gemma3_hub":
            cfg = gemma3_hub(cfg)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        with torch.no_grad():
            logits = model(ids).logits
            seq = torch.tensor([prompt])
            for _ in range(12):
                nxt = model(seq).logits[:, -1].argmax(-1, keepdim=True)
                seq = torch.cat([seq, nxt], 1)
            # greedy through transformers' own repetition-penalty processor
            penalty = tf.RepetitionPenaltyLogitsProcessor(1.5)
            rep = torch.tensor([prompt])
            for _ in range(12):
                scores = penalty(rep, model(rep).logits[:, -1])
                rep = torch.cat([rep, scores.argmax(-1, keepdim=True)], 1)
            # beam search through transformers' generate (eos 2, length penalty 1)
            beam = model.generate(torch.tensor([prompt]), num_beams=3, do_sample=False, max_new_tokens=10,
                                  eos_token_id=2, pad_token_id=0, length_penalty=1.0)
        golden["models"][name] = {
            "logits": [round(x, 6) for x in logits.flatten().tolist()],
            "logits_shape": list(logits.shape),
            "greedy_12": seq[0, len(prompt):].tolist(),
            "greedy_12_repetition_penalty_1.5": rep[0, len(prompt):].tolist(),
            "beam_3_max_10_eos_2": beam[0, len(prompt):].tolist(),
        }
        print(name, "logits", list(logits.shape), "greedy", golden["models"][name]["greedy_12"])
    save("golden.json", golden, "gen_hf_golden.py")


def save(name, data, script):
    """data, signed with the versions that made it, as tests/data/hf/<name>"""
    data["made_by"] = "transformers %s, torch %s (tests/tools/%s)" % (tf.__version__, torch.__version__, script)
    with open(os.path.join(ROOT, name), "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
