/* hf_prims.c - section 10: loading Hugging Face models, forward, KV cache,
 * generation, inspection. A model is a handle, and is also known by the path
 * (or name) it was loaded under, as the older binding's scripts name it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hf_internal.h"

/* ---- handles ---- */

void lt_hf_release(lt_hf *h) {
  if (!h || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  lts_hf_free(h->m);
  free(h->name);
  free(h);
}
void lt_hf_retain(lt_hf *h) { __atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED); }
static void hf_release(void *p) { lt_hf_release((lt_hf *)p); }
static int hf_retain(void *p, void **out) {
  lt_hf_retain((lt_hf *)p);
  *out = p;
  return LT_OK;
}
static void cache_release(void *p) { lts_hf_cache_free((lts_hf_cache *)p); }
static int cache_retain(void *p, void **out) { return lts_hf_cache_ref((lts_hf_cache *)p, (lts_hf_cache **)out); }

void lt_hf_kinds_init(void) {
  static const lt_handle_ops model = {"hf_model", "a Hugging Face model", hf_release, hf_retain};
  static const lt_handle_ops cache = {"kv_cache", "a KV cache", cache_release, cache_retain};
  lt_handle_register(LT_H_HF_MODEL, &model);
  lt_handle_register(LT_H_KV_CACHE, &cache);
}

char *lt_hf_repr(lt_handle h) {
  char *s = (char *)malloc(1200);
  if (!s) return NULL;
  if (h.kind == LT_H_KV_CACHE) {
    lts_hf_cache *c = (lts_hf_cache *)h.ptr;
    snprintf(s, 1200, "kv_cache(positions=%lld, held=%lld)", (long long)lts_hf_cache_position(c), (long long)lts_hf_cache_length(c));
    return s;
  }
  lt_hf *m = (lt_hf *)h.ptr;
  lts_hf_config c;
  lts_hf_config_of(m->m, &c);
  snprintf(s, 1200, "hf_model(%s, %lld layers, hidden %lld, vocab %lld, %s: %.1000s)", m->model_type, (long long)c.layers,
           (long long)c.hidden, (long long)c.vocab, lt_dtype_name(lts_hf_dtype(m->m)), m->name);
  return s;
}

/* ---- models by name: each entry holds one reference ---- */

static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;
static lt_hf **named;
static int n_named, cap_named;

/* records h under its name, replacing an earlier model of that name */
static void remember(lt_hf *h) {
  lt_hf_retain(h);
  lt_hf *old = NULL;
  pthread_mutex_lock(&names_mu);
  int i = 0;
  while (i < n_named && strcmp(named[i]->name, h->name) != 0) i++;
  if (i < n_named) old = named[i];
  else if (n_named < cap_named || (named = (lt_hf **)realloc(named, (size_t)(cap_named = cap_named * 2 + 4) * sizeof *named)))
    n_named++;
  else
    i = -1;
  if (i >= 0) named[i] = h;
  pthread_mutex_unlock(&names_mu);
  if (i < 0) lt_hf_release(h);  /* out of memory: the handle still works */
  if (old) lt_hf_release(old);
}

static lt_hf *find_named(const char *name, size_t len) {
  lt_hf *h = NULL;
  pthread_mutex_lock(&names_mu);
  for (int i = 0; i < n_named && !h; i++)
    if (strlen(named[i]->name) == len && memcmp(named[i]->name, name, len) == 0) h = named[i];
  pthread_mutex_unlock(&names_mu);
  return h;
}

/* a model argument: a handle, or the name a model was loaded under */
int lt_hf_model_arg(const lt_value *v, int argi, lt_hf **out) {
  if (v->kind == LT_HANDLE && v->u.h.kind == LT_H_HF_MODEL) {
    *out = (lt_hf *)v->u.h.ptr;
    return LT_OK;
  }
  if (v->kind == LT_STRING) {
    *out = find_named(v->u.str.s, v->u.str.len);
    if (*out) return LT_OK;
    return lt_fail("argument %d (model): no model was loaded under the name \"%.*s\"", argi, (int)v->u.str.len, v->u.str.s);
  }
  return lt_fail("argument %d (model) must be a Hugging Face model or the name it was loaded under, got %s", argi,
                 lt_kind_name(v));
}

#define MODEL(i, var) \
  lt_hf *var;         \
  if (lt_hf_model_arg(&a[i], i + 1, &var) != LT_OK) return LT_ERROR

