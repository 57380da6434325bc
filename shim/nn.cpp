// nn.cpp - modules: MLP, linear, embedding, layer norm, multi-head attention,
// transformer block, positional encodings; state, devices, checkpointing.
#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include "nn_internal.h"

namespace lts {

static std::atomic<int64_t> live_modules{0};

at::Tensor LtModule::attend(const at::Tensor &, const at::Tensor &, const at::Tensor &, const at::Tensor &) {
  throw std::invalid_argument("a " + std::string(lts_module_kind_name(kind)) +
                              " module has no query/key/value attention");
}

lts_module *wrap_module(std::shared_ptr<LtModule> m) {
  auto *h = new lts_module();
  h->mod = std::move(m);
  live_modules.fetch_add(1);
  return h;
}

at::Tensor attention_mask(const at::Tensor &mask_in, int64_t batch, int64_t lq, int64_t lk) {
  at::Tensor m = mask_in;
  if (!at::isFloatingType(m.scalar_type()) && m.scalar_type() != at::kBool) m = m.ne(0);
  auto bad = [&] {
    std::string s = "attention mask of shape [";
    for (int64_t i = 0; i < m.dim(); i++) s += (i ? ", " : "") + std::to_string(m.size(i));
    return std::invalid_argument(s + "] does not fit batch " + std::to_string(batch) + ", query length " +
                                 std::to_string(lq) + ", key length " + std::to_string(lk));
  };
  switch (m.dim()) {
  case 2:  // [Lq, Lk] shared (as SDPA), else [B, Lk] key padding
    if (m.size(0) == lq && m.size(1) == lk) return m.view({1, 1, lq, lk});
    if (m.size(0) == batch && m.size(1) == lk) return m.view({batch, 1, 1, lk});
    throw bad();
  case 3:
    if (m.size(1) != lq || m.size(2) != lk) throw bad();
    return m.unsqueeze(1);
  case 4:
    if (m.size(2) != lq || m.size(3) != lk) throw bad();
    return m;
  default:
    throw bad();
  }
}

at::Tensor attention_math(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask,
                          double scale, bool causal, double dropout, bool training) {
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  int64_t lq = q.size(-2), lk = k.size(-2);
  if (causal) {
    auto keep = at::ones({lq, lk}, q.options().dtype(at::kBool)).tril(lk - lq);
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask.defined()) {
    at::Tensor m = attention_mask(mask, q.size(0), lq, lk);
    if (m.scalar_type() == at::kBool)
      scores = scores.masked_fill(m.logical_not(), -std::numeric_limits<double>::infinity());
    else
      scores = scores + m.to(scores.scalar_type());
  }
  at::Tensor p = at::softmax(scores, -1);
  // rows with every key masked give NaN in softmax: they attend to nothing
  if (mask.defined() || causal) p = at::nan_to_num(p, 0.0);
  if (dropout > 0 && training) p = at::dropout(p, dropout, true);
  return at::matmul(p, v);
}

// ---- the module kinds ----

// nn.Linear's initialisation, with the parameters named weight/bias
static void linear_params(torch::nn::Module &self, const std::string &prefix, int64_t in, int64_t out, bool bias,
                          at::Tensor &w, at::Tensor &b) {
  torch::nn::Linear init(torch::nn::LinearOptions(in, out).bias(bias));
  w = self.register_parameter(prefix + "weight", init->weight.detach().clone());
  if (bias) b = self.register_parameter(prefix + "bias", init->bias.detach().clone());
}

struct Linear : LtModule {
  int64_t in, out;
  at::Tensor weight, bias;
  Linear(int64_t i, int64_t o, bool b) : LtModule(LTS_M_LINEAR), in(i), out(o) { linear_params(*this, "", i, o, b, weight, bias); }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &) override { return at::linear(x, weight, bias); }
  std::string describe() const override {
    return "linear(in=" + std::to_string(in) + ", out=" + std::to_string(out) + ", bias=" + (bias.defined() ? "True" : "False") + ")";
  }
};

