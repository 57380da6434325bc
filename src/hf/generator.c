/* generator.c - section 10: the generator object of the older binding's
 * scripts, over a Hugging Face model. As transformers' generate(), its
 * results are the whole sequence (prompt + new tokens) as an int64 tensor,
 * and max_length counts the prompt. The decoding itself is the model's
 * (lts_hf_generate, lts_hf_beam_search): this file only maps settings. */
#include <stdlib.h>
#include <string.h>
#include "hf_internal.h"

#define MAX_EOS 16

typedef enum { S_DEFAULT, S_GREEDY, S_SAMPLE, S_TOP_K, S_TOP_P, S_BEAM } strategy;

typedef struct {
  lt_hf *model;
  int64_t max_length, top_k, num_beams, eos[MAX_EOS];
  int n_eos, do_sample, has_seed;
  double temperature, top_p, repetition_penalty, length_penalty;
  uint64_t seed;
  strategy strat;
  int refs;
} lt_gen;

static void gen_release(void *p) {
  lt_gen *g = (lt_gen *)p;
  if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  lt_hf_release(g->model);
  free(g);
}
static int gen_retain(void *p, void **out) {
  __atomic_add_fetch(&((lt_gen *)p)->refs, 1, __ATOMIC_RELAXED);
  *out = p;
  return LT_OK;
}

void lt_generator_kind_init(void) {
  static const lt_handle_ops ops = {"generator", "a generator", gen_release, gen_retain};
  lt_handle_register(LT_H_GENERATOR, &ops);
}

static int gen_arg(const lt_value *v, lt_gen **g) {
  if (v->kind == LT_HANDLE && v->u.h.kind == LT_H_GENERATOR) {
    *g = (lt_gen *)v->u.h.ptr;
    return LT_OK;
  }
  return lt_fail("argument 1 (generator) must be a generator (torch_generator_create), got %s", lt_kind_name(v));
}

#define GEN(var)      \
  lt_gen *var = NULL; \
  if (gen_arg(&a[0], &var) != LT_OK) return LT_ERROR

static int set_device(lt_gen *g, const lt_value *dev) {
  char d[64];
  if (!lt_read_device(dev, d, sizeof d)) return LT_OK;
  return lts_hf_to(g->model->m, d) ? lt_fail_shim() : LT_OK;
}

static int p_create(const lt_value *a, lt_value *out) {
  lt_hf *h;
  if (lt_hf_model_arg(&a[0], 1, &h) != LT_OK) return LT_ERROR;
  lt_gen *g = (lt_gen *)calloc(1, sizeof *g);
  if (!g) return lt_fail("out of memory");
  lt_hf_retain(h);
  g->model = h;
  g->refs = 1;
  /* the defaults the manual gives */
  g->max_length = 100;
  g->temperature = 1.0;
  g->top_k = 50;
  g->top_p = 0.9;
  g->repetition_penalty = 1.0;
  g->length_penalty = 1.0;
  g->num_beams = 1;
  g->do_sample = 1;
  if (set_device(g, &a[1]) != LT_OK) {
    gen_release(g);
    return LT_ERROR;
  }
  *out = lt_handle_value(LT_H_GENERATOR, g);
  return LT_OK;
}

static int parse_strategy(const char *s, size_t n, strategy *out) {
  static const struct { const char *name; strategy s; } names[] = {
      {"greedy", S_GREEDY}, {"sample", S_SAMPLE}, {"sampling", S_SAMPLE}, {"top_k", S_TOP_K}, {"topk", S_TOP_K},
      {"top_p", S_TOP_P},   {"topp", S_TOP_P},    {"nucleus", S_TOP_P},   {"beam_search", S_BEAM}, {"beam", S_BEAM}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0) {
      *out = names[i].s;
      return LT_OK;
    }
  return lt_fail("strategy \"%.*s\" is unknown (greedy sample top_k top_p beam_search)", (int)n, s);
}

static int positive_int(const lt_value *v, const char *what, int64_t *out) {
  *out = 0;
  if (v->kind != LT_INT && v->kind != LT_FLOAT) return lt_fail("\"%s\" must be a number, got %s", what, lt_kind_name(v));
  *out = lt_as_int(v);
  if (*out <= 0) return lt_fail("\"%s\" must be positive, got %lld", what, (long long)*out);
  return LT_OK;
}

static int read_num(const lt_value *v, const char *what, double lo, double hi, double *out) {
  *out = 0;
  if (v->kind != LT_INT && v->kind != LT_FLOAT) return lt_fail("\"%s\" must be a number, got %s", what, lt_kind_name(v));
  *out = lt_as_num(v);
  if (!(*out >= lo && *out <= hi)) return lt_fail("\"%s\" must be in [%g, %g], got %g", what, lo, hi, *out);
  return LT_OK;
}