static int cache_arg(const lt_value *v, int argi, lts_hf_cache **out) {
  *out = NULL;
  if (!lt_present(v)) return LT_OK;
  if (v->kind == LT_HANDLE && v->u.h.kind == LT_H_KV_CACHE) {
    *out = (lts_hf_cache *)v->u.h.ptr;
    return LT_OK;
  }
  return lt_fail("argument %d (cache) must be a KV cache (torch_hf_enable_kv_cache), got %s", argi, lt_kind_name(v));
}

/* token ids: a tensor [seq] or [batch, seq], or a numeric list (one sequence);
 * *made: the caller frees *t */
static int ids_arg(const lt_value *v, int argi, lts_tensor **t, int *made) {
  *made = 0;
  if (lt_is_tensor(v)) {
    *t = lt_tensor_of(v);
  } else if (v->kind == LT_BUFFER || v->kind == LT_LIST) {
    if (lt_tensor_from_value(v, LT_I64, NULL, t) != LT_OK) return LT_ERROR;
    *made = 1;
  } else {
    return lt_fail("argument %d (ids) must be a tensor or a list of token ids, got %s", argi, lt_kind_name(v));
  }
  if (lts_dim(*t) == 1) {
    lts_tensor *u = NULL;
    int rc = lts_unsqueeze(*t, 0, &u);
    if (*made) lts_tensor_free(*t);
    if (rc) return lt_fail_shim();
    *t = u;
    *made = 1;
  }
  return LT_OK;
}

/* ---- loading ---- */

typedef struct {
  lt_value fn;
} progress_ctx;

static void progress(void *p, int done, int total) {
  progress_ctx *c = (progress_ctx *)p;
  lt_value args[2] = {lt_int(done), lt_int(total)};
  if (lt_invoke(&c->fn, args, 2, NULL) != LT_OK) fprintf(stderr, "torch_hf_load_model: progress callback: %s\n", lt_last_error());
}

/* the load config: numbers and flags with their defaults */
static int read_settings(const lt_value *cfg, lt_hf *h, lts_hf_config *c, int *dt, char *dev, size_t devn,
                         const lt_value **prog) {
  static const char *keys[] = {"device", "dtype", "max_seq_len", "rope_scaling", "temperature", "top_p", "top_k",
                               "repetition_penalty", "use_kv_cache", "max_cache_len", "manual_attention", "output_attentions",
                               "progress"};
  h->temperature = 1.0;
  h->top_p = 1.0;
  h->repetition_penalty = 1.0;
  h->use_kv_cache = 1;
  h->max_seq_len = c->max_positions;
  *dt = LT_F32;
  *dev = 0;
  *prog = NULL;
  if (!lt_present(cfg)) return LT_OK;
  for (int64_t i = 0; i < cfg->u.dict.n; i++) {
    const char *k = cfg->u.dict.keys[i];
    const lt_value *v = &cfg->u.dict.vals[i];
    size_t j = 0;
    while (j < sizeof keys / sizeof *keys && strcmp(keys[j], k) != 0) j++;
    if (j == sizeof keys / sizeof *keys) return lt_fail("config key \"%s\" is unknown", k);
    int num = v->kind == LT_INT || v->kind == LT_FLOAT;
    if (strcmp(k, "device") == 0 || strcmp(k, "dtype") == 0) {
      if (v->kind != LT_STRING) return lt_fail("config \"%s\" must be a string", k);
      if (k[1] == 'e') {
        if (!lt_read_str(v, dev, devn) || lts_check_device(dev)) return lt_fail("config \"device\": %s", lts_last_error());
      } else if (lt_dtype_parse(v->u.str.s, v->u.str.len, (lt_dtype *)dt) != 0 ||
                 (*dt != LT_F32 && *dt != LT_F64 && *dt != LT_F16 && *dt != LT_BF16)) {
        return lt_fail("config \"dtype\" must be float32, float64, float16 or bfloat16, got \"%.*s\"", (int)v->u.str.len, v->u.str.s);
      }
    } else if (strcmp(k, "progress") == 0) {
      if (v->kind != LT_CALLABLE) return lt_fail("config \"progress\" must be a function (done total)");
      *prog = v;
    } else if (strcmp(k, "use_kv_cache") == 0) {
      h->use_kv_cache = lt_as_bool(v);
    } else if (strcmp(k, "manual_attention") == 0) {
      h->manual_attention = lt_as_bool(v);
    } else if (strcmp(k, "output_attentions") == 0) {
      h->output_attentions = lt_as_bool(v);
    } else if (!num) {
      return lt_fail("config \"%s\" must be a number, got %s", k, lt_kind_name(v));
    } else if (strcmp(k, "rope_scaling") == 0) {
      double f = lt_as_num(v);
      if (!(f > 0)) return lt_fail("config \"rope_scaling\" must be positive, got %g", f);
      if (f != 1.0) {
        if (c->rope_kind != LTS_ROPE_DEFAULT) return lt_fail("config \"rope_scaling\": the model already scales its rotary positions");
        c->rope_kind = LTS_ROPE_LINEAR;
        c->rope_factor = f;
      }
    } else if (strcmp(k, "temperature") == 0 || strcmp(k, "top_p") == 0 || strcmp(k, "repetition_penalty") == 0) {
      double f = lt_as_num(v);
      if (k[0] == 't' && k[1] == 'e') h->temperature = f;
      else if (k[0] == 't') h->top_p = f;
      else h->repetition_penalty = f;
      if (f < 0 || (k[0] == 'r' && f == 0) || (strcmp(k, "top_p") == 0 && f > 1))
        return lt_fail("config \"%s\" is out of range: %g", k, f);
    } else {
      int64_t n = lt_as_int(v);
      if (n < 0) return lt_fail("config \"%s\" must be non-negative, got %lld", k, (long long)n);
      if (strcmp(k, "top_k") == 0) h->top_k = n;
      else if (strcmp(k, "max_seq_len") == 0) h->max_seq_len = n;
      else h->max_cache_len = n;
    }
  }
  return LT_OK;
}