struct Mlp : LtModule {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Mlp(int64_t in, int64_t hidden, int64_t out) : LtModule(LTS_M_MLP) {
    fc1 = register_module("fc1", torch::nn::Linear(in, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, out));
  }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &) override { return linear(fc2, at::relu(linear(fc1, x))); }
  std::string describe() const override {
    return "mlp(in=" + std::to_string(fc1->options.in_features()) + ", hidden=" + std::to_string(fc1->options.out_features()) +
           ", out=" + std::to_string(fc2->options.out_features()) + ")";
  }
};

struct Embedding : LtModule {
  at::Tensor weight;
  Embedding(int64_t n, int64_t dim) : LtModule(LTS_M_EMBEDDING) {
    weight = register_parameter("weight", at::randn({n, dim}));
  }
  at::Tensor forward(const at::Tensor &ids, const at::Tensor &) override {
    if (at::isFloatingType(ids.scalar_type())) throw std::invalid_argument("embedding ids must be integers, got " + std::string(c10::toString(ids.scalar_type())));
    int64_t n = weight.size(0);
    if (ids.numel() > 0) {
      int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
      if (lo < 0 || hi >= n) throw std::out_of_range("embedding id " + std::to_string(lo < 0 ? lo : hi) + " is out of range [0, " + std::to_string(n) + ")");
    }
    return at::embedding(weight, ids.to(at::kLong));
  }
  std::string describe() const override {
    return "embedding(n=" + std::to_string(weight.size(0)) + ", dim=" + std::to_string(weight.size(1)) + ")";
  }
};

struct LayerNorm : LtModule {
  std::vector<int64_t> shape;
  double eps;
  at::Tensor weight, bias;
  LayerNorm(std::vector<int64_t> s, double e) : LtModule(LTS_M_LAYER_NORM), shape(std::move(s)), eps(e) {
    weight = register_parameter("weight", at::ones(shape));
    bias = register_parameter("bias", at::zeros(shape));
  }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &) override { return at::layer_norm(x, shape, weight, bias, eps); }
  std::string describe() const override {
    std::string s = "layer_norm(shape=[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "])";
  }
};

// Self/cross attention with separate q, k, v, out projections (biases), as
// nn.MultiheadAttention computes it; masks as attention_mask() describes.
struct Mha : LtModule {
  int64_t embed, heads;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  Mha(int64_t e, int64_t h) : LtModule(LTS_M_MHA), embed(e), heads(h) {
    if (h <= 0 || e % h != 0) throw std::invalid_argument("embed dimension " + std::to_string(e) + " must be a multiple of the head count " + std::to_string(h));
    q_proj = register_module("q_proj", torch::nn::Linear(e, e));
    k_proj = register_module("k_proj", torch::nn::Linear(e, e));
    v_proj = register_module("v_proj", torch::nn::Linear(e, e));
    out_proj = register_module("out_proj", torch::nn::Linear(e, e));
  }
  at::Tensor split(const at::Tensor &x) const {  // [B, L, E] -> [B, H, L, D]
    return x.view({x.size(0), x.size(1), heads, embed / heads}).transpose(1, 2);
  }
  at::Tensor attend(const at::Tensor &q_in, const at::Tensor &k_in, const at::Tensor &v_in, const at::Tensor &mask) override {
    bool unbatched = q_in.dim() == 2;
    at::Tensor q = unbatched ? q_in.unsqueeze(0) : q_in, k = unbatched ? k_in.unsqueeze(0) : k_in,
               v = unbatched ? v_in.unsqueeze(0) : v_in;
    if (q.dim() != 3 || q.size(-1) != embed)
      throw std::invalid_argument("attention input must be [batch, seq, " + std::to_string(embed) + "] or [seq, " + std::to_string(embed) + "]");
    at::Tensor o = attention_math(split(linear(q_proj, q)), split(linear(k_proj, k)), split(linear(v_proj, v)), mask,
                                  1.0 / std::sqrt((double)(embed / heads)), false, 0, is_training());
    o = o.transpose(1, 2).reshape({q.size(0), q.size(1), embed});
    o = linear(out_proj, o);
    return unbatched ? o.squeeze(0) : o;
  }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &mask) override { return attend(x, x, x, mask); }
  std::string describe() const override {
    return "multihead_attention(embed=" + std::to_string(embed) + ", heads=" + std::to_string(heads) + ")";
  }
};

