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

int lts_load_checkpoint(const char *path, lts_module *m, lts_optimizer *o, int64_t *epoch) {
  LTS_TRY({
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    at::Tensor t;
    if (m) {
      torch::serialize::InputArchive ma;
      if (!ar.try_read("model", ma)) throw std::invalid_argument(std::string(path) + " holds no model weights");
      if (ar.try_read("model_kind", t) && t.item<int64_t>() != M(m).kind)
        throw std::invalid_argument(std::string(path) + " holds a " + lts_module_kind_name((lts_module_kind)t.item<int64_t>()) +
                                    ", not a " + lts_module_kind_name(M(m).kind));
      M(m).load(ma);
    }
    if (o) {
      torch::serialize::InputArchive oa;
      if (!ar.try_read("optimizer", oa)) throw std::invalid_argument(std::string(path) + " holds no optimizer state");
      if (ar.try_read("optimizer_kind", t) && t.item<int64_t>() != o->kind)
        throw std::invalid_argument(std::string(path) + " holds the state of another kind of optimizer");
      o->opt->load(oa);
    }
    *epoch = ar.try_read("epoch", t) ? t.item<int64_t>() : -1;
  })
}

}  // extern "C"