int lt_hf_load(const char *dir, const char *name, const lt_value *cfg, lt_value *out) {
  lts_hf_config c;
  lt_hf *h = (lt_hf *)calloc(1, sizeof *h);
  if (!h) return lt_fail("out of memory");
  h->refs = 1;
  char dev[64];
  int dt;
  const lt_value *prog;
  lt_value w = lt_nil();
  int rc = lt_hf_read_config(dir, &c, h->model_type, sizeof h->model_type);
  if (rc == LT_OK) rc = read_settings(cfg, h, &c, &dt, dev, sizeof dev, &prog);
  if (rc == LT_OK) {
    progress_ctx pc = {prog ? *prog : lt_nil()};
    rc = lt_hf_read_weights(dir, &w, prog ? progress : NULL, &pc);
  }
  if (rc == LT_OK) {
    lts_tensor **ts = (lts_tensor **)malloc((size_t)(w.u.dict.n + 1) * sizeof *ts);
    for (int64_t i = 0; ts && i < w.u.dict.n; i++) ts[i] = lt_tensor_of(&w.u.dict.vals[i]);
    if (!ts) rc = lt_fail("out of memory");
    else if (lts_hf_new(&c, w.u.dict.keys, ts, w.u.dict.n, dt, *dev ? dev : NULL, &h->m)) rc = lt_fail_shim();
    free(ts);
  }
  lt_value_clear(&w);
  if (rc == LT_OK && !(h->name = strdup(name))) rc = lt_fail("out of memory");
  if (rc != LT_OK) {
    lt_hf_release(h);
    return LT_ERROR;
  }
  if (h->output_attentions) lts_hf_record_attention(h->m, 1);
  remember(h);
  *out = lt_handle_value(LT_H_HF_MODEL, h);
  return LT_OK;
}

static int p_load(const lt_value *a, lt_value *out) {
  char *dir = lt_str_dup(&a[0]);
  if (!dir) return lt_fail("out of memory");
  int rc = lt_hf_load(dir, dir, &a[1], out);
  free(dir);
  return rc;
}

/* ---- forward ---- */

static int forward(const lt_value *a, int manual, lt_value *out) {
  MODEL(0, h);
  lts_hf_cache *cache;
  if (cache_arg(&a[2], 3, &cache) != LT_OK) return LT_ERROR;
  lts_tensor *ids, *t = NULL;
  int made;
  if (ids_arg(&a[1], 2, &ids, &made) != LT_OK) return LT_ERROR;
  int rc = lts_hf_forward(h->m, ids, cache, manual || h->manual_attention, &t);
  if (made) lts_tensor_free(ids);
  return lt_out_tensor(rc, &t, out);
}
static int p_forward(const lt_value *a, lt_value *out) { return forward(a, 0, out); }
static int p_forward_manual(const lt_value *a, lt_value *out) { return forward(a, 1, out); }

