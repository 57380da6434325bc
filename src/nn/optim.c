/* optim.c - section 5: autograd, optimizers, gradient clipping, learning-rate
 * schedulers, losses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"
#include "lt_sched.h"

/* ---- parameters from a module, optimizer, tensor or list of tensors ---- */
int lt_collect_params(const lt_value *v, int argi, const char *pname, lts_tensor ***ts, int64_t *n, int *owned) {
  *ts = NULL;
  *n = 0;
  *owned = 0;
  if (lt_is_module(v)) {
    *owned = 1;
    return lts_module_parameters(lt_module_of(v), ts, n) ? lt_fail_shim() : LT_OK;
  }
  if (v->kind == LT_HANDLE && v->u.h.kind == LT_H_OPTIMIZER) {
    *owned = 1;
    return lts_optimizer_parameters(lt_optimizer_of(v), ts, n) ? lt_fail_shim() : LT_OK;
  }
  if (lt_is_tensor(v)) {
    *ts = (lts_tensor **)malloc(sizeof(lts_tensor *));
    (*ts)[0] = lt_tensor_of(v);
    *n = 1;
    return LT_OK;
  }
  if (v->kind == LT_LIST) {
    *ts = (lts_tensor **)malloc(sizeof(lts_tensor *) * (size_t)(v->u.list.n ? v->u.list.n : 1));
    for (int64_t i = 0; i < v->u.list.n; i++) {
      if (!lt_is_tensor(&v->u.list.items[i])) {
        free(*ts);
        *ts = NULL;
        return lt_fail("argument %d (%s) must hold only tensors, item %lld is %s", argi, pname, (long long)i + 1,
                       lt_kind_name(&v->u.list.items[i]));
      }
      (*ts)[i] = lt_tensor_of(&v->u.list.items[i]);
    }
    *n = v->u.list.n;
    return LT_OK;
  }
  return lt_fail("argument %d (%s) must be a module, an optimizer, a tensor or a list of tensors, got %s", argi, pname,
                 lt_kind_name(v));
}

void lt_free_params(lts_tensor **ts, int64_t n, int owned) {
  if (owned)
    for (int64_t i = 0; i < n; i++) lts_tensor_free(ts[i]);
  free(ts);
}

