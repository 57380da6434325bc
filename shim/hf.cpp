// hf.cpp - section 10: Hugging Face causal language models of the Llama
// family (Llama 2/3/3.x, Mistral, Qwen2/2.5, Qwen3, SmolLM, TinyLlama), their
// KV cache and token generation.
//
// The numerics follow transformers' modeling_llama/qwen2/qwen3/mistral: RMSNorm
// computed in float32 and cast back before the weight multiplies; rotary
// frequencies in float32 (with the "linear" or "llama3" rescaling), applied
// with rotate_half to q and k after the optional q/k norms; grouped-query
// attention by repeating key/value heads; causal (optionally sliding-window)
// attention; SiLU-gated MLP; tied or separate output head. Biases are used
// wherever the checkpoint has them (Qwen2's q/k/v, attention_bias, mlp_bias).
#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <unordered_map>
#include "nn_internal.h"

namespace lts {
namespace {

std::atomic<int64_t> live_models{0}, live_caches{0};

// The seven projections LoRA may target, in PEFT's names.
enum Proj { P_Q, P_K, P_V, P_O, P_GATE, P_UP, P_DOWN, P_COUNT };
const char *const kProjName[P_COUNT] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
const char *const kProjPart[P_COUNT] = {"self_attn", "self_attn", "self_attn", "self_attn", "mlp", "mlp", "mlp"};

// A low-rank adapter of one projection: W x + scaling · B (A x), A [r, in], B [out, r]
struct Lora {
  at::Tensor A, B;
};

struct Layer {
  // post_norm: before the MLP (Llama), or after attention (Gemma 2, whose
  // MLP sits between pre_ff and post_ff)
  at::Tensor in_norm, post_norm, pre_ff, post_ff, q, k, v, o, qb, kb, vb, ob, q_norm, k_norm, gate, up, down, gate_b, up_b,
      down_b;
  Lora lora[P_COUNT];
  at::Tensor &weight(int p) {
    at::Tensor *w[P_COUNT] = {&q, &k, &v, &o, &gate, &up, &down};
    return *w[p];
  }
};

// Llama casts back before the weight multiplies; Gemma scales by 1 + w in
// float32 and casts after
at::Tensor rms_norm(const at::Tensor &x, const at::Tensor &w, double eps, bool plus_one) {
  at::ScalarType acc = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor xf = x.to(acc);
  xf = xf * at::rsqrt(xf.pow(2).mean(-1, true) + eps);
  if (plus_one) return (xf * (1.0 + w.to(acc))).to(x.scalar_type());
  return w * xf.to(x.scalar_type());
}

at::Tensor softcap(const at::Tensor &x, double cap) { return cap > 0 ? at::tanh(x / cap) * cap : x; }

at::Tensor rotate_half(const at::Tensor &x) {
  int64_t h = x.size(-1) / 2;
  return at::cat({x.slice(-1, h).neg(), x.slice(-1, 0, h)}, -1);
}

std::string shape_str(const at::Tensor &t) { return c10::str(t.sizes()); }

// libtorch 1.x has no float16 CPU kernels for matmul, softmax, silu, cos...:
// there a float16 model on the CPU computes in float32 (weights stay float16
// in memory and are widened per use)
at::Tensor as_compute(const at::Tensor &t) {
#if TORCH_VERSION_MAJOR < 2
  if (t.defined() && t.scalar_type() == at::kHalf && t.device().is_cpu()) return t.to(at::kFloat);
#endif
  return t;
}

}  // namespace

struct HfModel {
  lts_hf_config cfg;
  std::vector<std::string> names;           // file order
  std::unordered_map<std::string, at::Tensor> weights;
  // inv_freq_local: the sliding layers' own rotary frequencies (Gemma 3)
  at::Tensor embed, final_norm, head, inv_freq, inv_freq_local;
  std::vector<Layer> layers;
  // attention probabilities of the last forward, per layer, when recording
  bool record = false;
  std::vector<at::Tensor> scores;
  // LoRA: in use when enabled and not merged into the weights
  bool lora_enabled = true, lora_merged = false;
  int64_t lora_rank = 0;
  double lora_alpha = 0, lora_scaling = 0;
  bool lora_rslora = false;
  // PEFT's lora_dropout: on the adapter's input, in training mode only
  double lora_dropout = 0;
  bool training = false;

  at::Tensor proj(const at::Tensor &x, Layer &L, int p, const at::Tensor &bias) {
    at::Tensor y = at::linear(x, as_compute(L.weight(p)), as_compute(bias));
    const Lora &a = L.lora[p];
    if (a.A.defined() && lora_enabled && !lora_merged) {
      at::Tensor xa = as_compute(x.to(a.A.scalar_type()));
      if (training && lora_dropout > 0) xa = at::dropout(xa, lora_dropout, true);
      at::Tensor d = at::linear(at::linear(xa, as_compute(a.A)), as_compute(a.B)) * lora_scaling;
      y = y + d.to(y.scalar_type());
    }
    return y;
  }

  at::Tensor need(const std::string &name, std::vector<int64_t> shape) {
    auto it = weights.find(name);
    if (it == weights.end()) throw std::invalid_argument("the checkpoint has no weight " + name);
    if (it->second.sizes() != at::IntArrayRef(shape))
      throw std::invalid_argument("weight " + name + " has shape " + shape_str(it->second) + ", the config asks for " +
                                  c10::str(at::IntArrayRef(shape)));
    return it->second;
  }
  at::Tensor maybe(const std::string &name, std::vector<int64_t> shape) {
    return weights.count(name) ? need(name, std::move(shape)) : at::Tensor();
  }