static int p_embeddings(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  lts_tensor *ids, *t = NULL;
  int made;
  if (ids_arg(&a[1], 2, &ids, &made) != LT_OK) return LT_ERROR;
  int rc = lts_hf_embeddings(h->m, ids, &t);
  if (made) lts_tensor_free(ids);
  return lt_out_tensor(rc, &t, out);
}

static int p_enable_cache(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  int on = lt_present(&a[1]) ? lt_as_bool(&a[1]) : 1;
  h->use_kv_cache = on;
  if (!on) {
    *out = lt_nil();
    return LT_OK;
  }
  lts_hf_cache *c = NULL;
  if (lts_hf_cache_new(h->m, h->max_cache_len, &c)) return lt_fail_shim();
  *out = lt_handle_value(LT_H_KV_CACHE, c);
  return LT_OK;
}

static int p_reset_cache(const lt_value *a, lt_value *out) {
  lts_hf_cache *c;
  if (cache_arg(&a[0], 1, &c) != LT_OK) return LT_ERROR;
  if (!c) return lt_fail("argument 1 (cache) must be a KV cache");
  lts_hf_cache_reset(c);
  *out = lt_bool(1);
  return LT_OK;
}

/* ---- generation ---- */

typedef struct {
  const lt_value *fn, *data;
  int failed;  /* the callback failed: lt_last_error() says why */
} token_ctx;

static int on_token(void *p, int64_t tok) {
  token_ctx *c = (token_ctx *)p;
  lt_value args[2] = {lt_int(tok), c->data ? *c->data : lt_nil()};
  c->failed = lt_invoke(c->fn, args, 2, NULL) != LT_OK;
  return c->failed;
}

int lt_hf_read_ids(const lt_value *v, int argi, const char *pname, int64_t **ids, int64_t *n) {
  lts_tensor *t = NULL, *c = NULL;
  *ids = NULL;
  *n = 0;
  if (!lt_present(v)) return LT_OK;
  if (lt_is_tensor(v)) {
    if (lts_to(lt_tensor_of(v), LT_I64, "cpu", &t)) return lt_fail_shim();
  } else if (v->kind == LT_INT || v->kind == LT_BUFFER || v->kind == LT_LIST || v->kind == LT_FLOAT) {
    if (lt_tensor_from_value(v, LT_I64, NULL, &t) != LT_OK) return LT_ERROR;
  } else {
    return lt_fail("argument %d (%s) must be token ids, got %s", argi, pname, lt_kind_name(v));
  }
  int rc = LT_OK;
  if (lts_dim(t) > 1) rc = lt_fail("argument %d (%s) must be one sequence of token ids", argi, pname);
  else if (lts_cpu_contiguous(t, &c)) rc = lt_fail_shim();
  else {
    *n = lts_numel(c);
    *ids = (int64_t *)malloc((size_t)(*n ? *n : 1) * sizeof(int64_t));
    if (!*ids) rc = lt_fail("out of memory");
    else if (*n) memcpy(*ids, lts_data_ptr(c), (size_t)*n * sizeof(int64_t));
  }
  lts_tensor_free(c);
  lts_tensor_free(t);
  return rc;
}