// Post-norm encoder block as nn.TransformerEncoderLayer (ReLU, no dropout):
// x = norm1(x + attn(x)); x = norm2(x + linear2(relu(linear1(x))))
struct Block : LtModule {
  std::shared_ptr<Mha> self_attn;
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  int64_t ffn;
  Block(int64_t e, int64_t h, int64_t f) : LtModule(LTS_M_BLOCK), ffn(f) {
    self_attn = register_module("self_attn", std::make_shared<Mha>(e, h));
    linear1 = register_module("linear1", torch::nn::Linear(e, f));
    linear2 = register_module("linear2", torch::nn::Linear(f, e));
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({e})));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({e})));
  }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &mask) override {
    at::Tensor h = norm1(x + self_attn->forward(x, mask));
    return norm2(h + linear(linear2, at::relu(linear(linear1, h))));
  }
  std::string describe() const override {
    return "transformer_block(embed=" + std::to_string(self_attn->embed) + ", heads=" + std::to_string(self_attn->heads) +
           ", ffn=" + std::to_string(ffn) + ")";
  }
};

// Sinusoidal positions (Vaswani et al.): pe[pos, 2i] = sin(pos / 10000^(2i/d)), pe[pos, 2i+1] = cos(...)
struct PosEnc : LtModule {
  at::Tensor pe;
  PosEnc(int64_t d, int64_t max_len) : LtModule(LTS_M_POSENC) {
    at::Tensor pos = at::arange(max_len, at::kFloat).unsqueeze(1);
    at::Tensor div = at::exp(at::arange(0, d, 2, at::kFloat) * (-std::log(10000.0) / d));
    at::Tensor p = at::zeros({max_len, d});
    p.index_put_({at::indexing::Slice(), at::indexing::Slice(0, at::indexing::None, 2)}, at::sin(pos * div));
    p.index_put_({at::indexing::Slice(), at::indexing::Slice(1, at::indexing::None, 2)}, at::cos(pos * div).narrow(1, 0, d / 2));
    pe = register_buffer("pe", p);
  }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &) override {
    int64_t len = x.size(-2);
    if (len > pe.size(0)) throw std::out_of_range("sequence length " + std::to_string(len) + " exceeds max_len " + std::to_string(pe.size(0)));
    if (x.size(-1) != pe.size(1)) throw std::invalid_argument("last dimension " + std::to_string(x.size(-1)) + " must be d_model " + std::to_string(pe.size(1)));
    return x + pe.narrow(0, 0, len).to(x.scalar_type());
  }
  std::string describe() const override {
    return "positional_encoding(d_model=" + std::to_string(pe.size(1)) + ", max_len=" + std::to_string(pe.size(0)) + ")";
  }
};

// Rotary embedding as Llama/HF: inv_freq = 1 / base^(2i/dim); cos/sin of
// [seq, dim] with the frequencies repeated (cat(freqs, freqs)).
struct Rotary : LtModule {
  at::Tensor inv_freq;
  int64_t dim, max_seq;
  double base;
  Rotary(int64_t d, int64_t m, double b) : LtModule(LTS_M_ROTARY), dim(d), max_seq(m), base(b) {
    if (d <= 0 || d % 2) throw std::invalid_argument("rotary dimension must be even and positive, got " + std::to_string(d));
    inv_freq = register_buffer("inv_freq", 1.0 / at::pow(base, at::arange(0, d, 2, at::kDouble) / (double)d).to(at::kFloat));
  }
  std::pair<at::Tensor, at::Tensor> cos_sin(int64_t len, c10::optional<c10::Device> dev) {
    if (len < 0 || len > max_seq) throw std::out_of_range("sequence length " + std::to_string(len) + " exceeds max_seq_len " + std::to_string(max_seq));
    at::Tensor t = at::arange(len, inv_freq.options());
    at::Tensor freqs = at::outer(t, inv_freq);
    at::Tensor emb = at::cat({freqs, freqs}, -1);
    at::Tensor c = emb.cos(), s = emb.sin();
    if (dev) { c = c.to(*dev); s = s.to(*dev); }
    return {c, s};
  }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &) override {
    auto cs = cos_sin(x.size(-2), x.device());
    return x * cs.first.to(x.scalar_type()) + at::cat({-x.narrow(-1, dim / 2, dim / 2), x.narrow(-1, 0, dim / 2)}, -1) * cs.second.to(x.scalar_type());
  }
  std::string describe() const override {
    return "rotary_embedding(dim=" + std::to_string(dim) + ", max_seq_len=" + std::to_string(max_seq) + ", base=" + std::to_string((int64_t)base) + ")";
  }
};

