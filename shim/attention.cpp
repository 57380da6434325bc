// attention.cpp - section 7: scaled dot-product attention (libtorch's fused
// kernel where it has one), the memory-efficient (flash-style) path and the
// flash attention module.
//
// The flash path never builds a [Lq, Lk] tensor: it walks blocks of queries
// and, inside, blocks of keys/values, keeping per query a running maximum,
// a running denominator and a running output (online softmax, accumulated in
// float32, or float64 for float64 inputs). Its largest temporary is
// [B, H, q_block, k_block]. Backward is a custom autograd function that saves
// q, k, v, the output and the per-row logsumexp (O(L)) and recomputes each
// block's probabilities from the logsumexp (FlashAttention-2's backward:
// dS = P ∘ (dP − rowsum(dO ∘ O))), again block by block. Dropout draws its
// keep-masks from a generator seeded per call and per block, so backward
// regenerates exactly the masks forward used.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ExpandUtils.h>
#include <cmath>
#include <limits>
#include "nn_internal.h"

namespace lts {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kDefaultQBlock = 256, kDefaultKBlock = 256;
std::atomic<int64_t> g_qblock{kDefaultQBlock}, g_kblock{kDefaultKBlock};
std::atomic<bool> g_fused{true};  // flash path: libtorch's memory-efficient kernel when it has one

std::string shape_of(const at::Tensor &t) { return c10::str(t.sizes()); }

// q, k, v as [B, H, L, D]; three_d when they came as [B*H, L, D]
struct Qkv {
  at::Tensor q, k, v;
  bool three_d = false;
};

Qkv prepare(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v) {
  if (!q.defined() || !k.defined() || !v.defined()) throw std::invalid_argument("query, key and value must be tensors");
  int64_t d = q.dim();
  if ((d != 3 && d != 4) || k.dim() != d || v.dim() != d)
    throw std::invalid_argument("query, key and value must all be [batch, heads, seq, head_dim] or all [batch*heads, seq, head_dim], got " +
                                shape_of(q) + ", " + shape_of(k) + ", " + shape_of(v));
  if (!at::isFloatingType(q.scalar_type()))
    throw std::invalid_argument("query must be a floating point tensor, got " + std::string(c10::toString(q.scalar_type())));
  if (k.scalar_type() != q.scalar_type() || v.scalar_type() != q.scalar_type())
    throw std::invalid_argument("query, key and value must have the same dtype, got " + std::string(c10::toString(q.scalar_type())) +
                                ", " + c10::toString(k.scalar_type()) + ", " + c10::toString(v.scalar_type()));
  if (k.device() != q.device() || v.device() != q.device())
    throw std::invalid_argument("query, key and value must be on the same device");
  for (int64_t i = 0; i < d - 2; i++)
    if (k.size(i) != q.size(i) || v.size(i) != q.size(i))
      throw std::invalid_argument("query, key and value must have the same batch and head dimensions, got " + shape_of(q) + ", " +
                                  shape_of(k) + ", " + shape_of(v));
  if (q.size(-1) != k.size(-1))
    throw std::invalid_argument("query and key must have the same head dimension, got " + shape_of(q) + " and " + shape_of(k));
  if (k.size(-2) != v.size(-2))
    throw std::invalid_argument("key and value must have the same sequence length, got " + shape_of(k) + " and " + shape_of(v));
  if (q.size(-1) == 0) throw std::invalid_argument("the head dimension must be positive");
  Qkv r;
  r.three_d = d == 3;
  r.q = r.three_d ? q.unsqueeze(1) : q;
  r.k = r.three_d ? k.unsqueeze(1) : k;
  r.v = r.three_d ? v.unsqueeze(1) : v;
  return r;
}

double resolve_scale(c10::optional<double> scale, int64_t head_dim) {
  if (!scale) return 1.0 / std::sqrt((double)head_dim);
  if (!(*scale > 0) || !std::isfinite(*scale)) throw std::invalid_argument("scale must be a positive number, got " + std::to_string(*scale));
  return *scale;
}

void check_dropout(double p) {
  if (!(p >= 0 && p < 1)) throw std::invalid_argument("dropout probability must be in [0, 1), got " + std::to_string(p));
}

// attention_mask() plus checks of the batch/head dimensions; on q's device
at::Tensor prepare_mask(const at::Tensor &mask, const at::Tensor &q4, int64_t lk) {
  if (!mask.defined()) return mask;
  int64_t b = q4.size(0), h = q4.size(1), lq = q4.size(2);
  at::Tensor m = attention_mask(mask, b, lq, lk);
  if ((m.size(0) != 1 && m.size(0) != b) || (m.size(1) != 1 && m.size(1) != h))
    throw std::invalid_argument("attention mask of shape " + shape_of(mask) + " does not fit batch " + std::to_string(b) + ", heads " +
                                std::to_string(h) + ", query length " + std::to_string(lq) + ", key length " + std::to_string(lk));
  if (m.device() != q4.device()) m = m.to(q4.device());
  return m;
}

at::ScalarType accum_type(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

// ---- the flash path ----

struct FlashCfg {
  double scale = 1;
  bool causal = false;
  double dropout = 0;
  uint64_t seed = 0;
  int64_t qb = kDefaultQBlock, kb = kDefaultKBlock;
};

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 1/(1-p) where kept, 0 where dropped: the same for the same (seed, block)
at::Tensor keep_block(const FlashCfg &c, int64_t qs, int64_t ks, at::IntArrayRef shape, const at::TensorOptions &opt) {
  uint64_t s = splitmix(c.seed ^ splitmix((uint64_t)qs * 0x100000001b3ULL + (uint64_t)ks));
  at::Generator gen = at::detail::createCPUGenerator(s);
  at::Tensor keep = at::empty(shape, at::TensorOptions().dtype(opt.dtype()));
  keep.bernoulli_(1.0 - c.dropout, gen);
  keep.mul_(1.0 / (1.0 - c.dropout));
  return keep.device() == opt.device() ? keep : keep.to(opt.device());
}

// the mask entries of queries [qs, qs+qn) and keys [ks, ks+kn)
at::Tensor mask_block(const at::Tensor &m4, int64_t qs, int64_t qn, int64_t ks, int64_t kn) {
  at::Tensor b = m4.size(2) == 1 ? m4 : m4.narrow(2, qs, qn);
  return b.narrow(3, ks, kn);
}

// first key block start that no query of [qs, qs+qn) may see (causal), or lk
int64_t key_end(const FlashCfg &c, int64_t lq, int64_t lk, int64_t qs, int64_t qn) {
  if (!c.causal) return lk;
  int64_t last = qs + qn - 1 + (lk - lq);  // last key the last query sees
  return std::max<int64_t>(0, std::min<int64_t>(lk, last + 1));
}

// scaled, masked scores of one block [B, H, qn, kn] in the accumulation dtype
at::Tensor block_scores(const at::Tensor &qblk, const at::Tensor &kblk, const at::Tensor &m4, const FlashCfg &c, int64_t lq,
                        int64_t lk, int64_t qs, int64_t qn, int64_t ks, int64_t kn) {
  at::Tensor s = at::matmul(qblk, kblk.transpose(-2, -1));
  s.mul_(c.scale);
  if (c.causal && ks + kn - 1 > qs + (lk - lq)) {  // the block crosses the diagonal
    at::TensorOptions lo = s.options().dtype(at::kLong);
    at::Tensor i = at::arange(qs + (lk - lq), qs + qn + (lk - lq), lo).unsqueeze(1);
    at::Tensor j = at::arange(ks, ks + kn, lo).unsqueeze(0);
    s.masked_fill_(j > i, -kInf);
  }
  if (m4.defined()) {
    at::Tensor mb = mask_block(m4, qs, qn, ks, kn);
    if (mb.scalar_type() == at::kBool) s.masked_fill_(mb.logical_not(), -kInf);
    else s.add_(mb.to(s.scalar_type()));
  }
  return s;
}

// forward: out [B, H, Lq, Dv] in q's dtype, lse [B, H, Lq, 1] in the
// accumulation dtype (+inf on rows that attend to no key; their output is 0)
std::pair<at::Tensor, at::Tensor> flash_forward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &m4,
                                                const FlashCfg &c) {
  at::NoGradGuard no_grad;
  at::ScalarType acc_t = accum_type(q.scalar_type());
  at::TensorOptions ao = q.options().dtype(acc_t);
  int64_t B = q.size(0), H = q.size(1), lq = q.size(2), lk = k.size(2), dv = v.size(3);
  at::Tensor out = at::empty({B, H, lq, dv}, q.options());
  at::Tensor lse = at::empty({B, H, lq, 1}, ao);
  for (int64_t qs = 0; qs < lq; qs += c.qb) {
    int64_t qn = std::min(c.qb, lq - qs);
    at::Tensor qblk = q.narrow(2, qs, qn).to(acc_t);
    at::Tensor m = at::full({B, H, qn, 1}, -kInf, ao);
    at::Tensor l = at::zeros({B, H, qn, 1}, ao);
    at::Tensor acc = at::zeros({B, H, qn, dv}, ao);
    int64_t kend = key_end(c, lq, lk, qs, qn);
    for (int64_t ks = 0; ks < kend; ks += c.kb) {
      int64_t kn = std::min(c.kb, lk - ks);
      at::Tensor kblk = k.narrow(2, ks, kn).to(acc_t), vblk = v.narrow(2, ks, kn).to(acc_t);
      at::Tensor s = block_scores(qblk, kblk, m4, c, lq, lk, qs, qn, ks, kn);
      at::Tensor m_new = at::maximum(m, std::get<0>(s.max(-1, true)));
      // rows with no visible key yet keep -inf: use 0 so that exp gives 0, not NaN
      at::Tensor m_safe = m_new.masked_fill(at::isinf(m_new), 0.0);
      at::Tensor p = s.sub_(m_safe).exp_();
      at::Tensor alpha = (m - m_safe).exp_();
      l.mul_(alpha).add_(p.sum(-1, true));
      if (c.dropout > 0) p.mul_(keep_block(c, qs, ks, p.sizes(), ao));
      acc.mul_(alpha).add_(at::matmul(p, vblk));
      m = m_new;
    }
    // every visible row has l >= 1 (its maximum contributes exp(0)); dead rows have acc = 0
    out.narrow(2, qs, qn).copy_(acc.div_(l.clamp_min(1.0)));
    at::Tensor alive = at::isfinite(m);
    lse.narrow(2, qs, qn).copy_(at::where(alive, m.masked_fill(alive.logical_not(), 0.0) + l.clamp_min(1.0).log(),
                                          at::full({}, kInf, ao)));
  }
  return {out, lse};
}

// gradients of q, k, v (and of an additive float mask when want_dmask)
std::vector<at::Tensor> flash_backward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &m4,
                                       const at::Tensor &out, const at::Tensor &lse, const at::Tensor &dout, const FlashCfg &c,
                                       bool want_dmask) {
  at::NoGradGuard no_grad;
  at::ScalarType acc_t = accum_type(q.scalar_type());
  at::TensorOptions ao = q.options().dtype(acc_t);
  int64_t lq = q.size(2), lk = k.size(2);
  at::Tensor dO = dout.to(acc_t);
  at::Tensor Di = (dO * out.to(acc_t)).sum(-1, true);  // rowsum(dO ∘ O), [B, H, Lq, 1]
  at::Tensor dq = at::zeros(q.sizes(), ao), dk = at::zeros(k.sizes(), ao), dv = at::zeros(v.sizes(), ao);
  at::Tensor dmask = want_dmask ? at::zeros(m4.sizes(), ao) : at::Tensor();
  for (int64_t qs = 0; qs < lq; qs += c.qb) {
    int64_t qn = std::min(c.qb, lq - qs);
    at::Tensor qblk = q.narrow(2, qs, qn).to(acc_t), dOb = dO.narrow(2, qs, qn);
    at::Tensor lseb = lse.narrow(2, qs, qn), Db = Di.narrow(2, qs, qn);
    at::Tensor dqb = dq.narrow(2, qs, qn);
    int64_t kend = key_end(c, lq, lk, qs, qn);
    for (int64_t ks = 0; ks < kend; ks += c.kb) {
      int64_t kn = std::min(c.kb, lk - ks);
      at::Tensor kblk = k.narrow(2, ks, kn).to(acc_t), vblk = v.narrow(2, ks, kn).to(acc_t);
      at::Tensor p = block_scores(qblk, kblk, m4, c, lq, lk, qs, qn, ks, kn).sub_(lseb).exp_();
      at::Tensor dp = at::matmul(dOb, vblk.transpose(-2, -1));
      if (c.dropout > 0) {
        at::Tensor keep = keep_block(c, qs, ks, p.sizes(), ao);
        dv.narrow(2, ks, kn).add_(at::matmul((p * keep).transpose(-2, -1), dOb));
        dp.mul_(keep);
      } else {
        dv.narrow(2, ks, kn).add_(at::matmul(p.transpose(-2, -1), dOb));
      }
      at::Tensor ds = p.mul_(dp.sub_(Db));  // dS = P ∘ (dP − D), the gradient of the masked scores
      if (want_dmask) {
        at::Tensor mb = mask_block(dmask, qs, qn, ks, kn);
        mb.add_(at::sum_to(ds, mb.sizes()));
      }
      ds.mul_(c.scale);
      dqb.add_(at::matmul(ds, kblk));
      dk.narrow(2, ks, kn).add_(at::matmul(ds.transpose(-2, -1), qblk));
    }
  }
  return {dq.to(q.scalar_type()), dk.to(k.scalar_type()), dv.to(v.scalar_type()),
          want_dmask ? dmask.to(m4.scalar_type()) : at::Tensor()};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct FlashFn : torch::autograd::Function<FlashFn> {
  // m4 is an empty placeholder when has_mask is false: libtorch 1.13's
  // Function::apply reads the device of every tensor input (undefined throws)
  static variable_list forward(AutogradContext *ctx, at::Tensor q, at::Tensor k, at::Tensor v, at::Tensor m4, bool has_mask,
                               double scale, bool causal, double dropout, int64_t seed, int64_t qb, int64_t kb) {
    if (!has_mask) m4 = at::Tensor();
    FlashCfg c;
    c.scale = scale; c.causal = causal; c.dropout = dropout; c.seed = (uint64_t)seed; c.qb = qb; c.kb = kb;
    auto r = flash_forward(q, k, v, m4, c);
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["causal"] = causal;
    ctx->saved_data["dropout"] = dropout;
    ctx->saved_data["seed"] = seed;
    ctx->saved_data["qb"] = qb;
    ctx->saved_data["kb"] = kb;
    ctx->saved_data["has_mask"] = m4.defined();
    ctx->save_for_backward({q, k, v, m4.defined() ? m4 : at::Tensor(), r.first, r.second});
    return {r.first};
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    if (at::GradMode::is_enabled())
      throw std::runtime_error("flash attention does not support double backward (create_graph)");
    auto s = ctx->get_saved_variables();
    FlashCfg c;
    c.scale = ctx->saved_data["scale"].toDouble();
    c.causal = ctx->saved_data["causal"].toBool();
    c.dropout = ctx->saved_data["dropout"].toDouble();
    c.seed = (uint64_t)ctx->saved_data["seed"].toInt();
    c.qb = ctx->saved_data["qb"].toInt();
    c.kb = ctx->saved_data["kb"].toInt();
    at::Tensor m4 = ctx->saved_data["has_mask"].toBool() ? s[3] : at::Tensor();
    bool want_dmask = m4.defined() && m4.scalar_type() != at::kBool && ctx->needs_input_grad(3);
    auto g = flash_backward(s[0], s[1], s[2], m4, s[4], s[5], grads[0], c, want_dmask);
    return {g[0], g[1], g[2], g[3], at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

uint64_t draw_seed() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

bool needs_grad(const at::Tensor &t) { return t.defined() && t.requires_grad(); }

// A mask for libtorch's kernels: the causal triangle folded in when asked
// (their own is_causal is aligned top-left), rows that attend to no key opened
// to every key (dead: [.., Lq, 1], their output is zeroed afterwards, which
// also zeroes their gradients); float masks in q's dtype.
at::Tensor kernel_mask(at::Tensor m, bool fold_causal, int64_t lq, int64_t lk, const at::Tensor &q, at::Tensor &dead) {
  if (fold_causal) {
    at::Tensor keep = at::ones({lq, lk}, q.options().dtype(at::kBool)).tril(lk - lq).view({1, 1, lq, lk});
    if (!m.defined()) m = keep;
    else if (m.scalar_type() == at::kBool) m = m.logical_and(keep);
    else m = m.masked_fill(keep.logical_not(), -kInf);
  }
  if (m.defined()) {
    at::Tensor d = (m.scalar_type() == at::kBool ? m.logical_not() : at::isneginf(m)).all(-1, true);
    if (d.any().item<bool>()) {
      dead = d;
      m = m.scalar_type() == at::kBool ? m.logical_or(d) : m.masked_fill(d, 0.0);
    }
    if (m.scalar_type() != at::kBool) m = m.to(q.scalar_type());
  }
  return m;
}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define LTS_HAVE_SDPA_SCALE 1
// libtorch's fused kernel when it has a memory-efficient one for this call
// (flash, efficient or cudnn backend, not the math one); undefined otherwise
at::Tensor fused_memory_efficient(const Qkv &in, const at::Tensor &m4, double scale, bool causal) {
  int64_t lq = in.q.size(2), lk = in.k.size(2);
  if (causal && (m4.defined() || lq != lk)) return at::Tensor();  // would need an [Lq, Lk] mask
  at::Tensor dead, m = kernel_mask(m4, false, lq, lk, in.q, dead);
  if (m.defined() && m.scalar_type() == at::kBool)  // as scaled_dot_product_attention hands it to its kernels
    m = at::zeros(m.sizes(), in.q.options()).masked_fill_(m.logical_not(), -kInf);
  c10::optional<at::Tensor> om = m.defined() ? c10::optional<at::Tensor>(m) : c10::nullopt;
  int64_t backend = at::_fused_sdp_choice(in.q, in.k, in.v, om, 0.0, causal, scale);
  if (backend < 1 || backend > 3) return at::Tensor();  // 0 = math: [Lq, Lk] scores
  at::Tensor out = at::scaled_dot_product_attention(in.q, in.k, in.v, om, 0.0, causal, scale);
  return dead.defined() ? out.masked_fill(dead, 0.0) : out;
}
#endif

// the memory-efficient attention (q, k, v [B, H, L, D] or [B*H, L, D])
at::Tensor flash_attention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask,
                           c10::optional<double> scale, bool causal, double dropout) {
  Qkv in = prepare(q, k, v);
  FlashCfg c;
  c.scale = resolve_scale(scale, in.q.size(-1));
  check_dropout(dropout);
  c.causal = causal;
  c.dropout = dropout;
  c.qb = std::max<int64_t>(1, g_qblock.load());
  c.kb = std::max<int64_t>(1, g_kblock.load());
  at::Tensor m4 = prepare_mask(mask, in.q, in.k.size(2));
  at::Tensor out;
#ifdef LTS_HAVE_SDPA_SCALE
  if (g_fused.load() && dropout == 0) out = fused_memory_efficient(in, m4, c.scale, causal);
  if (out.defined()) return in.three_d ? out.squeeze(1) : out;
#endif
  if (dropout > 0) c.seed = draw_seed();
  if (at::GradMode::is_enabled() && (needs_grad(in.q) || needs_grad(in.k) || needs_grad(in.v) || needs_grad(m4)))
    out = FlashFn::apply(in.q, in.k, in.v, m4.defined() ? m4 : at::empty({0}, in.q.options()), m4.defined(), c.scale, c.causal,
                         c.dropout, (int64_t)c.seed, c.qb, c.kb)[0];
  else
    out = flash_forward(in.q, in.k, in.v, m4, c).first;
  return in.three_d ? out.squeeze(1) : out;
}

}  // namespace

// as torch.nn.functional.scaled_dot_product_attention; rows that attend to
// no key give zeros (as attention_math), with finite gradients
at::Tensor sdpa(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask, double dropout, bool causal,
                c10::optional<double> scale) {
  Qkv in = prepare(q, k, v);
  double sc = resolve_scale(scale, in.q.size(-1));
  check_dropout(dropout);
  int64_t lq = in.q.size(2), lk = in.k.size(2);
  at::Tensor m4 = prepare_mask(mask, in.q, lk), dead;
  bool causal_direct = causal && !m4.defined() && lq == lk;  // the kernels' own (top-left) causal mask is ours then
  at::Tensor m = kernel_mask(m4, causal && !causal_direct, lq, lk, in.q, dead);
  at::Tensor out;
#ifdef LTS_HAVE_SDPA_SCALE
  out = at::scaled_dot_product_attention(in.q, in.k, in.v, m.defined() ? c10::optional<at::Tensor>(m) : c10::nullopt, dropout,
                                         causal_direct, sc);
#elif TORCH_VERSION_MAJOR == 2
  // 2.0 has no scale argument: fold it into q
  out = at::scaled_dot_product_attention(in.q * (sc * std::sqrt((double)in.q.size(-1))), in.k, in.v,
                                         m.defined() ? c10::optional<at::Tensor>(m) : c10::nullopt, dropout, causal_direct);
#else
  // attention_math reads 4-d masks as [B|1, H|1, Lq, Lk]: expand a key padding [B, 1, 1, Lk] (a view)
  if (m.defined() && m.size(2) != lq) m = m.expand({m.size(0), m.size(1), lq, lk});
  out = attention_math(in.q, in.k, in.v, m, sc, causal_direct, dropout, true);
#endif
  if (dead.defined()) out = out.masked_fill(dead, 0.0);
  return in.three_d ? out.squeeze(1) : out;
}

namespace {

// Multi-head attention through the memory-efficient path: q/k/v/out
// projections named as Mha's (q_proj, k_proj, v_proj, out_proj), so that the
// state of one loads into the other when both have biases.
struct FlashMha : LtModule {
  int64_t embed, heads;
  double dropout;
  bool bias;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  FlashMha(int64_t e, int64_t h, double p, bool b) : LtModule(LTS_M_FLASH), embed(e), heads(h), dropout(p), bias(b) {
    if (h <= 0 || e <= 0 || e % h != 0)
      throw std::invalid_argument("embed dimension " + std::to_string(e) + " must be a positive multiple of the head count " + std::to_string(h));
    check_dropout(p);
    auto lin = [&](const char *name) { return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(e, e).bias(b))); };
    q_proj = lin("q_proj");
    k_proj = lin("k_proj");
    v_proj = lin("v_proj");
    out_proj = lin("out_proj");
  }
  at::Tensor split(const at::Tensor &x) const {  // [B, L, E] -> [B, H, L, D]
    return x.view({x.size(0), x.size(1), heads, embed / heads}).transpose(1, 2);
  }
  at::Tensor run(const at::Tensor &q_in, const at::Tensor &k_in, const at::Tensor &v_in, const at::Tensor &mask, double p) {
    bool unbatched = q_in.dim() == 2;
    at::Tensor q = unbatched ? q_in.unsqueeze(0) : q_in, k = unbatched ? k_in.unsqueeze(0) : k_in, v = unbatched ? v_in.unsqueeze(0) : v_in;
    std::string want = "[batch, seq, " + std::to_string(embed) + "] or [seq, " + std::to_string(embed) + "]";
    if (q.dim() != 3 || q.size(-1) != embed) throw std::invalid_argument("attention query must be " + want + ", got " + shape_of(q_in));
    if (k.dim() != 3 || k.size(-1) != embed || k.size(0) != q.size(0))
      throw std::invalid_argument("attention key must be " + want + " with the query's batch, got " + shape_of(k_in));
    if (v.sizes() != k.sizes()) throw std::invalid_argument("attention value must have the key's shape " + shape_of(k_in) + ", got " + shape_of(v_in));
    at::Tensor o = flash_attention(split(linear(q_proj, q)), split(linear(k_proj, k)), split(linear(v_proj, v)), mask, c10::nullopt, false, p);
    o = linear(out_proj, o.transpose(1, 2).reshape({q.size(0), q.size(1), embed}));
    return unbatched ? o.squeeze(0) : o;
  }
  at::Tensor attend(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask) override {
    return run(q, k, v, mask, is_training() ? dropout : 0.0);
  }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &mask) override { return attend(x, x, x, mask); }
  std::string describe() const override {
    char p[32];
    snprintf(p, sizeof p, "%g", dropout);
    return "flash_attention(embed=" + std::to_string(embed) + ", heads=" + std::to_string(heads) + ", dropout=" + p +
           ", bias=" + (bias ? "True" : "False") + ")";
  }
};

}  // namespace
}  // namespace lts