static int read_options(const lt_value *o, const lt_hf *h, lts_hf_sampling *s, token_ctx *cb) {
  s->greedy = 0;
  s->temperature = h->temperature;
  s->top_p = h->top_p;
  s->top_k = h->top_k;
  s->repetition_penalty = h->repetition_penalty;
  s->has_seed = 0;
  s->seed = 0;
  cb->fn = cb->data = NULL;
  cb->failed = 0;
  if (!lt_present(o)) return LT_OK;
  if (o->kind != LT_DICT) return lt_fail("argument 5 (options) must be a dictionary, got %s", lt_kind_name(o));
  for (int64_t i = 0; i < o->u.dict.n; i++) {
    const char *k = o->u.dict.keys[i];
    const lt_value *v = &o->u.dict.vals[i];
    int num = v->kind == LT_INT || v->kind == LT_FLOAT;
    if (strcmp(k, "callback") == 0) {
      if (v->kind != LT_CALLABLE) return lt_fail("option \"callback\" must be a function (token_id data), got %s", lt_kind_name(v));
      cb->fn = v;
    } else if (strcmp(k, "data") == 0) {
      cb->data = v;
    } else if (strcmp(k, "greedy") == 0) {
      s->greedy = lt_as_bool(v);
    } else if (!num) {
      return lt_fail("option \"%s\" is unknown or not a number (greedy temperature topk topp repetition_penalty seed callback data)", k);
    } else if (strcmp(k, "temperature") == 0) {
      s->temperature = lt_as_num(v);
    } else if (strcmp(k, "topk") == 0 || strcmp(k, "top_k") == 0) {
      s->top_k = lt_as_int(v);
      if (s->top_k < 0) return lt_fail("option \"%s\" must be non-negative", k);
    } else if (strcmp(k, "topp") == 0 || strcmp(k, "top_p") == 0) {
      s->top_p = lt_as_num(v);
    } else if (strcmp(k, "repetition_penalty") == 0) {
      s->repetition_penalty = lt_as_num(v);
    } else if (strcmp(k, "seed") == 0) {
      s->seed = (uint64_t)lt_as_int(v);
      s->has_seed = 1;
    } else {
      return lt_fail("option \"%s\" is unknown (greedy temperature topk topp repetition_penalty seed callback data)", k);
    }
  }
  return LT_OK;
}

static int p_generate(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  int64_t max_new = lt_as_int(&a[3]);
  if (max_new < 0) return lt_fail("argument 4 (max_new) must be non-negative, got %lld", (long long)max_new);
  lts_hf_sampling s;
  token_ctx cb;
  if (read_options(&a[4], h, &s, &cb) != LT_OK) return LT_ERROR;
  int64_t *prompt, *eos, n, n_eos, *toks = NULL, n_toks = 0;
  if (lt_hf_read_ids(&a[1], 2, "tokens", &prompt, &n) != LT_OK) return LT_ERROR;
  if (lt_hf_read_ids(&a[2], 3, "eos", &eos, &n_eos) != LT_OK) {
    free(prompt);
    return LT_ERROR;
  }
  int rc = LT_OK;
  if (n == 0) rc = lt_fail("argument 2 (tokens) must hold at least one token");
  else if (lts_hf_generate(h->m, prompt, n, eos, (int)n_eos, max_new, &s, cb.fn ? on_token : NULL, &cb, &toks, &n_toks))
    rc = cb.failed ? lt_fail("callback: %s", lt_last_error()) : lt_fail_shim();
  free(prompt);
  free(eos);
  if (rc != LT_OK) return rc;
  *out = lt_buffer_owned(toks, n_toks, LT_I64);
  return LT_OK;
}

/* ---- attention probabilities ---- */
/* Recording starts with the first of these calls (or the load config's
 * output_attentions): forwards then keep each layer's probabilities. */

static int cache_of_model(const lt_value *a, int i, lt_hf *h) {
  lts_hf_cache *c;
  (void)h;
  return cache_arg(&a[i], i + 1, &c);
}

static int p_attention_scores(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  if (cache_of_model(a, 2, h) != LT_OK) return LT_ERROR;
  lts_hf_record_attention(h->m, 1);
  lts_tensor *t = NULL;
  if (lts_hf_attention_scores(h->m, lt_as_int(&a[1]), &t)) return lt_fail_shim();
  *out = t ? lt_handle_value(LT_H_TENSOR, t) : lt_nil();
  return LT_OK;
}

static int p_attention_size(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  if (cache_of_model(a, 1, h) != LT_OK) return LT_ERROR;
  lts_hf_record_attention(h->m, 1);
  *out = lt_int(lts_hf_attention_count(h->m));
  return LT_OK;
}

static int p_attention_clear(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  if (cache_of_model(a, 1, h) != LT_OK) return LT_ERROR;
  lts_hf_record_attention(h->m, 0);
  *out = lt_bool(1);
  return LT_OK;
}

/* ---- inspection ---- */

static const char *rope_name(lts_rope_kind k) {
  return k == LTS_ROPE_LLAMA3 ? "llama3" : k == LTS_ROPE_LINEAR ? "linear" : "default";
}

/* what info and summary tell */
typedef struct {
  lts_hf_config c;
  int64_t bytes, params;
  char dev[64];
} facts;

static int facts_of(lt_hf *h, facts *f) {
  lts_hf_config_of(h->m, &f->c);
  if (lts_hf_memory(h->m, &f->bytes, &f->params)) return lt_fail_shim();
  lts_hf_device(h->m, f->dev, sizeof f->dev);
  return LT_OK;
}