/* ---- autograd ---- */
static int p_backward(const lt_value *a, lt_value *out) {
  if (lts_backward(lt_tensor_of(&a[0]), lt_as_bool(&a[1]), lt_as_bool(&a[2]))) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

static int p_set_grad_enabled(const lt_value *a, lt_value *out) {
  int before = lts_is_grad_enabled();
  lts_set_grad_enabled(lt_as_bool(&a[0]));
  *out = lt_bool(before); /* the previous state, to restore it */
  return LT_OK;
}

/* ---- optimizers ---- */
static int parse_kind(const lt_value *v, int argi, lts_opt_kind *k) {
  char s[16];
  lt_read_str(v, s, sizeof s);
  if (!strcmp(s, "sgd")) *k = LTS_OPT_SGD;
  else if (!strcmp(s, "adam")) *k = LTS_OPT_ADAM;
  else if (!strcmp(s, "adamw")) *k = LTS_OPT_ADAMW;
  else return lt_fail("argument %d (type) must be \"sgd\", \"adam\" or \"adamw\", got \"%.*s\"", argi,
                      (int)(v->u.str.len > 20 ? 20 : v->u.str.len), v->u.str.s);
  return LT_OK;
}

static int check_lr(const lt_value *v, int argi, double *lr) {
  *lr = lt_as_num(v);
  if (!(*lr >= 0) || isinf(*lr)) return lt_fail("argument %d (lr) must be a non-negative number, got %g", argi, *lr);
  return LT_OK;
}

static int make_opt(lts_opt_kind kind, const lts_opt_config *c, const lt_value *params, int argi, lt_value *out) {
  lts_tensor **ts = NULL;
  int64_t n = 0;
  int owned = 0;
  if (params && lt_collect_params(params, argi, "params", &ts, &n, &owned) != LT_OK) return LT_ERROR;
  lts_optimizer *o = NULL;
  int rc = lts_optimizer_new(kind, c, ts, n, &o);
  lt_free_params(ts, n, owned);
  if (rc) return lt_fail_shim();
  *out = lt_handle_value(LT_H_OPTIMIZER, o);
  return LT_OK;
}

/* (torch_optimizer module lr type) */
static int p_optimizer(const lt_value *a, lt_value *out) {
  double lr;
  lts_opt_kind k = LTS_OPT_ADAM;
  if (check_lr(&a[1], 2, &lr) != LT_OK) return LT_ERROR;
  if (lt_present(&a[2]) && parse_kind(&a[2], 3, &k) != LT_OK) return LT_ERROR;
  lts_opt_config c;
  lts_opt_defaults(k, lr, &c);
  return make_opt(k, &c, &a[0], 1, out);
}

static int p_sgd(const lt_value *a, lt_value *out) {
  double lr;
  if (check_lr(&a[0], 1, &lr) != LT_OK) return LT_ERROR;
  lts_opt_config c;
  lts_opt_defaults(LTS_OPT_SGD, lr, &c);
  if (lt_present(&a[1])) c.momentum = lt_as_num(&a[1]);
  if (lt_present(&a[2])) c.weight_decay = lt_as_num(&a[2]);
  if (c.momentum < 0 || c.weight_decay < 0) return lt_fail("momentum and weight_decay must be non-negative");
  return make_opt(LTS_OPT_SGD, &c, NULL, 0, out);
}

static int p_adam(const lt_value *a, lt_value *out) {
  double lr;
  if (check_lr(&a[0], 1, &lr) != LT_OK) return LT_ERROR;
  lts_opt_config c;
  lts_opt_defaults(LTS_OPT_ADAM, lr, &c);
  if (lt_present(&a[1])) c.beta1 = lt_as_num(&a[1]);
  if (lt_present(&a[2])) c.beta2 = lt_as_num(&a[2]);
  if (lt_present(&a[3])) c.eps = lt_as_num(&a[3]);
  if (lt_present(&a[4])) c.weight_decay = lt_as_num(&a[4]);
  if (c.beta1 < 0 || c.beta1 >= 1 || c.beta2 < 0 || c.beta2 >= 1) return lt_fail("betas must be in [0, 1)");
  return make_opt(LTS_OPT_ADAM, &c, NULL, 0, out);
}

static int p_adamw(const lt_value *a, lt_value *out) {
  double lr;
  if (check_lr(&a[0], 1, &lr) != LT_OK) return LT_ERROR;
  lts_opt_config c;
  lts_opt_defaults(LTS_OPT_ADAMW, lr, &c);
  if (lt_present(&a[1])) c.weight_decay = lt_as_num(&a[1]);
  return make_opt(LTS_OPT_ADAMW, &c, NULL, 0, out);
}

/* (torch_optimizer_create [type lr]) : parameters come with add_params */
static int p_optimizer_create(const lt_value *a, lt_value *out) {
  lts_opt_kind k = LTS_OPT_ADAM;
  double lr = 1e-3;
  if (lt_present(&a[0]) && parse_kind(&a[0], 1, &k) != LT_OK) return LT_ERROR;
  if (lt_present(&a[1]) && check_lr(&a[1], 2, &lr) != LT_OK) return LT_ERROR;
  lts_opt_config c;
  lts_opt_defaults(k, lr, &c);
  return make_opt(k, &c, NULL, 0, out);
}

static int p_add_params(const lt_value *a, lt_value *out) {
  lts_tensor **ts;
  int64_t n;
  int owned;
  if (lt_collect_params(&a[1], 2, "params", &ts, &n, &owned) != LT_OK) return LT_ERROR;
  double lr = lt_present(&a[2]) ? lt_as_num(&a[2]) : -1, wd = lt_present(&a[3]) ? lt_as_num(&a[3]) : -1;
  int rc = lts_optimizer_add_params(lt_optimizer_of(&a[0]), ts, n, lr, wd);
  lt_free_params(ts, n, owned);
  if (rc) return lt_fail_shim();
  *out = lt_int(lts_optimizer_param_count(lt_optimizer_of(&a[0])));
  return LT_OK;
}

static int p_step(const lt_value *a, lt_value *out) {
  if (lts_optimizer_step(lt_optimizer_of(&a[0]))) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

static int p_zero_grad(const lt_value *a, lt_value *out) {
  if (lts_optimizer_zero_grad(lt_optimizer_of(&a[0]))) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

static int p_clip(const lt_value *a, lt_value *out) {
  double max_norm = lt_as_num(&a[1]), total = 0;
  if (!(max_norm > 0)) return lt_fail("argument 2 (max_norm) must be positive, got %g", max_norm);
  lts_tensor **ts;
  int64_t n;
  int owned;
  if (lt_collect_params(&a[0], 1, "params", &ts, &n, &owned) != LT_OK) return LT_ERROR;
  int rc = lts_clip_grad_norm(ts, n, max_norm, &total);
  lt_free_params(ts, n, owned);
  if (rc) return lt_fail_shim();
  *out = lt_float(total);
  return LT_OK;
}

/* ---- schedulers: the learning rate as a function of the step count ---- */
typedef enum { S_STEP, S_EXPONENTIAL, S_COSINE, S_LINEAR, S_WARMUP_COSINE } sched_kind;
typedef struct {
  int refs;
  lts_optimizer *opt;
  sched_kind kind;
  double initial_lr, min_lr, gamma;
  int64_t total_steps, warmup_steps, step_size, step;
} sched;

void lt_sched_release(void *p) {
  sched *s = (sched *)p;
  if (--s->refs == 0) {
    lts_optimizer_free(s->opt);
    free(s);
  }
}
int lt_sched_retain(void *p, void **out) {
  ((sched *)p)->refs++;
  *out = p;
  return LT_OK;
}

static double sched_lr(const sched *s) {
  const double pi = 3.14159265358979323846;
  double t = (double)s->step;
  switch (s->kind) {
  case S_STEP: return s->initial_lr * pow(s->gamma, floor(t / (double)s->step_size));
  case S_EXPONENTIAL: return s->initial_lr * pow(s->gamma, t);
  case S_COSINE: {
    double p = t >= s->total_steps ? 1 : t / (double)s->total_steps;
    return s->min_lr + (s->initial_lr - s->min_lr) * 0.5 * (1 + cos(pi * p));
  }
  case S_LINEAR: {
    double p = t >= s->total_steps ? 1 : t / (double)s->total_steps;
    return s->initial_lr + (s->min_lr - s->initial_lr) * p;
  }
  case S_WARMUP_COSINE: {
    if (s->step < s->warmup_steps) return s->initial_lr * t / (double)s->warmup_steps;
    int64_t span = s->total_steps - s->warmup_steps;
    double p = span <= 0 || s->step >= s->total_steps ? 1 : (t - (double)s->warmup_steps) / (double)span;
    return s->min_lr + (s->initial_lr - s->min_lr) * 0.5 * (1 + cos(pi * p));
  }
  }
  return s->initial_lr;
}

static int cfg_num(const lt_value *cfg, const char *key, double dflt, double *out) {
  const lt_value *v = cfg ? lt_dict_get(cfg, key) : NULL;
  if (!v) { *out = dflt; return LT_OK; }
  if (v->kind != LT_INT && v->kind != LT_FLOAT) return lt_fail("argument 3 (config) key \"%s\" must be a number, got %s", key, lt_kind_name(v));
  *out = lt_as_num(v);
  return LT_OK;
}

static int p_scheduler(const lt_value *a, lt_value *out) {
  static const struct { const char *name; sched_kind k; } kinds[] = {
      {"step", S_STEP}, {"exponential", S_EXPONENTIAL}, {"cosine", S_COSINE}, {"linear", S_LINEAR},
      {"linear_warmup_cosine", S_WARMUP_COSINE}};
  char name[32];
  lt_read_str(&a[1], name, sizeof name);
  int found = -1;
  for (int i = 0; i < 5; i++)
    if (!strcmp(name, kinds[i].name)) found = i;
  if (found < 0)
    return lt_fail("argument 2 (type) must be one of step exponential cosine linear linear_warmup_cosine, got \"%s\"", name);
  lts_optimizer *o = lt_optimizer_of(&a[0]);
  const lt_value *cfg = lt_present(&a[2]) ? &a[2] : NULL;
  double initial = 0, min_lr = 0, gamma = 0, total = 0, warmup = 0, step_size = 0;
  if (cfg_num(cfg, "initial_lr", lts_optimizer_get_lr(o), &initial) || cfg_num(cfg, "min_lr", 0, &min_lr) ||
      cfg_num(cfg, "gamma", 0.1, &gamma) || cfg_num(cfg, "total_steps", 1000, &total) ||
      cfg_num(cfg, "warmup_steps", 0, &warmup) || cfg_num(cfg, "step_size", 100, &step_size))
    return LT_ERROR;
  if (initial < 0 || min_lr < 0) return lt_fail("argument 3 (config): learning rates must be non-negative");
  if (total < 1 || step_size < 1 || warmup < 0 || warmup > total)
    return lt_fail("argument 3 (config): need total_steps >= 1, step_size >= 1, 0 <= warmup_steps <= total_steps");
  if (gamma <= 0) return lt_fail("argument 3 (config): gamma must be positive");
  sched *s = (sched *)calloc(1, sizeof *s);
  s->refs = 1;
  lts_optimizer_ref(o, &s->opt);
  s->kind = kinds[found].k;
  s->initial_lr = initial;
  s->min_lr = min_lr;
  s->gamma = gamma;
  s->total_steps = (int64_t)total;
  s->warmup_steps = (int64_t)warmup;
  s->step_size = (int64_t)step_size;
  lts_optimizer_set_lr(o, sched_lr(s)); /* as LambdaLR: the rate of step 0 applies now */
  *out = lt_handle_value(LT_H_SCHEDULER, s);
  return LT_OK;
}

static int p_sched_step(const lt_value *a, lt_value *out) {
  sched *s = (sched *)a[0].u.h.ptr;
  s->step++;
  double lr = sched_lr(s);
  if (lts_optimizer_set_lr(s->opt, lr)) return lt_fail_shim();
  *out = lt_float(lr);
  return LT_OK;
}

static int p_sched_get(const lt_value *a, lt_value *out) {
  *out = lt_float(lts_optimizer_get_lr(((sched *)a[0].u.h.ptr)->opt));
  return LT_OK;
}

static int p_sched_set(const lt_value *a, lt_value *out) {
  sched *s = (sched *)a[0].u.h.ptr;
  double lr = lt_as_num(&a[1]);
  if (lr < 0) return lt_fail("argument 2 (lr) must be non-negative, got %g", lr);
  /* the schedule continues from the new rate: it becomes the base */
  s->initial_lr = lr;
  if (lts_optimizer_set_lr(s->opt, lr)) return lt_fail_shim();
  *out = lt_float(lr);
  return LT_OK;
}

/* ---- losses ---- */
static int p_mse(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_mse_loss(lt_tensor_of(&a[0]), lt_tensor_of(&a[1]), &t), &t, out);
}

static int p_cross_entropy(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL, *targets = NULL;
  int made = 0;
  if (lt_is_tensor(&a[1])) targets = lt_tensor_of(&a[1]);
  else {
    if (lt_tensor_from_value(&a[1], LT_I64, NULL, &targets) != LT_OK) return LT_ERROR;
    made = 1;
  }
  int64_t ignore = lt_present(&a[2]) ? lt_as_int(&a[2]) : -100;
  int rc = lts_cross_entropy(lt_tensor_of(&a[0]), targets, ignore, &t);
  if (made) lts_tensor_free(targets);
  return lt_out_tensor(rc, &t, out);
}

const lt_row lt_rows_autograd[] = {
    {"torch_backward", NULL, "loss:tensor ?retain_graph:bool ?create_graph:bool", "back-propagates from a one-element loss", p_backward},
    {"torch_set_grad_enabled", NULL, "flag:bool", "turns autograd recording on or off; returns the previous state", p_set_grad_enabled},
    {"torch_optimizer", NULL, "params:any lr:num ?type:str", "optimizer (\"adam\" default, \"adamw\", \"sgd\") over a module's or a list's parameters", p_optimizer},
    {"torch_sgd_optimizer", NULL, "lr:num ?momentum:num ?weight_decay:num", "SGD without parameters yet (add them with torch_optimizer_add_params)", p_sgd},
    {"torch_adam_optimizer", NULL, "lr:num ?beta1:num ?beta2:num ?eps:num ?weight_decay:num", "Adam without parameters yet", p_adam},
    {"torch_adamw_optimizer", NULL, "lr:num ?weight_decay:num", "AdamW (weight decay 0.01) without parameters yet", p_adamw},
    {"torch_adamw_optimizer_create", "torch_adamw_optimizer", NULL, NULL, NULL},
    {"torch_optimizer_create", NULL, "?type:str ?lr:num", "optimizer (adam, lr 1e-3 by default) without parameters yet", p_optimizer_create},
    {"torch_optimizer_add_params", NULL, "optimizer:optimizer params:any ?lr:num ?weight_decay:num",
     "adds a module's or a list's parameters (a new group when lr/weight_decay are given); returns the parameter count", p_add_params},
    {"torch_optimizer_step", NULL, "optimizer:optimizer", "applies one update", p_step},
    {"torch_optimizer_zero_grad", NULL, "optimizer:optimizer", "clears the gradients of its parameters", p_zero_grad},
    {"torch_clip_grad_norm", NULL, "params:any max_norm:num",
     "scales gradients to a total 2-norm of at most max_norm; returns the norm before clipping", p_clip},
    {"torch_lr_scheduler", NULL, "optimizer:optimizer type:str ?config:dict",
     "step exponential cosine linear linear_warmup_cosine; keys initial_lr min_lr total_steps warmup_steps gamma step_size", p_scheduler},
    {"torch_scheduler_step", NULL, "scheduler:scheduler", "advances one step; returns the new rate", p_sched_step},
    {"torch_scheduler_get_lr", NULL, "scheduler:scheduler", "the current learning rate", p_sched_get},
    {"torch_scheduler_set_lr", NULL, "scheduler:scheduler lr:num", "sets the rate (the schedule continues from it)", p_sched_set},
    {"torch_mse_loss", NULL, "predictions:tensor targets:tensor", "mean squared error (same shapes)", p_mse},
    {"torch_cross_entropy", NULL, "logits:tensor targets:any ?ignore_index:int",
     "cross-entropy of logits [N C] or [B S C] and class ids; ids equal to ignore_index (-100) do not count", p_cross_entropy},
    {"torch_crossentropy_loss", "torch_cross_entropy", NULL, NULL, NULL},
    {"torch_loss_crossentropy", "torch_cross_entropy", NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