using lts::T;
using lts::wrap;

extern "C" {

int lts_sdpa(lts_tensor *q, lts_tensor *k, lts_tensor *v, lts_tensor *mask, double dropout_p, int is_causal, double scale,
             int has_scale, lts_tensor **out) {
  LTS_OUT(lts::sdpa(T(q), T(k), T(v), lts::T_opt(mask), dropout_p, is_causal != 0,
                    has_scale ? c10::optional<double>(scale) : c10::nullopt))
}

int lts_flash_attention(lts_tensor *q, lts_tensor *k, lts_tensor *v, lts_tensor *mask, double scale, int has_scale,
                        int is_causal, double dropout_p, lts_tensor **out) {
  LTS_OUT(lts::flash_attention(T(q), T(k), T(v), lts::T_opt(mask),
                               has_scale ? c10::optional<double>(scale) : c10::nullopt, is_causal != 0, dropout_p))
}

int lts_flash_new(int64_t embed, int64_t heads, double dropout, int bias, lts_module **m) {
  LTS_TRY(*m = lts::wrap_module(std::make_shared<lts::FlashMha>(embed, heads, dropout, bias != 0)))
}

int lts_flash_attend(lts_module *m, lts_tensor *q, lts_tensor *k, lts_tensor *v, lts_tensor *mask, double dropout_p,
                     int training, lts_tensor **out) {
  LTS_TRY({
    auto *f = dynamic_cast<lts::FlashMha *>(m->mod.get());
    if (!f) throw std::invalid_argument("not a flash attention module");
    lts::check_dropout(dropout_p);
    *out = wrap(f->run(T(q), T(k), T(v), lts::T_opt(mask), training ? dropout_p : 0.0));
  })
}

int lts_flash_set_fused(int on) { return lts::g_fused.exchange(on != 0) ? 1 : 0; }

void lts_flash_set_blocks(int64_t q_block, int64_t k_block) {
  lts::g_qblock.store(q_block > 0 ? q_block : lts::kDefaultQBlock);
  lts::g_kblock.store(k_block > 0 ? k_block : lts::kDefaultKBlock);
}

}  // extern "C"