  void bind() {
    const lts_hf_config &c = cfg;
    int64_t qd = c.heads * c.head_dim, kvd = c.kv_heads * c.head_dim;
    embed = need("model.embed_tokens.weight", {c.vocab, c.hidden});
    final_norm = need("model.norm.weight", {c.hidden});
    head = weights.count("lm_head.weight") ? need("lm_head.weight", {c.vocab, c.hidden}) : at::Tensor();
    if (!head.defined()) {
      if (!c.tie_embeddings) throw std::invalid_argument("the checkpoint has no lm_head.weight and tie_word_embeddings is false");
      head = embed;
    }
    layers.resize((size_t)c.layers);
    for (int64_t i = 0; i < c.layers; i++) {
      std::string p = "model.layers." + std::to_string(i) + ".";
      Layer &L = layers[(size_t)i];
      L.in_norm = need(p + "input_layernorm.weight", {c.hidden});
      L.post_norm = need(p + "post_attention_layernorm.weight", {c.hidden});
      if (c.sandwich_norms) {
        L.pre_ff = need(p + "pre_feedforward_layernorm.weight", {c.hidden});
        L.post_ff = need(p + "post_feedforward_layernorm.weight", {c.hidden});
      }
      L.q = need(p + "self_attn.q_proj.weight", {qd, c.hidden});
      L.k = need(p + "self_attn.k_proj.weight", {kvd, c.hidden});
      L.v = need(p + "self_attn.v_proj.weight", {kvd, c.hidden});
      L.o = need(p + "self_attn.o_proj.weight", {c.hidden, qd});
      L.qb = maybe(p + "self_attn.q_proj.bias", {qd});
      L.kb = maybe(p + "self_attn.k_proj.bias", {kvd});
      L.vb = maybe(p + "self_attn.v_proj.bias", {kvd});
      L.ob = maybe(p + "self_attn.o_proj.bias", {c.hidden});
      L.q_norm = maybe(p + "self_attn.q_norm.weight", {c.head_dim});
      L.k_norm = maybe(p + "self_attn.k_norm.weight", {c.head_dim});
      L.gate = need(p + "mlp.gate_proj.weight", {c.intermediate, c.hidden});
      L.up = need(p + "mlp.up_proj.weight", {c.intermediate, c.hidden});
      L.down = need(p + "mlp.down_proj.weight", {c.hidden, c.intermediate});
      L.gate_b = maybe(p + "mlp.gate_proj.bias", {c.intermediate});
      L.up_b = maybe(p + "mlp.up_proj.bias", {c.intermediate});
      L.down_b = maybe(p + "mlp.down_proj.bias", {c.hidden});
    }
  }

  // transformers' _compute_default_rope_parameters, in float32
  at::Tensor default_inv_freq(double theta) const {
    return 1.0 / at::pow(theta, at::arange(0, cfg.head_dim, 2, at::kLong).to(at::kFloat) / (double)cfg.head_dim);
  }

  // and its linear/llama3 rescalings
  void rope_frequencies(const at::Device &dev) {
    const lts_hf_config &c = cfg;
    at::Tensor f = default_inv_freq(c.rope_theta);
    if (c.rope_kind == LTS_ROPE_LINEAR) f = f / c.rope_factor;
    if (c.rope_kind == LTS_ROPE_LLAMA3) {
      double old = (double)c.rope_original_max, lo = old / c.rope_low_freq, hi = old / c.rope_high_freq;
      at::Tensor wavelen = 2 * M_PI / f;
      at::Tensor scaled = at::where(wavelen > lo, f / c.rope_factor, f);
      at::Tensor smooth = (old / wavelen - c.rope_low_freq) / (c.rope_high_freq - c.rope_low_freq);
      at::Tensor smoothed = (1 - smooth) * scaled / c.rope_factor + smooth * scaled;
      at::Tensor medium = (wavelen >= hi).logical_and(wavelen <= lo);
      f = at::where(medium, smoothed, scaled);
    }
    inv_freq = f.to(dev);
    if (c.rope_local_theta > 0) inv_freq_local = default_inv_freq(c.rope_local_theta).to(dev);
  }

  // cos and sin [L, head_dim] of positions from past on
  std::pair<at::Tensor, at::Tensor> rotary(const at::Tensor &freq, int64_t past, int64_t L, at::ScalarType dt) {
    at::Tensor pos = at::arange(past, past + L, at::TensorOptions().dtype(at::kFloat).device(freq.device()));
    at::Tensor f = pos.unsqueeze(1) * freq.unsqueeze(0);  // [L, D/2]
    at::Tensor emb = at::cat({f, f}, -1);
    return {emb.cos().to(dt), emb.sin().to(dt)};
  }

  int64_t dev_check_ids(const at::Tensor &ids) const {
    if (ids.dim() != 2) throw std::invalid_argument("token ids must be [batch, seq], got " + shape_str(ids));
    if (at::isFloatingType(ids.scalar_type()) || ids.scalar_type() == at::kBool)
      throw std::invalid_argument("token ids must be integers, got " + std::string(c10::toString(ids.scalar_type())));
    if (ids.numel() > 0) {
      int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
      if (lo < 0 || hi >= cfg.vocab)
        throw std::out_of_range("token id " + std::to_string(lo < 0 ? lo : hi) + " is out of range [0, " + std::to_string(cfg.vocab) + ")");
    }
    return ids.size(1);
  }

  // the input embeddings as the model sees them: Gemma multiplies by
  // sqrt(hidden) rounded to the weights' dtype, as transformers does
  at::Tensor embed_ids(const at::Tensor &ids) {
    at::Tensor x = as_compute(at::embedding(embed, ids.to(embed.device(), at::kLong)));
    if (cfg.embed_scaled)
      x = x * at::scalar_tensor(std::sqrt((double)cfg.hidden), embed.options()).to(x.scalar_type());
    return x;
  }

  at::Tensor embeddings(const at::Tensor &ids) {
    dev_check_ids(ids);
    return embed_ids(ids);
  }

  at::Tensor norm(const at::Tensor &x, const at::Tensor &w) const { return rms_norm(x, w, cfg.rms_eps, cfg.norm_plus_one); }