static int p_info(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  facts fa;
  if (facts_of(h, &fa) != LT_OK) return LT_ERROR;
  lt_value d = lt_dict_new(32);
  lt_dict_put(&d, "name", lt_string_cstr(h->name));
  lt_dict_put(&d, "model_type", lt_string_cstr(h->model_type));
  lt_dict_put(&d, "vocab_size", lt_int(fa.c.vocab));
  lt_dict_put(&d, "hidden_size", lt_int(fa.c.hidden));
  lt_dict_put(&d, "intermediate_size", lt_int(fa.c.intermediate));
  lt_dict_put(&d, "num_hidden_layers", lt_int(fa.c.layers));
  lt_dict_put(&d, "num_attention_heads", lt_int(fa.c.heads));
  lt_dict_put(&d, "num_key_value_heads", lt_int(fa.c.kv_heads));
  lt_dict_put(&d, "head_dim", lt_int(fa.c.head_dim));
  lt_dict_put(&d, "max_position_embeddings", lt_int(fa.c.max_positions));
  lt_dict_put(&d, "rms_norm_eps", lt_float(fa.c.rms_eps));
  lt_dict_put(&d, "rope_theta", lt_float(fa.c.rope_theta));
  lt_dict_put(&d, "rope_scaling", lt_string_cstr(rope_name(fa.c.rope_kind)));
  lt_dict_put(&d, "sliding_window", lt_int(fa.c.sliding_window));
  int64_t sliding = 0;
  for (int64_t i = 0; fa.c.sliding_window && i < fa.c.layers; i++) sliding += fa.c.sliding[i];
  lt_dict_put(&d, "sliding_layers", lt_int(sliding));
  lt_dict_put(&d, "hidden_act", lt_string_cstr(fa.c.act == LTS_ACT_GELU_TANH ? "gelu_pytorch_tanh" : "silu"));
  if (fa.c.attn_scalar > 0) lt_dict_put(&d, "query_pre_attn_scalar", lt_float(fa.c.attn_scalar));
  if (fa.c.attn_softcap > 0) lt_dict_put(&d, "attn_logit_softcapping", lt_float(fa.c.attn_softcap));
  if (fa.c.final_softcap > 0) lt_dict_put(&d, "final_logit_softcapping", lt_float(fa.c.final_softcap));
  lt_dict_put(&d, "tie_word_embeddings", lt_bool(fa.c.tie_embeddings));
  lt_dict_put(&d, "parameters", lt_int(fa.params));
  lt_dict_put(&d, "bytes", lt_int(fa.bytes));
  lt_dict_put(&d, "dtype", lt_string_cstr(lt_dtype_name(lts_hf_dtype(h->m))));
  lt_dict_put(&d, "device", lt_string_cstr(fa.dev));
  lt_dict_put(&d, "max_seq_len", lt_int(h->max_seq_len));
  lt_dict_put(&d, "use_kv_cache", lt_bool(h->use_kv_cache));
  lt_dict_put(&d, "max_cache_len", lt_int(h->max_cache_len));
  lts_lora_info li;
  lts_hf_lora_info(h->m, &li);
  lt_dict_put(&d, "training", lt_bool(lts_hf_training(h->m)));
  lt_dict_put(&d, "lora_adapters", lt_int(li.adapters));
  if (li.adapters) {
    lt_dict_put(&d, "lora_rank", lt_int(li.rank));
    lt_dict_put(&d, "lora_alpha", lt_float(li.alpha));
    lt_dict_put(&d, "lora_dropout", lt_float(li.dropout));
    lt_dict_put(&d, "lora_merged", lt_bool(li.merged));
    lt_dict_put(&d, "lora_enabled", lt_bool(li.enabled));
  }
  *out = d;
  return LT_OK;
}