/* all checks run on a copy: a bad key leaves the generator unchanged */
static int p_config(const lt_value *a, lt_value *out) {
  GEN(g0);
  lt_gen g = *g0;
  const lt_value *d = &a[1];
  for (int64_t i = 0; i < d->u.dict.n; i++) {
    const char *k = d->u.dict.keys[i];
    const lt_value *v = &d->u.dict.vals[i];
    int rc;
    if (strcmp(k, "max_length") == 0) rc = positive_int(v, k, &g.max_length);
    else if (strcmp(k, "num_beams") == 0) rc = positive_int(v, k, &g.num_beams);
    else if (strcmp(k, "temperature") == 0) rc = read_num(v, k, 0, 1e9, &g.temperature);
    else if (strcmp(k, "top_p") == 0) rc = read_num(v, k, 0, 1, &g.top_p);
    else if (strcmp(k, "repetition_penalty") == 0) rc = read_num(v, k, 1e-9, 1e9, &g.repetition_penalty);
    else if (strcmp(k, "length_penalty") == 0) rc = read_num(v, k, -1e9, 1e9, &g.length_penalty);
    else if (strcmp(k, "top_k") == 0) {
      double t;
      rc = read_num(v, k, 0, 1e12, &t);
      g.top_k = (int64_t)t;
    } else if (strcmp(k, "do_sample") == 0) {
      g.do_sample = lt_as_bool(v);
      rc = LT_OK;
    } else if (strcmp(k, "seed") == 0) {
      g.seed = (uint64_t)lt_as_int(v);
      g.has_seed = 1;
      rc = v->kind == LT_INT ? LT_OK : lt_fail("\"seed\" must be an integer");
    } else if (strcmp(k, "strategy") == 0) {
      rc = v->kind == LT_STRING ? parse_strategy(v->u.str.s, v->u.str.len, &g.strat)
                                : lt_fail("\"strategy\" must be a string");
    } else if (strcmp(k, "eos_token_id") == 0) {
      int64_t *ids, n;
      rc = lt_hf_read_ids(v, 2, "eos_token_id", &ids, &n);
      if (rc == LT_OK && n > MAX_EOS) rc = lt_fail("\"eos_token_id\": at most %d ids", MAX_EOS);
      if (rc == LT_OK) {
        memcpy(g.eos, ids, (size_t)n * sizeof *ids);
        g.n_eos = (int)n;
      }
      free(ids);
    } else {
      rc = lt_fail("config key \"%s\" is unknown (max_length temperature top_k top_p repetition_penalty num_beams "
                   "length_penalty do_sample strategy eos_token_id seed)", k);
    }
    if (rc != LT_OK) return LT_ERROR;
  }
  *g0 = g;
  lt_handle h;
  if (lt_handle_retain(a[0].u.h, &h) != LT_OK) return LT_ERROR;
  *out = lt_handle_value(h.kind, h.ptr);
  return LT_OK;
}

static int p_set_params(const lt_value *a, lt_value *out) {
  GEN(g0);
  lt_gen g = *g0;
  double k;
  if (positive_int(&a[1], "max_length", &g.max_length) != LT_OK || read_num(&a[2], "temperature", 0, 1e9, &g.temperature) != LT_OK ||
      read_num(&a[3], "top_k", 0, 1e12, &k) != LT_OK || read_num(&a[4], "top_p", 0, 1, &g.top_p) != LT_OK)
    return LT_ERROR;
  g.top_k = (int64_t)k;
  *g0 = g;
  *out = lt_bool(1);
  return LT_OK;
}

/* the whole sequence as an int64 tensor */
static int sequence(const int64_t *prompt, int64_t n, const int64_t *toks, int64_t m, lt_value *out) {
  int64_t *all = (int64_t *)malloc((size_t)(n + m) * sizeof(int64_t));
  if (!all) return lt_fail("out of memory");
  memcpy(all, prompt, (size_t)n * sizeof(int64_t));
  memcpy(all + n, toks, (size_t)m * sizeof(int64_t));
  int64_t dims[1] = {n + m};
  lts_tensor *t = NULL;
  int rc = lts_from_copy(all, LT_I64, dims, 1, LT_I64, &t);
  free(all);
  return lt_out_tensor(rc, &t, out);
}

/* decoding with the generator's settings, overridden by the arguments */
static int run(lt_gen *g, const lt_value *ids, strategy st, int64_t max_length, int64_t k, double p, double temp,
               int64_t beams, lt_value *out) {
  int64_t *prompt, n, *toks = NULL, m = 0;
  if (lt_hf_read_ids(ids, 2, "ids", &prompt, &n) != LT_OK) return LT_ERROR;
  if (n == 0) {
    free(prompt);
    return lt_fail("argument 2 (ids) must hold at least one token");
  }
  int64_t max_new = max_length - n;
  if (max_new < 0) max_new = 0;
  if (st == S_DEFAULT) st = beams > 1 ? S_BEAM : g->do_sample ? S_SAMPLE : S_GREEDY;
  int rc;
  if (st == S_BEAM) {
    rc = lts_hf_beam_search(g->model->m, prompt, n, g->eos, g->n_eos, max_new, beams > 1 ? beams : 4, g->length_penalty,
                            &toks, &m);
  } else {
    lts_hf_sampling s = {st == S_GREEDY, temp, st == S_TOP_K ? 1.0 : p, g->repetition_penalty, st == S_TOP_P ? 0 : k,
                         g->seed, g->has_seed};
    rc = lts_hf_generate(g->model->m, prompt, n, g->eos, g->n_eos, max_new, &s, NULL, NULL, &toks, &m);
  }
  rc = rc ? lt_fail_shim() : sequence(prompt, n, toks, m, out);
  free(prompt);
  free(toks);
  return rc;
}

