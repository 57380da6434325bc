// optim.cpp - autograd entry points, losses, optimizers, gradient clipping,
// and checkpoint archives (module + optimizer state + epoch).
#include <cstdio>
#include "nn_internal.h"

struct lts_optimizer {
  std::unique_ptr<torch::optim::Optimizer> opt;
  lts_opt_kind kind;
  lts_opt_config cfg;
  std::atomic<int> refs{1};
};

namespace lts {

static std::vector<at::Tensor> tensors(lts_tensor *const *ts, int64_t n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int64_t i = 0; i < n; i++) {
    const at::Tensor &t = T(ts[i]);
    if (!t.is_leaf())
      throw std::invalid_argument("parameter " + std::to_string(i + 1) + " is not a leaf tensor (it is computed from others); an optimizer needs leaves");
    if (!at::isFloatingType(t.scalar_type()))
      throw std::invalid_argument("parameter " + std::to_string(i + 1) + " is not a floating-point tensor");
    v.push_back(t);
  }
  return v;
}

static std::unique_ptr<torch::optim::OptimizerOptions> options_for(lts_opt_kind kind, const lts_opt_config &c) {
  switch (kind) {
  case LTS_OPT_SGD:
    return std::make_unique<torch::optim::SGDOptions>(
        torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay).nesterov(c.nesterov != 0));
  case LTS_OPT_ADAM:
    return std::make_unique<torch::optim::AdamOptions>(
        torch::optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay));
  case LTS_OPT_ADAMW:
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay));
  }
  throw std::invalid_argument("unknown optimizer kind");
}

static void set_weight_decay(torch::optim::OptimizerOptions &o, lts_opt_kind kind, double wd) {
  switch (kind) {
  case LTS_OPT_SGD: static_cast<torch::optim::SGDOptions &>(o).weight_decay(wd); break;
  case LTS_OPT_ADAM: static_cast<torch::optim::AdamOptions &>(o).weight_decay(wd); break;
  case LTS_OPT_ADAMW: static_cast<torch::optim::AdamWOptions &>(o).weight_decay(wd); break;
  }
}