  at::Tensor mlp(const at::Tensor &h, Layer &ly) {
    at::Tensor g = proj(h, ly, P_GATE, ly.gate_b);
    g = cfg.act == LTS_ACT_GELU_TANH ? at::gelu(g, "tanh") : at::silu(g);
    return proj(g * proj(h, ly, P_UP, ly.up_b), ly, P_DOWN, ly.down_b);
  }

  at::Tensor forward(const at::Tensor &ids, lts_hf_cache *cache, bool manual);
};

}  // namespace lts

struct lts_hf_model {
  std::shared_ptr<lts::HfModel> m;
  std::atomic<int> refs{1};
};

// Per layer the keys and values seen so far ([B, kv_heads, len, head_dim]);
// `pos` counts every position ever fed (rotary positions go on counting when
// the oldest entries are dropped past max_len).
struct lts_hf_cache {
  std::shared_ptr<lts::HfModel> model;
  std::vector<at::Tensor> k, v;
  int64_t pos = 0, max_len = 0;
  std::atomic<int> refs{1};
};

namespace lts {

at::Tensor HfModel::forward(const at::Tensor &ids_in, lts_hf_cache *cache, bool manual) {
  const lts_hf_config &c = cfg;
  int64_t L = dev_check_ids(ids_in), B = ids_in.size(0);
  if (L == 0) throw std::invalid_argument("token ids must hold at least one position");
  if (cache && cache->model.get() != this) throw std::invalid_argument("the KV cache belongs to another model");
  if (cache && !cache->k.empty() && cache->k[0].size(0) != B)
    throw std::invalid_argument("the KV cache holds a batch of " + std::to_string(cache->k[0].size(0)) + ", got " + std::to_string(B) +
                                " (reset it first)");
  int64_t past = cache ? cache->pos : 0;
  at::Tensor x = embed_ids(ids_in);
  auto global = rotary(inv_freq, past, L, x.scalar_type());
  auto local = inv_freq_local.defined() ? rotary(inv_freq_local, past, L, x.scalar_type()) : global;
  double scale = 1.0 / std::sqrt(c.attn_scalar > 0 ? c.attn_scalar : (double)c.head_dim);
  int64_t rep = c.heads / c.kv_heads;
  for (size_t li = 0; li < layers.size(); li++) {
    Layer &ly = layers[li];
    at::Tensor h = norm(x, ly.in_norm);
    at::Tensor q = proj(h, ly, P_Q, ly.qb).view({B, L, c.heads, c.head_dim});
    at::Tensor k = proj(h, ly, P_K, ly.kb).view({B, L, c.kv_heads, c.head_dim});
    at::Tensor v = proj(h, ly, P_V, ly.vb).view({B, L, c.kv_heads, c.head_dim}).transpose(1, 2);
    if (ly.q_norm.defined()) q = norm(q, ly.q_norm);
    if (ly.k_norm.defined()) k = norm(k, ly.k_norm);
    q = q.transpose(1, 2);
    k = k.transpose(1, 2);
    const at::Tensor &cos = c.sliding[li] ? local.first : global.first, &sin = c.sliding[li] ? local.second : global.second;
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    if (cache) {
      if (cache->k.size() > li && cache->k[li].defined()) {
        k = at::cat({cache->k[li], k}, 2);
        v = at::cat({cache->v[li], v}, 2);
      }
      if (cache->k.size() <= li) {
        cache->k.resize(layers.size());
        cache->v.resize(layers.size());
      }
      // the cache keeps at most max_len positions (the newest)
      int64_t keep = k.size(2);
      if (cache->max_len > 0 && keep > cache->max_len) keep = cache->max_len;
      cache->k[li] = k.slice(2, k.size(2) - keep);
      cache->v[li] = v.slice(2, v.size(2) - keep);
    }
    int64_t lk = k.size(2), first = past + L - lk;  // position of the first key
    if (rep > 1) {
      k = k.repeat_interleave(rep, 1);
      v = v.repeat_interleave(rep, 1);
    }
    // query i (position past+i) sees key j (position first+j) when
    // first+j <= past+i: the causal triangle aligned bottom-right, which sdpa
    // and the eager path apply themselves; a window W also needs
    // past+i - (first+j) < W, as a mask
    at::Tensor mask;
    int64_t window = c.sliding[li] ? c.sliding_window : 0;
    if (window > 0 && past + L - first > window) {
      auto opt = at::TensorOptions().dtype(at::kLong).device(x.device());
      at::Tensor qi = at::arange(past, past + L, opt).unsqueeze(1), kj = at::arange(first, first + lk, opt).unsqueeze(0);
      mask = (kj <= qi).logical_and(qi - kj < window);
    }
    at::Tensor a;
    if (record || manual || c.attn_softcap > 0) {
      // transformers' eager path: scores in the model's dtype (soft-capped
      // for Gemma 2, which no fused kernel does), softmax in float32 cast
      // back (the probabilities are what recording keeps)
      at::Tensor sc = softcap(at::matmul(q, k.transpose(-2, -1)) * scale, c.attn_softcap);
      at::Tensor keep = mask.defined() ? mask : at::ones({L, lk}, q.options().dtype(at::kBool)).tril(lk - L);
      sc = sc.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
      at::Tensor p = at::softmax(sc, -1, at::kFloat).to(q.scalar_type());
      if (record) {
        if (scores.size() != layers.size()) scores.resize(layers.size());
        scores[li] = p.detach();
      }
      a = at::matmul(p, v);
    } else {
      a = sdpa(q, k, v, mask, 0.0, !mask.defined() && L > 1, scale);
    }
    a = a.transpose(1, 2).reshape({B, L, c.heads * c.head_dim});
    a = proj(a, ly, P_O, ly.ob);
    if (c.sandwich_norms) {
      x = x + norm(a, ly.post_norm);
      x = x + norm(mlp(norm(x, ly.pre_ff), ly), ly.post_ff);
    } else {
      x = x + a;
      x = x + mlp(norm(x, ly.post_norm), ly);
    }
  }
  if (cache) cache->pos = past + L;
  return softcap(at::linear(norm(x, final_norm), as_compute(head)), c.final_softcap);
}

namespace {

void check_config(const lts_hf_config &c) {
  auto pos = [](int64_t v, const char *what) {
    if (v <= 0) throw std::invalid_argument(std::string("config ") + what + " must be positive, got " + std::to_string(v));
  };
  pos(c.vocab, "vocab_size");
  pos(c.hidden, "hidden_size");
  pos(c.intermediate, "intermediate_size");
  pos(c.layers, "num_hidden_layers");
  if (c.layers > LTS_HF_MAX_LAYERS)
    throw std::invalid_argument("config num_hidden_layers must be at most " + std::to_string(LTS_HF_MAX_LAYERS));
  pos(c.heads, "num_attention_heads");
  pos(c.kv_heads, "num_key_value_heads");
  pos(c.head_dim, "head_dim");
  if (c.head_dim % 2) throw std::invalid_argument("config head_dim must be even (rotary), got " + std::to_string(c.head_dim));
  if (c.heads % c.kv_heads)
    throw std::invalid_argument("config num_attention_heads (" + std::to_string(c.heads) + ") must be a multiple of num_key_value_heads (" +
                                std::to_string(c.kv_heads) + ")");
  if (!(c.rms_eps > 0)) throw std::invalid_argument("config rms_norm_eps must be positive");
  if (!(c.rope_theta > 1)) throw std::invalid_argument("config rope_theta must be greater than 1");
  if (c.rope_kind != LTS_ROPE_DEFAULT && !(c.rope_factor > 0)) throw std::invalid_argument("config rope_scaling factor must be positive");
  if (c.rope_kind == LTS_ROPE_LLAMA3 &&
      (!(c.rope_low_freq > 0) || !(c.rope_high_freq > c.rope_low_freq) || c.rope_original_max <= 0))
    throw std::invalid_argument("config rope_scaling \"llama3\" needs low_freq_factor > 0, high_freq_factor > low_freq_factor and "
                                "original_max_position_embeddings > 0");
}

HfModel &H(lts_hf_model *m) { return *m->m; }

// HF sampling order: repetition penalty, then (unless greedy) temperature,
// top-k, top-p, softmax and one draw
int64_t pick(at::Tensor logits, const std::vector<int64_t> &seen, const lts_hf_sampling &s, c10::optional<at::Generator> gen) {
  logits = logits.to(at::kFloat).clone();
  if (s.repetition_penalty != 1.0 && !seen.empty()) {
    at::Tensor idx = at::tensor(seen, at::kLong).to(logits.device());
    at::Tensor sc = logits.gather(0, idx);
    sc = at::where(sc > 0, sc / s.repetition_penalty, sc * s.repetition_penalty);
    logits.scatter_(0, idx, sc);
  }
  if (s.greedy || s.temperature == 0) return logits.argmax().item<int64_t>();
  if (s.temperature != 1.0) logits = logits / s.temperature;
  int64_t V = logits.size(0);
  if (s.top_k > 0 && s.top_k < V) {
    at::Tensor kth = std::get<0>(logits.topk(s.top_k)).select(0, s.top_k - 1);
    logits = logits.masked_fill(logits < kth, -std::numeric_limits<double>::infinity());
  }
  if (s.top_p > 0 && s.top_p < 1.0) {
    auto sorted = logits.sort(0, false);
    at::Tensor cum = std::get<0>(sorted).softmax(0).cumsum(0);
    at::Tensor drop = cum <= (1 - s.top_p);
    drop.select(0, V - 1).fill_(false);  // the most likely token always stays
    logits = logits.masked_fill(drop.scatter(0, std::get<1>(sorted), drop), -std::numeric_limits<double>::infinity());
  }
  at::Tensor probs = logits.softmax(0);
  return at::multinomial(probs, 1, false, gen).item<int64_t>();
}

}  // namespace
}  // namespace lts