static int p_summary(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  facts fa;
  if (facts_of(h, &fa) != LT_OK) return LT_ERROR;
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  if (!f) return lt_fail("out of memory");
  fprintf(f, "%s (%s): %lld parameters, %.2f MiB, %s on %s\n", h->name, h->model_type, (long long)fa.params, fa.bytes / 1048576.0,
          lt_dtype_name(lts_hf_dtype(h->m)), fa.dev);
  fprintf(f, "  %lld layers, hidden %lld, intermediate %lld, vocab %lld\n", (long long)fa.c.layers, (long long)fa.c.hidden,
          (long long)fa.c.intermediate, (long long)fa.c.vocab);
  fprintf(f, "  attention: %lld heads, %lld key/value heads, head_dim %lld%s", (long long)fa.c.heads, (long long)fa.c.kv_heads,
          (long long)fa.c.head_dim, fa.c.sliding_window ? ", sliding window " : "");
  if (fa.c.sliding_window) fprintf(f, "%lld", (long long)fa.c.sliding_window);
  fprintf(f, "\n  rotary: theta %g, scaling %s; rms_norm_eps %g; %s embeddings\n", fa.c.rope_theta, rope_name(fa.c.rope_kind), fa.c.rms_eps,
          fa.c.tie_embeddings ? "tied" : "separate output");
  fclose(f);
  *out = lt_string_owned(s, len);
  return LT_OK;
}

static int p_memory(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  int64_t bytes, params;
  if (lts_hf_memory(h->m, &bytes, &params)) return lt_fail_shim();
  lt_value d = lt_dict_new(4);
  lt_dict_put(&d, "bytes", lt_int(bytes));
  lt_dict_put(&d, "megabytes", lt_float(bytes / 1048576.0));
  lt_dict_put(&d, "parameters", lt_int(params));
  *out = d;
  return LT_OK;
}

static int p_list_weights(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  char **names;
  int64_t n;
  if (lts_hf_weight_names(h->m, &names, &n)) return lt_fail_shim();
  *out = lt_list_new(n);
  for (int64_t i = 0; i < n; i++) out->u.list.items[i] = lt_string_owned(names[i], strlen(names[i]));
  free(names);
  return LT_OK;
}

static int weight(lt_hf *h, const char *name, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_hf_weight(h->m, name, &t), &t, out);
}

static int p_get_weight(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  char name[512];
  if (a[1].u.str.len >= sizeof name) return lt_fail("argument 2 (name) is too long");
  return weight(h, lt_read_str(&a[1], name, sizeof name), out);
}

static int p_rms_eps(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  lts_hf_config c;
  lts_hf_config_of(h->m, &c);
  *out = lt_float(c.rms_eps);
  return LT_OK;
}

/* the weights of one layer; several parts are concatenated along dim 0 */
static int layer_weight(const lt_value *a, const char *const *parts, int n, lt_value *out) {
  MODEL(0, h);
  lts_hf_config c;
  lts_hf_config_of(h->m, &c);
  int64_t layer = lt_as_int(&a[1]);
  if (layer < 0 || layer >= c.layers)
    return lt_fail("argument 2 (layer) must be in [0, %lld), got %lld", (long long)c.layers, (long long)layer);
  lts_tensor *ts[3] = {NULL, NULL, NULL}, *t = NULL;
  int rc = LT_OK;
  for (int i = 0; i < n && rc == LT_OK; i++) {
    char name[160];
    snprintf(name, sizeof name, "model.layers.%lld.%s.weight", (long long)layer, parts[i]);
    if (lts_hf_weight(h->m, name, &ts[i])) rc = lt_fail_shim();
  }
  if (rc == LT_OK && n == 1) {
    t = ts[0];
    ts[0] = NULL;
  } else if (rc == LT_OK && lts_cat(ts, n, 0, 0, &t)) {
    rc = lt_fail_shim();
  }
  for (int i = 0; i < n; i++) lts_tensor_free(ts[i]);
  if (rc != LT_OK) return rc;
  *out = lt_handle_value(LT_H_TENSOR, t);
  return LT_OK;
}

#define LAYER_WEIGHT(fn, ...)                                   \
  static int fn(const lt_value *a, lt_value *out) {             \
    static const char *const parts[] = {__VA_ARGS__};           \
    return layer_weight(a, parts, sizeof parts / sizeof *parts, out); \
  }
LAYER_WEIGHT(p_q_weight, "self_attn.q_proj")
LAYER_WEIGHT(p_k_weight, "self_attn.k_proj")
LAYER_WEIGHT(p_v_weight, "self_attn.v_proj")
LAYER_WEIGHT(p_o_weight, "self_attn.o_proj")
LAYER_WEIGHT(p_qkv_weight, "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")
LAYER_WEIGHT(p_gate_weight, "mlp.gate_proj")
LAYER_WEIGHT(p_up_weight, "mlp.up_proj")
LAYER_WEIGHT(p_down_weight, "mlp.down_proj")
LAYER_WEIGHT(p_gate_up_weight, "mlp.gate_proj", "mlp.up_proj")