// write path + ".tmp", then rename: a crash never leaves half a file under the real name
static void save_atomically(torch::serialize::OutputArchive &ar, const std::string &path) {
  std::string tmp = path + ".tmp";
  try {
    ar.save_to(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
}

}  // namespace lts

using lts::T;
using lts::wrap;

extern "C" {

int lts_backward(lts_tensor *loss, int retain_graph, int create_graph) {
  LTS_TRY({
    const at::Tensor &l = T(loss);
    if (!l.requires_grad()) throw std::invalid_argument("the loss does not require grad: no tensor it comes from has requires_grad, or grad was disabled");
    if (l.numel() != 1) throw std::invalid_argument("backward needs a single-element loss, got " + std::to_string(l.numel()) + " elements");
    l.backward({}, retain_graph || create_graph ? c10::optional<bool>(retain_graph != 0 || create_graph != 0) : c10::nullopt, create_graph != 0);
  })
}

int lts_set_grad_enabled(int on) {
  at::GradMode::set_enabled(on != 0);
  return 0;
}
int lts_is_grad_enabled(void) { return at::GradMode::is_enabled(); }

int lts_mse_loss(lts_tensor *pred, lts_tensor *target, lts_tensor **out) {
  LTS_TRY({
    const at::Tensor &p = T(pred), &t = T(target);
    if (p.sizes() != t.sizes())
      throw std::invalid_argument("predictions " + c10::str(p.sizes()) + " and targets " + c10::str(t.sizes()) + " must have the same shape");
    *out = wrap(at::mse_loss(p, t.to(p.scalar_type())));
  })
}

int lts_cross_entropy(lts_tensor *logits, lts_tensor *targets, int64_t ignore_index, lts_tensor **out) {
  LTS_TRY({
    at::Tensor x = T(logits), y = T(targets);
    if (x.dim() < 1) throw std::invalid_argument("logits must have a class dimension");
    if (!at::isFloatingType(y.scalar_type())) {
      // class indices: [..., C] with [...] -> flatten both (sequence models)
      if (x.dim() > 2 || (x.dim() == 2 && y.dim() == 2)) {
        x = x.reshape({-1, x.size(-1)});
        y = y.reshape({-1});
      }
      if (x.dim() == 2 && y.size(0) != x.size(0))
        throw std::invalid_argument("logits have " + std::to_string(x.size(0)) + " rows but targets have " + std::to_string(y.size(0)));
      y = y.to(at::kLong);
      int64_t C = x.size(-1);
      at::Tensor valid = y.ne(ignore_index);
      if (valid.any().item<bool>()) {
        at::Tensor yv = y.masked_select(valid);
        int64_t lo = yv.min().item<int64_t>(), hi = yv.max().item<int64_t>();
        if (lo < 0 || hi >= C) throw std::out_of_range("target class " + std::to_string(lo < 0 ? lo : hi) + " is out of range [0, " + std::to_string(C) + ")");
      }
    }
    *out = wrap(at::cross_entropy_loss(x, y, {}, at::Reduction::Mean, ignore_index));
  })
}

void lts_opt_defaults(lts_opt_kind kind, double lr, lts_opt_config *c) {
  memset(c, 0, sizeof *c);
  c->lr = lr;
  c->beta1 = 0.9;
  c->beta2 = 0.999;
  c->eps = 1e-8;
  c->weight_decay = kind == LTS_OPT_ADAMW ? 0.01 : 0.0;
}

int lts_optimizer_new(lts_opt_kind kind, const lts_opt_config *c, lts_tensor *const *params, int64_t n, lts_optimizer **out) {
  LTS_TRY({
    if (!(c->lr >= 0)) throw std::invalid_argument("learning rate must be non-negative");
    auto params_v = lts::tensors(params, n);
    auto o = std::make_unique<lts_optimizer>();
    o->kind = kind;
    o->cfg = *c;
    auto opts = lts::options_for(kind, *c);
    switch (kind) {
    case LTS_OPT_SGD: o->opt = std::make_unique<torch::optim::SGD>(params_v, static_cast<torch::optim::SGDOptions &>(*opts)); break;
    case LTS_OPT_ADAM: o->opt = std::make_unique<torch::optim::Adam>(params_v, static_cast<torch::optim::AdamOptions &>(*opts)); break;
    case LTS_OPT_ADAMW: o->opt = std::make_unique<torch::optim::AdamW>(params_v, static_cast<torch::optim::AdamWOptions &>(*opts)); break;
    }
    *out = o.release();
  })
}

void lts_optimizer_free(lts_optimizer *o) {
  if (o && o->refs.fetch_sub(1) == 1) delete o;
}

int lts_optimizer_ref(lts_optimizer *o, lts_optimizer **out) {
  o->refs.fetch_add(1);
  *out = o;
  return 0;
}

int lts_optimizer_add_params(lts_optimizer *o, lts_tensor *const *params, int64_t n, double lr, double weight_decay) {
  LTS_TRY({
    auto v = lts::tensors(params, n);
    if (v.empty()) throw std::invalid_argument("no parameters to add");
    // as PyTorch: a tensor may belong to one group only (else it is updated twice)
    std::set<const void *> seen;
    for (auto &g : o->opt->param_groups())
      for (auto &p : g.params()) seen.insert(p.unsafeGetTensorImpl());
    for (auto &t : v)
      if (!seen.insert(t.unsafeGetTensorImpl()).second)
        throw std::invalid_argument("some parameters appear in more than one parameter group");
    auto opts = o->opt->defaults().clone();
    if (lr >= 0) opts->set_lr(lr);
    if (weight_decay >= 0) lts::set_weight_decay(*opts, o->kind, weight_decay);
    // an optimizer made without parameters starts with one empty group: fill it
    auto &groups = o->opt->param_groups();
    if (groups.size() == 1 && groups[0].params().empty() && lr < 0 && weight_decay < 0)
      groups[0].params() = v;
    else
      o->opt->add_param_group(torch::optim::OptimizerParamGroup(v, std::move(opts)));
  })
}

int lts_optimizer_step(lts_optimizer *o) { LTS_TRY(o->opt->step()) }
int lts_optimizer_zero_grad(lts_optimizer *o) {
  // as PyTorch 2.x (set_to_none): no stale zero tensors between steps
  LTS_TRY(for (auto &g : o->opt->param_groups()) for (auto &p : g.params()) if (p.grad().defined()) p.mutable_grad() = at::Tensor())
}

int64_t lts_optimizer_param_count(lts_optimizer *o) {
  int64_t n = 0;
  for (auto &g : o->opt->param_groups()) n += (int64_t)g.params().size();
  return n;
}

lts_opt_kind lts_optimizer_kind(lts_optimizer *o) { return o->kind; }
double lts_optimizer_get_lr(lts_optimizer *o) { return o->opt->param_groups()[0].options().get_lr(); }
int lts_optimizer_set_lr(lts_optimizer *o, double lr) {
  LTS_TRY(for (auto &g : o->opt->param_groups()) g.options().set_lr(lr))
}

int lts_optimizer_parameters(lts_optimizer *o, lts_tensor ***ts, int64_t *n) {
  LTS_TRY({
    std::vector<at::Tensor> v;
    for (auto &g : o->opt->param_groups())
      for (auto &p : g.params()) v.push_back(p);
    *ts = (lts_tensor **)malloc(sizeof(lts_tensor *) * (v.size() ? v.size() : 1));
    for (size_t i = 0; i < v.size(); i++) (*ts)[i] = wrap(v[i]);
    *n = (int64_t)v.size();
  })
}

int lts_clip_grad_norm(lts_tensor *const *params, int64_t n, double max_norm, double *total) {
  LTS_TRY({
    std::vector<at::Tensor> v;
    for (int64_t i = 0; i < n; i++) v.push_back(T(params[i]));
    *total = torch::nn::utils::clip_grad_norm_(v, max_norm);
  })
}

int lts_save_checkpoint(const char *path, lts_module *m, lts_optimizer *o, int64_t epoch) {
  LTS_TRY({
    torch::serialize::OutputArchive ar;
    if (m) {
      lts::Dequantized dq(M(m));  // a quantized module is saved with its dequantized weights
      torch::serialize::OutputArchive ma;
      M(m).save(ma);
      ar.write("model", ma);
      ar.write("model_kind", at::tensor((int64_t)M(m).kind));
    }
    if (o) {
      torch::serialize::OutputArchive oa;
      o->opt->save(oa);
      ar.write("optimizer", oa);
      ar.write("optimizer_kind", at::tensor((int64_t)o->kind));
    }
    if (epoch >= 0) ar.write("epoch", at::tensor(epoch));
    lts::save_atomically(ar, path);
  })
}


}  // extern "C"

// ==== checked checkpoint reading (section 8, used by src/persist/) ====
// Module::load / Optimizer::load (which an earlier loader used)
// which copy as they read: a mismatch half-way leaves a half-loaded module
// (and Module::load replaces a parameter of another shape without a word).
// lts_checkpoint_read reads and checks everything first, then commits.
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

namespace lts {
namespace ckpt {

// the tensors of an archive written by Module::save, by dotted name
static void collect(torch::serialize::InputArchive &ar, const std::string &prefix, std::vector<std::string> &names,
                    std::vector<at::Tensor> &ts, int depth) {
  if (depth > 64) throw std::runtime_error("module archive nested too deeply");
  for (const auto &k : ar.keys()) {
    at::Tensor t;
    if (ar.try_read(k, t)) {
      names.push_back(prefix + k);
      ts.push_back(t.detach());
      continue;
    }
    torch::serialize::InputArchive sub;
    if (ar.try_read(k, sub)) collect(sub, prefix + k + ".", names, ts, depth + 1);
  }
}

// the optimizer's state entry of parameter p (the key type differs between
// libtorch 1.x, a printed pointer, and 2.x, the pointer itself)
template <class Map>
static auto find_state(Map &m, const at::Tensor &p) -> decltype(m.begin()) {
  using K = typename std::decay<Map>::type::key_type;
  if constexpr (std::is_same<K, std::string>::value) {
    std::ostringstream os;
    os << (const void *)p.unsafeGetTensorImpl();
    return m.find(os.str());
  } else {
    return m.find(reinterpret_cast<K>(p.unsafeGetTensorImpl()));
  }
}

// a state tensor must have its parameter's shape; moved to its device/dtype
static at::Tensor fit(const at::Tensor &s, const at::Tensor &p, const char *what, size_t i) {
  if (!s.defined()) return s;
  if (s.sizes() != p.sizes())
    throw std::invalid_argument("optimizer state " + std::string(what) + " of parameter " + std::to_string(i + 1) + " has shape " +
                                c10::str(s.sizes()) + ", the parameter has " + c10::str(p.sizes()));
  return s.to(p.device(), at::isFloatingType(s.scalar_type()) ? p.scalar_type() : s.scalar_type());
}

static void fit_state(torch::optim::OptimizerParamState &st, lts_opt_kind kind, const at::Tensor &p, size_t i) {
  switch (kind) {
  case LTS_OPT_SGD: {
    auto &s = static_cast<torch::optim::SGDParamState &>(st);
    s.momentum_buffer(fit(s.momentum_buffer(), p, "momentum_buffer", i));
    break;
  }
  case LTS_OPT_ADAM: {
    auto &s = static_cast<torch::optim::AdamParamState &>(st);
    s.exp_avg(fit(s.exp_avg(), p, "exp_avg", i));
    s.exp_avg_sq(fit(s.exp_avg_sq(), p, "exp_avg_sq", i));
    s.max_exp_avg_sq(fit(s.max_exp_avg_sq(), p, "max_exp_avg_sq", i));
    break;
  }
  case LTS_OPT_ADAMW: {
    auto &s = static_cast<torch::optim::AdamWParamState &>(st);
    s.exp_avg(fit(s.exp_avg(), p, "exp_avg", i));
    s.exp_avg_sq(fit(s.exp_avg_sq(), p, "exp_avg_sq", i));
    s.max_exp_avg_sq(fit(s.max_exp_avg_sq(), p, "max_exp_avg_sq", i));
    break;
  }
  }
}

using SavedGroups = std::vector<std::pair<std::vector<std::string>, std::unique_ptr<torch::optim::OptimizerOptions>>>;

// A scratch optimizer over o's parameters, loaded from the archive and
// checked; its state and the stored group options are committed to o later.
static std::unique_ptr<torch::optim::Optimizer> stage_optimizer(lts_optimizer *o, torch::serialize::InputArchive &oa,
                                                                SavedGroups &saved) {
  torch::serialize::InputArchive pga;
  if (!oa.try_read("param_groups", pga)) throw std::invalid_argument("the optimizer state has no parameter groups");
  switch (o->kind) {
  case LTS_OPT_SGD: torch::optim::detail::serialize<torch::optim::SGDOptions>(pga, saved); break;
  case LTS_OPT_ADAM: torch::optim::detail::serialize<torch::optim::AdamOptions>(pga, saved); break;
  case LTS_OPT_ADAMW: torch::optim::detail::serialize<torch::optim::AdamWOptions>(pga, saved); break;
  }
  auto &groups = o->opt->param_groups();
  if (saved.size() != groups.size())
    throw std::invalid_argument("the checkpoint has " + std::to_string(saved.size()) + " parameter group(s), the optimizer " +
                                std::to_string(groups.size()));
  std::vector<torch::optim::OptimizerParamGroup> copy;
  for (size_t i = 0; i < groups.size(); i++) {
    if (saved[i].first.size() != groups[i].params().size())
      throw std::invalid_argument("parameter group " + std::to_string(i + 1) + " holds " + std::to_string(saved[i].first.size()) +
                                  " tensors in the checkpoint, " + std::to_string(groups[i].params().size()) + " in the optimizer");
    copy.emplace_back(groups[i].params(), groups[i].options().clone());
  }
  std::unique_ptr<torch::optim::Optimizer> tmp;
  switch (o->kind) {
  case LTS_OPT_SGD:
    tmp = std::make_unique<torch::optim::SGD>(copy, static_cast<const torch::optim::SGDOptions &>(o->opt->defaults()));
    break;
  case LTS_OPT_ADAM:
    tmp = std::make_unique<torch::optim::Adam>(copy, static_cast<const torch::optim::AdamOptions &>(o->opt->defaults()));
    break;
  case LTS_OPT_ADAMW:
    tmp = std::make_unique<torch::optim::AdamW>(copy, static_cast<const torch::optim::AdamWOptions &>(o->opt->defaults()));
    break;
  }
  tmp->load(oa);
  size_t found = 0, i = 0;
  for (auto &g : tmp->param_groups())
    for (auto &p : g.params()) {
      auto it = find_state(tmp->state(), p);
      if (it != tmp->state().end()) {
        fit_state(*it->second, o->kind, p, i);
        found++;
      }
      i++;
    }
  if (found != tmp->state().size()) throw std::runtime_error("optimizer state entries do not match the parameters");
  return tmp;
}

}  // namespace ckpt
}  // namespace lts

extern "C" {

int lts_checkpoint_read(const char *path, lts_module *m, lts_optimizer *o, lts_checkpoint_info *info, char ***names,
                        lts_tensor ***ts, int64_t *n) {
  if (names) *names = NULL;
  if (ts) *ts = NULL;
  if (n) *n = 0;
  LTS_TRY({
    torch::serialize::InputArchive ar;
    try {
      ar.load_from(path);
    } catch (const c10::Error &e) {
      throw std::runtime_error(std::string("cannot read the checkpoint ") + path + ": " + e.what_without_backtrace());
    }
    at::Tensor t;
    lts_checkpoint_info ci;
    ci.epoch = ar.try_read("epoch", t) && t.numel() == 1 ? t.item<int64_t>() : -1;
    ci.model_kind = -1;
    ci.optimizer_kind = -1;
    torch::serialize::InputArchive ma, oa;
    bool has_model = ar.try_read("model", ma), has_opt = ar.try_read("optimizer", oa);
    if (has_model) {
      int64_t k = ar.try_read("model_kind", t) && t.numel() == 1 ? t.item<int64_t>() : -1;
      ci.model_kind = k >= 0 && k < LTS_M_COUNT ? (int)k : -1;
      if (k >= LTS_M_COUNT) throw std::invalid_argument(std::string(path) + " holds a module of an unknown kind");
    }
    if (has_opt) {
      int64_t k = ar.try_read("optimizer_kind", t) && t.numel() == 1 ? t.item<int64_t>() : -1;
      if (k < LTS_OPT_SGD || k > LTS_OPT_ADAMW) throw std::invalid_argument(std::string(path) + " holds an optimizer of an unknown kind");
      ci.optimizer_kind = (int)k;
    }
    // model tensors: read and checked against the module
    std::vector<std::string> keys;
    std::vector<at::Tensor> vals;
    if (has_model) lts::ckpt::collect(ma, "", keys, vals, 0);
    std::vector<std::pair<at::Tensor, at::Tensor>> copies;
    if (m) {
      if (!has_model) throw std::invalid_argument(std::string(path) + " holds no model weights");
      if (ci.model_kind >= 0 && ci.model_kind != (int)M(m).kind)
        throw std::invalid_argument(std::string(path) + " holds the weights of a " + lts_module_kind_name((lts_module_kind)ci.model_kind) +
                                    ", not of a " + lts_module_kind_name(M(m).kind));
      std::map<std::string, at::Tensor> own;
      for (auto &p : M(m).named_parameters()) own[p.key()] = p.value();
      for (auto &b : M(m).named_buffers()) own[b.key()] = b.value();
      std::set<std::string> seen;
      for (size_t i = 0; i < keys.size(); i++) {
        auto it = own.find(keys[i]);
        if (it == own.end()) throw std::invalid_argument(std::string(path) + ": unexpected tensor \"" + keys[i] + "\" for a " + M(m).describe());
        if (it->second.sizes() != vals[i].sizes())
          throw std::invalid_argument(std::string(path) + ": shape mismatch for \"" + keys[i] + "\": the module has " +
                                      c10::str(it->second.sizes()) + ", the checkpoint has " + c10::str(vals[i].sizes()));
        seen.insert(keys[i]);
        copies.emplace_back(it->second, vals[i]);
      }
      for (auto &kv : own)
        if (!seen.count(kv.first)) throw std::invalid_argument(std::string(path) + ": missing tensor \"" + kv.first + "\" for a " + M(m).describe());
    }
    // optimizer: loaded into a scratch optimizer and checked
    std::unique_ptr<torch::optim::Optimizer> staged;
    lts::ckpt::SavedGroups saved;
    if (o) {
      if (!has_opt) throw std::invalid_argument(std::string(path) + " holds no optimizer state");
      if (ci.optimizer_kind != (int)o->kind) throw std::invalid_argument(std::string(path) + " holds the state of another kind of optimizer");
      staged = lts::ckpt::stage_optimizer(o, oa, saved);
    }
    // everything checked: commit
    {
      at::NoGradGuard no_grad;
      for (auto &c : copies) c.first.copy_(c.second);
    }
    if (o) {
      o->opt->state() = std::move(staged->state());
      auto &groups = o->opt->param_groups();
      for (size_t i = 0; i < groups.size(); i++) groups[i].set_options(saved[i].second->clone());
    }
    if (info) *info = ci;
    if (names && ts && n) {
      *ts = (lts_tensor **)malloc(sizeof(lts_tensor *) * (vals.size() ? vals.size() : 1));
      for (size_t i = 0; i < vals.size(); i++) (*ts)[i] = wrap(vals[i]);
      *n = (int64_t)vals.size();
      *names = (char **)malloc(sizeof(char *) * (keys.size() ? keys.size() : 1));
      for (size_t i = 0; i < keys.size(); i++) (*names)[i] = strdup(keys[i].c_str());
    }
  })
}

}  // extern "C"