using lts::H;
using lts::T;
using lts::wrap;

extern "C" {

int lts_hf_new(const lts_hf_config *c, char *const *names, lts_tensor *const *ts, int64_t n, int dt, const char *device,
               lts_hf_model **out) {
  LTS_TRY({
    lts::check_config(*c);
    auto m = std::make_shared<lts::HfModel>();
    m->cfg = *c;
    c10::optional<at::Device> dev;
    if (device) dev = at::Device(device);
    for (int64_t i = 0; i < n; i++) {
      std::string name = names[i];
      if (name.size() > 19 && name.compare(name.size() - 19, 19, "rotary_emb.inv_freq") == 0) continue;  // older checkpoints
      if (name.rfind("model.", 0) != 0 && name != "lm_head.weight") name = "model." + name;  // a bare LlamaModel
      at::Tensor t = T(ts[i]);
      if (dt >= 0 && t.scalar_type() != lts::to_scalar((lt_dtype)dt)) t = t.to(lts::to_scalar((lt_dtype)dt));
      if (dev && t.device() != *dev) t = t.to(*dev);
      if (m->weights.count(name)) throw std::invalid_argument("weight " + name + " is given twice");
      m->names.push_back(name);
      m->weights[name] = t.detach();
    }
    m->bind();
    // every weight must have been used: anything else is another architecture
    std::unordered_map<const c10::TensorImpl *, bool> used;
    auto use = [&](const at::Tensor &t) { if (t.defined()) used[t.unsafeGetTensorImpl()] = true; };
    use(m->embed); use(m->final_norm); use(m->head);
    for (auto &L : m->layers)
      for (const at::Tensor *t : {&L.in_norm, &L.post_norm, &L.pre_ff, &L.post_ff, &L.q, &L.k, &L.v, &L.o, &L.qb, &L.kb, &L.vb, &L.ob, &L.q_norm,
                                  &L.k_norm, &L.gate, &L.up, &L.down, &L.gate_b, &L.up_b, &L.down_b})
        use(*t);
    for (auto &name : m->names)
      if (!used.count(m->weights[name].unsafeGetTensorImpl()))
        throw std::invalid_argument("unexpected weight " + name + " (not part of a " + std::to_string(c->layers) +
                                    "-layer " + (c->sandwich_norms ? "Gemma 2/3" : c->norm_plus_one ? "Gemma" : "Llama-family") +
                                    " model)");
    m->rope_frequencies(m->embed.device());
    auto *h = new lts_hf_model();
    h->m = std::move(m);
    lts::live_models.fetch_add(1);
    *out = h;
  });
}

void lts_hf_free(lts_hf_model *m) {
  if (m && m->refs.fetch_sub(1) == 1) {
    lts::live_models.fetch_sub(1);
    delete m;
  }
}

int lts_hf_ref(lts_hf_model *m, lts_hf_model **out) {
  m->refs.fetch_add(1);
  *out = m;
  return 0;
}

int64_t lts_live_hf_objects(void) { return lts::live_models.load() + lts::live_caches.load(); }

void lts_hf_config_of(lts_hf_model *m, lts_hf_config *c) { *c = H(m).cfg; }

int lts_hf_forward(lts_hf_model *m, lts_tensor *ids, lts_hf_cache *cache, int manual, lts_tensor **out) {
  LTS_OUT(H(m).forward(T(ids), cache, manual != 0))
}

int lts_hf_embeddings(lts_hf_model *m, lts_tensor *ids, lts_tensor **out) { LTS_OUT(H(m).embeddings(T(ids))) }

int lts_hf_weight(lts_hf_model *m, const char *name, lts_tensor **out) {
  LTS_TRY({
    auto &w = H(m).weights;
    auto it = w.find(name);
    if (it == w.end()) {
      if (std::string(name) == "lm_head.weight" && H(m).cfg.tie_embeddings) it = w.find("model.embed_tokens.weight");
      else throw std::invalid_argument(std::string("the model has no weight ") + name);
    }
    *out = wrap(it->second);
  });
}

int lts_hf_weight_names(lts_hf_model *m, char ***names, int64_t *n) {
  LTS_TRY({
    *names = lts::string_array(H(m).names);
    *n = (int64_t)H(m).names.size();
  });
}

int lts_hf_memory(lts_hf_model *m, int64_t *bytes, int64_t *params) {
  LTS_TRY({
    int64_t b = 0, p = 0;
    for (auto &kv : H(m).weights) {
      b += kv.second.numel() * (int64_t)kv.second.element_size();
      p += kv.second.numel();
    }
    *bytes = b;
    *params = p;
  });
}

lt_dtype lts_hf_dtype(lts_hf_model *m) { return lts::from_scalar(H(m).embed.scalar_type()); }

void lts_hf_device(lts_hf_model *m, char *buf, size_t n) { snprintf(buf, n, "%s", H(m).embed.device().str().c_str()); }

int lts_hf_to(lts_hf_model *m, const char *device) {
  LTS_TRY({
    lts::HfModel &model = H(m);
    at::Device dev(device);
    if (dev == model.embed.device()) return 0;
    // every tensor moves, then the model's references are rebound to them
    std::unordered_map<std::string, at::Tensor> moved;
    for (auto &kv : model.weights) moved[kv.first] = kv.second.to(dev);
    model.weights.swap(moved);
    model.bind();
    model.inv_freq = model.inv_freq.to(dev);
    if (model.inv_freq_local.defined()) model.inv_freq_local = model.inv_freq_local.to(dev);
    for (auto &L : model.layers)
      for (auto &a : L.lora)
        if (a.A.defined()) {
          a.A = a.A.detach().to(dev).requires_grad_(a.A.requires_grad());
          a.B = a.B.detach().to(dev).requires_grad_(a.B.requires_grad());
        }
    model.scores.clear();
  });
}

int lts_hf_record_attention(lts_hf_model *m, int on) {
  H(m).record = on != 0;
  if (!on) H(m).scores.clear();
  return 0;
}

int64_t lts_hf_attention_count(lts_hf_model *m) {
  int64_t n = 0;
  for (auto &t : H(m).scores) n += t.defined();
  return n;
}

int lts_hf_attention_scores(lts_hf_model *m, int64_t layer, lts_tensor **out) {
  *out = NULL;
  LTS_TRY({
    auto &sc = H(m).scores;
    int64_t n = (int64_t)H(m).layers.size();
    if (layer < 0 || layer >= n)
      throw std::out_of_range("layer " + std::to_string(layer) + " is out of range [0, " + std::to_string(n) + ")");
    if ((size_t)layer < sc.size() && sc[(size_t)layer].defined()) *out = wrap(sc[(size_t)layer]);
  });
}

int lts_hf_cache_new(lts_hf_model *m, int64_t max_len, lts_hf_cache **out) {
  LTS_TRY({
    if (max_len < 0) throw std::invalid_argument("cache length must be non-negative (0: unlimited), got " + std::to_string(max_len));
    auto *c = new lts_hf_cache();
    c->model = m->m;
    c->max_len = max_len;
    lts::live_caches.fetch_add(1);
    *out = c;
  });
}

void lts_hf_cache_free(lts_hf_cache *c) {
  if (c && c->refs.fetch_sub(1) == 1) {
    lts::live_caches.fetch_sub(1);
    delete c;
  }
}

int lts_hf_cache_ref(lts_hf_cache *c, lts_hf_cache **out) {
  c->refs.fetch_add(1);
  *out = c;
  return 0;
}

void lts_hf_cache_reset(lts_hf_cache *c) {
  c->k.clear();
  c->v.clear();
  c->pos = 0;
}

int64_t lts_hf_cache_position(lts_hf_cache *c) { return c->pos; }

int64_t lts_hf_cache_length(lts_hf_cache *c) { return c->k.empty() || !c->k[0].defined() ? 0 : c->k[0].size(2); }

int lts_hf_generate(lts_hf_model *m, const int64_t *prompt, int64_t n, const int64_t *eos, int n_eos, int64_t max_new,
                    const lts_hf_sampling *s, lts_token_cb cb, void *ctx, int64_t **tokens, int64_t *n_out) {
  *tokens = NULL;
  *n_out = 0;
  LTS_TRY({
    if (n <= 0) throw std::invalid_argument("the prompt must hold at least one token");
    if (max_new < 0) throw std::invalid_argument("the number of new tokens must be non-negative");
    if (s->temperature < 0) throw std::invalid_argument("temperature must be non-negative");
    if (s->repetition_penalty <= 0) throw std::invalid_argument("repetition_penalty must be positive");
    if (s->top_p < 0 || s->top_p > 1) throw std::invalid_argument("top_p must be in [0, 1]");
    lts::HfModel &model = H(m);
    at::NoGradGuard nograd;
    c10::optional<at::Generator> gen;
    if (s->has_seed) gen = at::make_generator<at::CPUGeneratorImpl>(s->seed);
    lts_hf_cache cache;
    cache.model = m->m;
    std::vector<int64_t> seen(prompt, prompt + n), made;
    made.reserve((size_t)max_new);
    at::Tensor ids = at::tensor(seen, at::kLong).view({1, n});
    while ((int64_t)made.size() < max_new) {
      at::Tensor logits = model.forward(ids, &cache, false).select(0, 0).select(0, -1);
      int64_t tok = lts::pick(logits, seen, *s, gen);
      made.push_back(tok);
      seen.push_back(tok);
      if (cb && cb(ctx, tok)) throw std::runtime_error("generation stopped: the token callback failed");
      if (std::find(eos, eos + n_eos, tok) != eos + n_eos) break;
      ids = at::tensor(std::vector<int64_t>{tok}, at::kLong).view({1, 1});
    }
    int64_t *a = (int64_t *)malloc((made.size() ? made.size() : 1) * sizeof(int64_t));
    if (!a) throw std::bad_alloc();
    std::copy(made.begin(), made.end(), a);
    *tokens = a;
    *n_out = (int64_t)made.size();
  });
}

}  // extern "C"