static int p_generate(const lt_value *a, lt_value *out) {
  GEN(g);
  strategy st = g->strat;
  if (lt_present(&a[2]) && parse_strategy(a[2].u.str.s, a[2].u.str.len, &st) != LT_OK) return LT_ERROR;
  return run(g, &a[1], st, g->max_length, g->top_k, g->top_p, g->temperature, g->num_beams, out);
}

static int p_greedy(const lt_value *a, lt_value *out) {
  GEN(g);
  return run(g, &a[1], S_GREEDY, lt_as_int(&a[2]), 0, 1, 1, 1, out);
}

static int p_top_k(const lt_value *a, lt_value *out) {
  GEN(g);
  int64_t k;
  double t = g->temperature;
  if (positive_int(&a[3], "k", &k) != LT_OK) return LT_ERROR;
  if (lt_present(&a[4]) && read_num(&a[4], "temperature", 0, 1e9, &t) != LT_OK) return LT_ERROR;
  return run(g, &a[1], S_TOP_K, lt_as_int(&a[2]), k, 1, t, 1, out);
}

static int p_top_p(const lt_value *a, lt_value *out) {
  GEN(g);
  double p, t = g->temperature;
  if (read_num(&a[3], "p", 0, 1, &p) != LT_OK) return LT_ERROR;
  if (lt_present(&a[4]) && read_num(&a[4], "temperature", 0, 1e9, &t) != LT_OK) return LT_ERROR;
  return run(g, &a[1], S_TOP_P, lt_as_int(&a[2]), 0, p, t, 1, out);
}

static int p_beam(const lt_value *a, lt_value *out) {
  GEN(g);
  int64_t beams;
  if (positive_int(&a[3], "num_beams", &beams) != LT_OK) return LT_ERROR;
  return run(g, &a[1], S_BEAM, lt_as_int(&a[2]), 0, 1, 1, beams, out);
}

static int p_set_device(const lt_value *a, lt_value *out) {
  GEN(g);
  if (set_device(g, &a[1]) != LT_OK) return LT_ERROR;
  lt_handle h;
  if (lt_handle_retain(a[0].u.h, &h) != LT_OK) return LT_ERROR;
  *out = lt_handle_value(h.kind, h.ptr);
  return LT_OK;
}

const lt_row lt_rows_generator[] = {
    {"torch_generator_create", NULL, "model:any ?device:device",
     "a generator over a Hugging Face model (moved to device when given); defaults: max_length 100, temperature 1, "
     "top_k 50, top_p 0.9, sampling",
     p_create},
    {"torch_generator_config", NULL, "generator:any config:dict",
     "sets max_length temperature top_k top_p repetition_penalty num_beams length_penalty do_sample strategy "
     "eos_token_id seed (all checked before any is set)",
     p_config},
    {"torch_generator_configure", "torch_generator_config", NULL, NULL, NULL},
    {"torch_set_generation_params", NULL, "generator:any max_length:int temperature:num top_k:int top_p:num",
     "sets the four most used settings", p_set_params},
    {"torch_generate", NULL, "generator:any ids:any ?strategy:str",
     "prompt + new tokens (int64 tensor) up to max_length in all; strategy greedy sample top_k top_p beam_search "
     "(default: the configured one)",
     p_generate},
    {"torch_generator_generate", "torch_generate", NULL, NULL, NULL},
    {"torch_generator_greedy", NULL, "generator:any ids:any max_length:int", "greedy decoding (prompt + new tokens)", p_greedy},
    {"torch_generator_top_k", NULL, "generator:any ids:any max_length:int k:int ?temperature:num",
     "sampling among the k most likely tokens", p_top_k},
    {"torch_generator_top_p", NULL, "generator:any ids:any max_length:int p:num ?temperature:num",
     "nucleus sampling (smallest set of probability >= p)", p_top_p},
    {"torch_generator_beam_search", NULL, "generator:any ids:any max_length:int num_beams:int",
     "beam search as transformers' (length_penalty from the config, eos_token_id ends hypotheses)", p_beam},
    {"torch_generator_set_device", NULL, "generator:any device:device", "moves the generator's model to device",
     p_set_device},
    {NULL, NULL, NULL, NULL, NULL},
};