// ---- activation checkpointing ----
// Forward runs without a graph and keeps only the inputs; backward runs the
// forward again with grad on and back-propagates through it (the reentrant
// scheme of torch.utils.checkpoint). A dummy input that requires grad makes
// sure backward reaches us even when x does not require grad.
struct ModuleHolder : torch::CustomClassHolder {
  std::shared_ptr<LtModule> m;
  explicit ModuleHolder(std::shared_ptr<LtModule> p) : m(std::move(p)) {}
};

// mask is an empty placeholder when has_mask is false (libtorch 1.13's
// Function::apply reads the device of every tensor input: undefined throws).
// The CPU generator's state is kept so that the recomputation draws the same
// random numbers (dropout) as the forward did, as torch.utils.checkpoint's
// preserve_rng_state.
struct CheckpointFn : torch::autograd::Function<CheckpointFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext *ctx, at::Tensor x, at::Tensor mask,
                                                at::Tensor dummy, c10::intrusive_ptr<ModuleHolder> holder, bool has_mask) {
    if (!has_mask) mask = at::Tensor();
    {
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      ctx->saved_data["rng"] = gen.get_state();
    }
    ctx->saved_data["holder"] = c10::IValue::make_capsule(holder);
    ctx->saved_data["has_mask"] = mask.defined();
    ctx->save_for_backward({x, mask.defined() ? mask : at::Tensor()});
    at::NoGradGuard no_grad;
    return {holder->m->forward(x, mask)};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto holder = c10::static_intrusive_pointer_cast<ModuleHolder>(ctx->saved_data["holder"].toCapsule());
    at::Tensor x = saved[0].detach().requires_grad_(saved[0].requires_grad());
    at::Tensor mask = ctx->saved_data["has_mask"].toBool() ? saved[1] : at::Tensor();
    at::Tensor out;
    {
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      at::Tensor now;
      {
        std::lock_guard<std::mutex> lock(gen.mutex());
        now = gen.get_state();
        gen.set_state(ctx->saved_data["rng"].toTensor());
      }
      struct Restore {
        at::Generator &g;
        at::Tensor &s;
        ~Restore() {
          std::lock_guard<std::mutex> lock(g.mutex());
          g.set_state(s);
        }
      } restore{gen, now};
      at::AutoGradMode enable(true);
      out = holder->m->forward(x, mask);
    }
    torch::autograd::backward({out}, {grads[0]});
    return {x.requires_grad() ? x.grad() : at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor checkpointed_forward(const std::shared_ptr<LtModule> &m, const at::Tensor &x, const at::Tensor &mask) {
  if (!at::GradMode::is_enabled()) return m->forward(x, mask);
  at::Tensor dummy = at::empty({0}, x.options().dtype(at::kFloat)).requires_grad_(true);
  return CheckpointFn::apply(x, mask.defined() ? mask : at::empty({0}, x.options()), dummy,
                            c10::make_intrusive<ModuleHolder>(m), mask.defined())[0];
}

// A linear layer with a low-rank adapter (LoRA): x Wᵀ + b + scaling · (x Aᵀ) Bᵀ,
// A [r, in] as nn.Linear's initialisation, B [out, r] zero, scaling = alpha / r.
// W and b are buffers (frozen): the module's parameters are A and B only.
// Made from an existing linear layer it shares that layer's tensors, so a
// merge (W += scaling · B A) shows in both, as PEFT's merge does.
struct LoraLinear : LtModule {
  int64_t rank;
  double alpha, scaling;
  bool merged = false;
  at::Tensor weight, bias, A, B;
  LoraLinear(at::Tensor w, at::Tensor b, int64_t r, double a) : LtModule(LTS_M_LORA), rank(r), alpha(a), scaling(a / (double)r) {
    if (r <= 0) throw std::invalid_argument("LoRA rank must be positive, got " + std::to_string(r));
    if (!(a > 0)) throw std::invalid_argument("LoRA alpha must be positive");
    if (r > std::min(w.size(0), w.size(1)))
      throw std::invalid_argument("LoRA rank " + std::to_string(r) + " exceeds the layer's dimensions " + c10::str(w.sizes()));
    weight = register_buffer("weight", w.detach());
    if (b.defined()) bias = register_buffer("bias", b.detach());
    double bound = 1.0 / std::sqrt((double)w.size(1));
    at::NoGradGuard nograd;
    // U(-bound, bound) through rand: uniform_'s default generator argument
    // trips GCC's -Wmaybe-uninitialized in sanitizer builds
    A = register_parameter("lora_A", at::rand({r, w.size(1)}, w.options()) * (2 * bound) - bound);
    B = register_parameter("lora_B", at::zeros({w.size(0), r}, w.options()));
  }
  at::Tensor delta() const { return at::matmul(B, A) * scaling; }
  at::Tensor forward(const at::Tensor &x, const at::Tensor &) override {
    at::Tensor y = at::linear(x, weight, bias);
    return merged ? y : y + at::linear(at::linear(x, A), B) * scaling;
  }
  std::string describe() const override {
    char a[32];
    snprintf(a, sizeof a, "%g", alpha);
    return "lora_linear(in=" + std::to_string(weight.size(1)) + ", out=" + std::to_string(weight.size(0)) + ", rank=" +
           std::to_string(rank) + ", alpha=" + a + (merged ? ", merged" : "") + ")";
  }
};

at::Tensor lora_delta(LtModule &m) { return static_cast<LoraLinear &>(m).delta(); }

LoraLinear &lora_of(lts_module *m) {
  if (m->mod->kind != LTS_M_LORA)
    throw std::invalid_argument("a " + std::string(lts_module_kind_name(m->mod->kind)) + " module is not a LoRA layer");
  return static_cast<LoraLinear &>(*m->mod);
}

template <class T, class... A>
static int make(lts_module **out, A... a) {
  LTS_TRY(*out = wrap_module(std::make_shared<T>(a...)))
}

}  // namespace lts

using lts::T;
using lts::wrap;

extern "C" {

void lts_module_free(lts_module *m) {
  if (!m) return;
  if (m->refs.fetch_sub(1) == 1) {
    delete m;
    lts::live_modules.fetch_sub(1);
  }
}

int lts_module_ref(lts_module *m, lts_module **out) {
  m->refs.fetch_add(1);
  *out = m;
  return 0;
}

int lts_module_share(lts_module *m, lts_module **out) {
  LTS_TRY(*out = lts::wrap_module(m->mod))
}

int64_t lts_live_modules(void) { return lts::live_modules.load(); }
lts_module_kind lts_module_kind_of(lts_module *m) { return m->mod->kind; }

const char *lts_module_kind_name(lts_module_kind k) {
  static const char *names[LTS_M_COUNT] = {"mlp", "linear", "embedding", "layer_norm", "multihead_attention",
                                           "transformer_block", "positional_encoding", "rotary_embedding",
                                           "flash_attention", "lora_linear"};
  return (unsigned)k < LTS_M_COUNT ? names[k] : "module";
}

void lts_module_describe(lts_module *m, char *buf, size_t n) {
  std::string s = m->mod->describe();
  snprintf(buf, n, "%s", s.c_str());
}

int lts_lora_linear_new(int64_t in, int64_t out, int64_t rank, double alpha, lts_module **m) {
  LTS_TRY({
    if (in <= 0 || out <= 0) throw std::invalid_argument("LoRA layer sizes must be positive");
    torch::nn::Linear base(in, out);
    *m = lts::wrap_module(std::make_shared<lts::LoraLinear>(base->weight, base->bias, rank, alpha));
  })
}

int lts_lora_from_linear(lts_module *linear, int64_t rank, double alpha, lts_module **m) {
  LTS_TRY({
    if (linear->mod->kind != LTS_M_LINEAR)
      throw std::invalid_argument("a " + std::string(lts_module_kind_name(linear->mod->kind)) + " module is not a linear layer");
    auto &l = static_cast<lts::Linear &>(*linear->mod);
    l.weight.set_requires_grad(false);  // frozen, as PEFT freezes the base layer
    if (l.bias.defined()) l.bias.set_requires_grad(false);
    *m = lts::wrap_module(std::make_shared<lts::LoraLinear>(l.weight, l.bias, rank, alpha));
  })
}

int lts_lora_merge(lts_module *m) {
  LTS_TRY({
    auto &l = lts::lora_of(m);
    if (l.merged) throw std::invalid_argument("the LoRA layer is already merged");
    at::NoGradGuard nograd;
    l.weight.add_(l.delta());
    l.merged = true;
  })
}

int lts_lora_delta(lts_module *m, lts_tensor **out) { LTS_OUT(lts::lora_of(m).delta()) }

int lts_lora_magnitude(lts_module *m, double *out) {
  LTS_TRY({
    auto &l = lts::lora_of(m);
    at::NoGradGuard nograd;
    double w = l.weight.norm().item<double>();
    *out = w > 0 ? l.delta().norm().item<double>() / w : 0.0;
  })
}

int lts_lora_layer_info(lts_module *m, int64_t *rank, double *alpha, int *merged) {
  LTS_TRY({
    auto &l = lts::lora_of(m);
    *rank = l.rank;
    *alpha = l.alpha;
    *merged = l.merged;
  })
}

int lts_lora_set_adapters(lts_module *m, lts_tensor *a, lts_tensor *b) {
  LTS_TRY({
    auto &l = lts::lora_of(m);
    if (l.merged) throw std::invalid_argument("the LoRA layer is merged: its adapters cannot change");
    const at::Tensor &na = T(a), &nb = T(b);
    if (na.sizes() != l.A.sizes() || nb.sizes() != l.B.sizes())
      throw std::invalid_argument("adapters of shapes " + c10::str(na.sizes()) + " and " + c10::str(nb.sizes()) + " do not fit lora_A " +
                                  c10::str(l.A.sizes()) + " and lora_B " + c10::str(l.B.sizes()));
    at::NoGradGuard nograd;
    l.A.copy_(na);
    l.B.copy_(nb);
  })
}

int lts_mlp_new(int64_t in, int64_t hidden, int64_t out, lts_module **m) { return lts::make<lts::Mlp>(m, in, hidden, out); }
int lts_linear_new(int64_t in, int64_t out, int bias, lts_module **m) { return lts::make<lts::Linear>(m, in, out, bias != 0); }
int lts_embedding_new(int64_t n, int64_t dim, lts_module **m) { return lts::make<lts::Embedding>(m, n, dim); }
int lts_layer_norm_new(const int64_t *shape, int nd, double eps, lts_module **m) {
  return lts::make<lts::LayerNorm>(m, std::vector<int64_t>(shape, shape + nd), eps);
}
int lts_mha_new(int64_t embed, int64_t heads, lts_module **m) { return lts::make<lts::Mha>(m, embed, heads); }
int lts_block_new(int64_t embed, int64_t heads, int64_t ffn, lts_module **m) { return lts::make<lts::Block>(m, embed, heads, ffn); }
int lts_posenc_new(int64_t d, int64_t max_len, lts_module **m) {
  if (d <= 0 || max_len <= 0) { lts::set_error("d_model and max_len must be positive"); return 1; }
  return lts::make<lts::PosEnc>(m, d, max_len);
}
int lts_rotary_new(int64_t dim, int64_t max_seq, double base, lts_module **m) { return lts::make<lts::Rotary>(m, dim, max_seq, base); }

int lts_module_to(lts_module *m, int dt, const char *device) {
  LTS_TRY({
    if (!M(m).quantized.empty() && ((device && *device && c10::Device(std::string(device)) != at::kCPU) || dt >= 0))
      throw std::invalid_argument("a quantized module stays on the CPU in its dtype");
    if (device && *device) M(m).to(c10::Device(std::string(device)));
    if (dt >= 0) M(m).to(lts::to_scalar((lt_dtype)dt));
  })
}

int lts_module_forward(lts_module *m, lts_tensor *x, lts_tensor *mask, lts_tensor **out) {
  LTS_TRY({
    at::Tensor mk = lts::T_opt(mask);
    lts::Dequantized dq(M(m));
    at::Tensor in = dq.input(T(x));
    *out = wrap(m->checkpoint ? lts::checkpointed_forward(m->mod, in, mk) : M(m).forward(in, mk));
  })
}

int lts_attention_forward(lts_module *m, lts_tensor *q, lts_tensor *k, lts_tensor *v, lts_tensor *mask, lts_tensor **out) {
  LTS_TRY({
    lts::Dequantized dq(M(m));
    *out = wrap(M(m).attend(dq.input(T(q)), dq.input(T(k)), dq.input(T(v)), lts::T_opt(mask)));
  })
}

// every 2-d weight: int8 per output channel, symmetric (scale max|w| / 127)
int lts_module_quantize(lts_module *m, int64_t *before, int64_t *after) {
  LTS_TRY({
    lts::LtModule &mod = M(m);
    if (!mod.quantized.empty()) throw std::invalid_argument("the module is already quantized");
    if (m->checkpoint) throw std::invalid_argument("a checkpointed module cannot be quantized");
    int64_t b = 0, a = 0;
    std::vector<std::pair<at::Tensor, at::Tensor>> q;
    for (auto &p : mod.named_parameters()) {
      at::Tensor w = p.value();
      const std::string &k = p.key();
      bool weight = k.size() >= 6 && k.compare(k.size() - 6, 6, "weight") == 0;  // weight, fc1.weight, in_proj_weight
      if (w.dim() != 2 || !weight || !at::isFloatingType(w.scalar_type()) || !w.device().is_cpu()) continue;
      at::Tensor wd = w.detach().to(at::kFloat);
      at::Tensor scales = (wd.abs().amax(1) / 127.0).clamp_min(1e-12).to(at::kDouble);
      at::Tensor zeros = at::zeros({wd.size(0)}, at::kLong);
      b += w.numel() * (int64_t)w.element_size();
      a += w.numel() + scales.numel() * 8;  // one byte a value, a double scale a row
      q.emplace_back(w, at::quantize_per_channel(wd, scales, zeros, 0, at::kQInt8));
    }
    if (q.empty()) throw std::invalid_argument("the module has no linear weights to quantize");
    for (auto &e : q) {
      e.first.set_requires_grad(false);
      e.first.set_data(at::empty({0}, e.first.options()));
    }
    mod.quantized = std::move(q);
    *before = b;
    *after = a;
  })
}

int lts_module_calibrate(lts_module *m, lts_tensor *const *xs, int64_t n) {
  LTS_TRY({
    lts::LtModule &mod = M(m);
    if (n <= 0) throw std::invalid_argument("calibration needs at least one input");
    double lo = 0, hi = 0;  // the range always holds 0
    for (int64_t i = 0; i < n; i++) {
      const at::Tensor &x = T(xs[i]);
      if (!at::isFloatingType(x.scalar_type())) throw std::invalid_argument("calibration inputs must be floating point tensors");
      if (x.numel()) {
        lo = std::min(lo, x.min().item<double>());
        hi = std::max(hi, x.max().item<double>());
      }
    }
    double scale = (hi - lo) / 255.0;
    mod.in_scale = scale > 0 ? scale : 1.0;
    mod.in_zero_point = std::max<int64_t>(0, std::min<int64_t>(255, (int64_t)std::nearbyint(-lo / mod.in_scale)));
  })
}

int lts_rotary_forward(lts_module *m, int64_t seq_len, const char *device, lts_tensor **cos, lts_tensor **sin) {
  LTS_TRY({
    auto *r = dynamic_cast<lts::Rotary *>(m->mod.get());
    if (!r) throw std::invalid_argument("not a rotary embedding");
    auto cs = r->cos_sin(seq_len, device && *device ? c10::optional<c10::Device>(c10::Device(std::string(device))) : c10::nullopt);
    *cos = wrap(cs.first);
    *sin = wrap(cs.second);
  })
}

int lts_apply_rotary(lts_tensor *t, lts_tensor *cos, lts_tensor *sin, lts_tensor **out) {
  LTS_TRY({
    const at::Tensor &x = T(t);
    int64_t d = x.size(-1);
    if (d % 2) throw std::invalid_argument("the last dimension must be even, got " + std::to_string(d));
    at::Tensor rot = at::cat({-x.narrow(-1, d / 2, d / 2), x.narrow(-1, 0, d / 2)}, -1);
    *out = wrap(x * T(cos) + rot * T(sin));
  })
}

int lts_module_parameters(lts_module *m, lts_tensor ***ts, int64_t *n) {
  LTS_TRY({
    auto p = M(m).parameters();
    *ts = lts::tensor_array(p);
    *n = (int64_t)p.size();
  })
}

int lts_module_state(lts_module *m, char ***names, lts_tensor ***ts, int64_t *n) {
  LTS_TRY({
    std::vector<std::string> keys;
    std::vector<at::Tensor> vals;
    // a quantized weight reads as its dequantized values (a copy)
    std::map<const c10::TensorImpl *, at::Tensor> deq;
    for (auto &q : M(m).quantized) deq[q.first.unsafeGetTensorImpl()] = q.second.dequantize();
    for (auto &p : M(m).named_parameters()) {
      keys.push_back(p.key());
      auto it = deq.find(p.value().unsafeGetTensorImpl());
      vals.push_back(it == deq.end() ? p.value() : it->second);
    }
    for (auto &b : M(m).named_buffers()) { keys.push_back(b.key()); vals.push_back(b.value()); }
    *ts = lts::tensor_array(vals);
    *n = (int64_t)vals.size();
    *names = lts::string_array(keys);
  })
}

int lts_module_load_state(lts_module *m, char *const *names, lts_tensor *const *ts, int64_t n) {
  LTS_TRY({
    if (!M(m).quantized.empty()) throw std::invalid_argument("a quantized module cannot take new weights");
    std::map<std::string, at::Tensor> own;
    for (auto &p : M(m).named_parameters()) own[p.key()] = p.value();
    for (auto &b : M(m).named_buffers()) own[b.key()] = b.value();
    // check everything first: a failed load leaves the module untouched
    std::set<std::string> given;
    for (int64_t i = 0; i < n; i++) {
      auto it = own.find(names[i]);
      if (it == own.end()) throw std::invalid_argument(std::string("unexpected key \"") + names[i] + "\" for a " + M(m).describe());
      if (it->second.sizes() != T(ts[i]).sizes())
        throw std::invalid_argument(std::string("shape mismatch for \"") + names[i] + "\": the module has " +
                                    c10::str(it->second.sizes()) + ", the state has " + c10::str(T(ts[i]).sizes()));
      given.insert(names[i]);
    }
    for (auto &kv : own)
      if (!given.count(kv.first)) throw std::invalid_argument("missing key \"" + kv.first + "\" for a " + M(m).describe());
    at::NoGradGuard no_grad;
    for (int64_t i = 0; i < n; i++) own[names[i]].copy_(T(ts[i]));
  })
}

int lts_module_train(lts_module *m, int training) { LTS_TRY(M(m).train(training != 0)) }
int lts_module_is_training(lts_module *m) { return M(m).is_training(); }
int lts_module_set_checkpointing(lts_module *m, int on) {
  m->checkpoint = on != 0;
  return 0;
}
int lts_module_checkpointing(lts_module *m) { return m->checkpoint; }

}  // extern "C"