#define LAYER_ROW(name, fn, what) {name, NULL, "model:any layer:int", what " of a layer ([out, in], as in the checkpoint)", fn}
const lt_row lt_rows_hf[] = {
    {"torch_hf_load_model", NULL, "path:str ?config:dict",
     "a Llama-family model (llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text) from a Hugging Face folder: config.json + model.safetensors or "
     "shards; config: device dtype(float32; float16 on the CPU computes in float32 with libtorch 1.x, which has no "
     "float16 CPU kernels) max_seq_len rope_scaling temperature top_p top_k repetition_penalty "
     "use_kv_cache max_cache_len manual_attention output_attentions progress(fn done total); also known afterwards by its "
     "path, which keeps it loaded until another model is loaded under that name",
     p_load},
    {"torch_hf_forward", NULL, "model:any ids:any ?cache:any",
     "logits [batch, seq, vocab] of token ids ([seq], [batch, seq] or a list); with a cache, the ids follow the cached "
     "positions and are added to them",
     p_forward},
    {"torch_hf_forward_manual", NULL, "model:any ids:any ?cache:any",
     "torch_hf_forward through transformers' eager attention (scores in the model's dtype, softmax in float32; no "
     "fused kernel)",
     p_forward_manual},
    {"torch_hf_embeddings", NULL, "model:any ids:any", "input embeddings [batch, seq, hidden] of token ids", p_embeddings},
    {"torch_hf_enable_kv_cache", NULL, "model:any ?flag:bool",
     "a new, empty KV cache for the model (nil when flag is false); holds max_cache_len positions when the load config set it",
     p_enable_cache},
    {"torch_hf_reset_kv_cache", NULL, "cache:any", "empties a KV cache (positions restart at 0)", p_reset_cache},
    {"torch_hf_generate", NULL, "model:any tokens:any eos:any max_new:int ?options:dict",
     "up to max_new new tokens after tokens (KV cache), stopping after an eos id (an id or a list, included); options: "
     "greedy temperature topk topp repetition_penalty seed callback(fn token_id data) data; sampling by default",
     p_generate},
    {"torch_hf_model_info", NULL, "model:any", "dictionary of the configuration, size, dtype and device", p_info},
    {"torch_hf_model_summary", NULL, "model:any", "a few lines describing the model", p_summary},
    {"torch_hf_memory_usage", NULL, "model:any", "dictionary: bytes, megabytes, parameters", p_memory},
    {"torch_hf_list_weights", NULL, "model:any", "weight names, in checkpoint order", p_list_weights},
    {"torch_hf_get_weight", NULL, "model:any name:str", "a weight by its checkpoint name (the model's own tensor)", p_get_weight},
    {"torch_hf_get_rms_norm_eps", NULL, "model:any", "epsilon of the RMS norms", p_rms_eps},
    {"torch_hf_forward_attention_scores", NULL, "model:any layer:int ?cache:any",
     "attention probabilities [batch, heads, seq, keys] of a layer in the last forward; the first call starts recording "
     "(nil until a forward ran)",
     p_attention_scores},
    {"torch_hf_forward_attention_size", NULL, "model:any ?cache:any",
     "number of layers whose attention probabilities are recorded (starts recording)", p_attention_size},
    {"torch_hf_clear_attention_scores", NULL, "model:any ?cache:any", "drops the recorded probabilities and stops recording",
     p_attention_clear},
    LAYER_ROW("torch_hf_get_q_weight", p_q_weight, "query projection"),
    LAYER_ROW("torch_hf_get_k_weight", p_k_weight, "key projection"),
    LAYER_ROW("torch_hf_get_v_weight", p_v_weight, "value projection"),
    LAYER_ROW("torch_hf_get_o_weight", p_o_weight, "output projection"),
    LAYER_ROW("torch_hf_get_qkv_fused_weight", p_qkv_weight, "query, key and value projections stacked"),
    LAYER_ROW("torch_hf_get_gate_weight", p_gate_weight, "MLP gate projection"),
    LAYER_ROW("torch_hf_get_up_weight", p_up_weight, "MLP up projection"),
    LAYER_ROW("torch_hf_get_down_weight", p_down_weight, "MLP down projection"),
    LAYER_ROW("torch_hf_get_gate_up_fused_weight", p_gate_up_weight, "MLP gate and up projections stacked"),
    {NULL, NULL, NULL, NULL, NULL},
};