// ---- LoRA ----

namespace lts {
namespace {

int proj_of(const std::string &name) {
  for (int p = 0; p < P_COUNT; p++)
    if (name == kProjName[p]) return p;
  return -1;
}

void lora_check_unmerged(HfModel &m) {
  if (m.lora_merged) throw std::invalid_argument("the LoRA adapters are merged into the weights: unmerge them first");
}

void lora_set(HfModel &m, int64_t rank, double alpha, bool rslora) {
  m.lora_rank = rank;
  m.lora_alpha = alpha;
  m.lora_rslora = rslora;
  m.lora_scaling = rslora ? alpha / std::sqrt((double)rank) : alpha / (double)rank;
  m.lora_enabled = true;
}

void lora_clear(HfModel &m) {
  for (auto &L : m.layers)
    for (auto &a : L.lora) a = Lora();
  m.lora_rank = 0;
}

}  // namespace
}  // namespace lts

extern "C" {

int lts_hf_lora_init(lts_hf_model *m, int64_t rank, double alpha, const char *const *targets, int n, int dt, int rslora) {
  LTS_TRY({
    lts::HfModel &model = H(m);
    lts::lora_check_unmerged(model);
    if (rank <= 0) throw std::invalid_argument("LoRA rank must be positive, got " + std::to_string(rank));
    if (!(alpha > 0)) throw std::invalid_argument("LoRA alpha must be positive");
    bool want[lts::P_COUNT] = {false};
    for (int i = 0; i < n; i++) {
      std::string t = targets[i];
      if (t == "all-linear" || t == "all_linear") {
        for (bool &w : want) w = true;
        continue;
      }
      int p = lts::proj_of(t);
      if (p < 0) throw std::invalid_argument("LoRA target \"" + t + "\" is not a projection of the model (q_proj k_proj v_proj o_proj gate_proj up_proj down_proj all-linear)");
      want[p] = true;
    }
    if (n == 0) throw std::invalid_argument("LoRA needs at least one target module");
    lts::lora_clear(model);
    at::NoGradGuard nograd;
    for (auto &L : model.layers)
      for (int p = 0; p < lts::P_COUNT; p++) {
        if (!want[p]) continue;
        const at::Tensor &W = L.weight(p);
        int64_t out = W.size(0), in = W.size(1);
        auto opt = W.options().dtype(dt >= 0 ? lts::to_scalar((lt_dtype)dt) : W.scalar_type());
        // PEFT's initialisation: A as nn.Linear's (kaiming uniform, a = sqrt(5)), B zero
        double bound = 1.0 / std::sqrt((double)in);
        L.lora[p].A = (at::rand({rank, in}, opt) * (2 * bound) - bound).requires_grad_(true);
        L.lora[p].B = at::zeros({out, rank}, opt).requires_grad_(true);
      }
    lts::lora_set(model, rank, alpha, rslora != 0);
  });
}

int lts_hf_lora_info(lts_hf_model *m, lts_lora_info *info) {
  lts::HfModel &model = H(m);
  memset(info, 0, sizeof *info);
  info->rank = model.lora_rank;
  info->alpha = model.lora_alpha;
  info->scaling = model.lora_scaling;
  info->rslora = model.lora_rslora;
  info->enabled = model.lora_enabled;
  info->merged = model.lora_merged;
  info->dropout = model.lora_dropout;
  for (auto &L : model.layers)
    for (int p = 0; p < lts::P_COUNT; p++)
      if (L.lora[p].A.defined()) {
        info->targets |= 1 << p;
        info->adapters++;
      }
  return 0;
}

const char *lts_hf_lora_target_name(int p) { return p >= 0 && p < lts::P_COUNT ? lts::kProjName[p] : NULL; }

// PEFT's names: base_model.model.model.layers.<i>.<self_attn|mlp>.<proj>.lora_<A|B>.weight
int lts_hf_lora_state(lts_hf_model *m, char ***names, lts_tensor ***ts, int64_t *n) {
  LTS_TRY({
    lts::HfModel &model = H(m);
    std::vector<std::string> keys;
    std::vector<at::Tensor> vals;
    for (size_t i = 0; i < model.layers.size(); i++)
      for (int p = 0; p < lts::P_COUNT; p++) {
        const lts::Lora &a = model.layers[i].lora[p];
        if (!a.A.defined()) continue;
        std::string base = "base_model.model.model.layers." + std::to_string(i) + "." + lts::kProjPart[p] + "." + lts::kProjName[p];
        keys.push_back(base + ".lora_A.weight");
        keys.push_back(base + ".lora_B.weight");
        vals.push_back(a.A);
        vals.push_back(a.B);
      }
    *names = lts::string_array(keys);
    *ts = lts::tensor_array(vals);
    *n = (int64_t)vals.size();
  });
}

int lts_hf_lora_load_state(lts_hf_model *m, char *const *names, lts_tensor *const *ts, int64_t n, int64_t rank, double alpha,
                           int rslora) {
  LTS_TRY({
    lts::HfModel &model = H(m);
    lts::lora_check_unmerged(model);
    if (rank <= 0 || !(alpha > 0)) throw std::invalid_argument("LoRA rank and alpha must be positive");
    std::vector<std::array<lts::Lora, lts::P_COUNT>> got(model.layers.size());
    for (int64_t i = 0; i < n; i++) {
      std::string s = names[i];
      auto bad = [&](const std::string &why) { return std::invalid_argument("adapter tensor " + s + ": " + why); };
      for (const char *pre : {"base_model.model.", "model."})
        if (s.rfind(pre, 0) == 0 && s.rfind("model.layers.", 0) != 0) s = s.substr(strlen(pre));
      // now model.layers.<i>.<part>.<proj>.lora_<A|B>[.<adapter>].weight
      unsigned long layer = 0;
      char part[16] = {0}, prj[16] = {0}, ab = 0;
      int used = 0;
      if (sscanf(s.c_str(), "model.layers.%lu.%15[a-z_].%15[a-z_].lora_%c%n", &layer, part, prj, &ab, &used) != 4)
        throw bad("not a LoRA weight of a decoder layer");
      std::string rest = s.substr((size_t)used);
      if (rest != ".weight" && (rest.size() < 8 || rest[0] != '.' || rest.compare(rest.size() - 7, 7, ".weight") != 0))
        throw bad("not a LoRA weight of a decoder layer");
      int p = lts::proj_of(prj);
      if (p < 0 || std::string(part) != lts::kProjPart[p]) throw bad("not one of the model's projections");
      if (layer >= model.layers.size()) throw bad("the model has " + std::to_string(model.layers.size()) + " layers");
      if (ab != 'A' && ab != 'B') throw bad("neither lora_A nor lora_B");
      const at::Tensor &W = model.layers[layer].weight(p);
      at::Tensor t = T(ts[i]);
      std::vector<int64_t> want = ab == 'A' ? std::vector<int64_t>{rank, W.size(1)} : std::vector<int64_t>{W.size(0), rank};
      if (t.sizes() != at::IntArrayRef(want))
        throw bad("shape " + c10::str(t.sizes()) + ", expected " + c10::str(at::IntArrayRef(want)) + " for rank " + std::to_string(rank));
      at::Tensor &slot = ab == 'A' ? got[layer][p].A : got[layer][p].B;
      if (slot.defined()) throw bad("given twice");
      slot = t.detach().to(W.device(), W.scalar_type()).clone().requires_grad_(true);
    }
    int64_t count = 0;
    for (size_t i = 0; i < got.size(); i++)
      for (int p = 0; p < lts::P_COUNT; p++) {
        if (got[i][p].A.defined() != got[i][p].B.defined())
          throw std::invalid_argument("layer " + std::to_string(i) + " " + lts::kProjName[p] + " has lora_" +
                                      (got[i][p].A.defined() ? "A without lora_B" : "B without lora_A"));
        count += got[i][p].A.defined();
      }
    if (count == 0) throw std::invalid_argument("no LoRA weights were given");
    for (size_t i = 0; i < got.size(); i++)
      for (int p = 0; p < lts::P_COUNT; p++) model.layers[i].lora[p] = got[i][p];
    lts::lora_set(model, rank, alpha, rslora != 0);
  });
}

int lts_hf_lora_set_dropout(lts_hf_model *m, double p) {
  LTS_TRY({
    if (!(p >= 0 && p <= 1)) throw std::invalid_argument("lora_dropout must be in [0, 1], got " + std::to_string(p));
    H(m).lora_dropout = p;
  });
}

int lts_hf_set_training(lts_hf_model *m, int on) {
  H(m).training = on != 0;
  return 0;
}

int lts_hf_training(lts_hf_model *m) { return H(m).training; }

int lts_hf_lora_enable(lts_hf_model *m, int on) {
  H(m).lora_enabled = on != 0;
  return 0;
}

// merge adds scaling · B A to each targeted weight (in place: the model's
// weight tensors are those the checkpoint gave); unmerge subtracts it
int lts_hf_lora_merge(lts_hf_model *m, int merge) {
  LTS_TRY({
    lts::HfModel &model = H(m);
    if (model.lora_rank == 0) throw std::invalid_argument("the model has no LoRA adapters");
    if (merge && model.lora_merged) throw std::invalid_argument("the LoRA adapters are already merged");
    if (!merge && !model.lora_merged) throw std::invalid_argument("the LoRA adapters are not merged");
    at::NoGradGuard nograd;
    for (auto &L : model.layers)
      for (int p = 0; p < lts::P_COUNT; p++) {
        const lts::Lora &a = L.lora[p];
        if (!a.A.defined()) continue;
        at::Tensor delta = (at::matmul(a.B.to(at::kFloat), a.A.to(at::kFloat)) * model.lora_scaling).to(L.weight(p).scalar_type());
        if (merge) L.weight(p).add_(delta);
        else L.weight(p).sub_(delta);
      }
    model.lora_merged = merge != 0;
  });
}

int lts_hf_lora_parameters(lts_hf_model *m, lts_tensor ***ts, int64_t *n) {
  LTS_TRY({
    std::vector<at::Tensor> all;
    for (auto &L : H(m).layers)
      for (auto &a : L.lora)
        if (a.A.defined()) {
          all.push_back(a.A);
          all.push_back(a.B);
        }
    *ts = lts::tensor_array(all);
    *n = (int64_t)all.size();
  });
}

}  // extern "C"

extern "C" {

// Beam search as transformers' (no sampling): each step extends every beam
// by every token, scores the candidates by their summed log-probabilities,
// and keeps the num_beams best that do not end in eos; a candidate ending in
// eos becomes a finished hypothesis scored sum / generated_len^length_penalty
// (the best num_beams are kept). It stops when num_beams hypotheses are
// finished and no running beam can beat the worst of them, or after max_new
// tokens, where the running beams count as hypotheses too. The beams share
// one KV cache of batch num_beams, reordered after each step.
int lts_hf_beam_search(lts_hf_model *m, const int64_t *prompt, int64_t n, const int64_t *eos, int n_eos, int64_t max_new,
                       int64_t beams, double length_penalty, int64_t **tokens, int64_t *n_out) {
  *tokens = NULL;
  *n_out = 0;
  LTS_TRY({
    if (n <= 0) throw std::invalid_argument("the prompt must hold at least one token");
    if (beams <= 0) throw std::invalid_argument("the number of beams must be positive, got " + std::to_string(beams));
    if (max_new < 0) throw std::invalid_argument("the number of new tokens must be non-negative");
    lts::HfModel &model = H(m);
    at::NoGradGuard nograd;
    lts_hf_cache cache;
    cache.model = m->m;
    auto is_eos = [&](int64_t t) { return std::find(eos, eos + n_eos, t) != eos + n_eos; };
    struct Hyp {
      double score;
      std::vector<int64_t> toks;
    };
    std::vector<Hyp> done;
    auto add_done = [&](double sum, std::vector<int64_t> toks) {
      double sc = sum / std::pow((double)toks.size(), length_penalty);
      done.push_back({sc, std::move(toks)});
      std::sort(done.begin(), done.end(), [](const Hyp &a, const Hyp &b) { return a.score > b.score; });
      if ((int64_t)done.size() > beams) done.pop_back();
    };
    std::vector<std::vector<int64_t>> seqs(1);
    std::vector<double> sums(1, 0.0);
    at::Tensor logits = model.forward(at::tensor(std::vector<int64_t>(prompt, prompt + n), at::kLong).view({1, n}), &cache, false);
    for (int64_t step = 0; step < max_new; step++) {
      int64_t nb = (int64_t)seqs.size();
      at::Tensor lp = at::log_softmax(logits.select(1, -1).to(at::kFloat), -1).cpu();  // [nb, V]
      int64_t V = lp.size(1);
      at::Tensor total = lp + at::tensor(sums, at::kDouble).to(at::kFloat).unsqueeze(1);
      int64_t want = std::min<int64_t>(nb * V, (1 + (int64_t)n_eos) * beams);
      auto top = total.view({-1}).topk(want);
      auto vals = std::get<0>(top).contiguous(), idx = std::get<1>(top).contiguous();
      std::vector<std::vector<int64_t>> next;
      std::vector<double> next_sums;
      std::vector<int64_t> from, toks;
      for (int64_t i = 0; i < want && (int64_t)next.size() < beams; i++) {
        int64_t b = idx[i].item<int64_t>() / V, t = idx[i].item<int64_t>() % V;
        double sc = vals[i].item<double>();
        std::vector<int64_t> seq = seqs[(size_t)b];
        seq.push_back(t);
        if (is_eos(t)) {
          // only candidates among the best num_beams may finish
          if (i < beams) add_done(sc, std::move(seq));
          continue;
        }
        next.push_back(std::move(seq));
        next_sums.push_back(sc);
        from.push_back(b);
        toks.push_back(t);
      }
      if (next.empty()) break;
      seqs.swap(next);
      sums.swap(next_sums);
      int64_t cur = step + 1;
      if ((int64_t)done.size() == beams &&
          *std::max_element(sums.begin(), sums.end()) / std::pow((double)cur, length_penalty) <= done.back().score)
        break;
      if (step + 1 == max_new) break;
      at::Tensor sel = at::tensor(from, at::kLong).to(model.embed.device());
      for (size_t li = 0; li < cache.k.size(); li++) {
        cache.k[li] = cache.k[li].expand({nb, -1, -1, -1}).index_select(0, sel);
        cache.v[li] = cache.v[li].expand({nb, -1, -1, -1}).index_select(0, sel);
      }
      logits = model.forward(at::tensor(toks, at::kLong).view({(int64_t)toks.size(), 1}), &cache, false);
    }
    for (size_t i = 0; i < seqs.size(); i++) add_done(sums[i], seqs[i]);
    const std::vector<int64_t> &best = done.front().toks;
    int64_t *a = (int64_t *)malloc((best.size() ? best.size() : 1) * sizeof(int64_t));
    if (!a) throw std::bad_alloc();
    std::copy(best.begin(), best.end(), a);
    *tokens = a;
    *n_out = (int64_t)best.size();
  });
}

}  // extern "C"
