/* hf_load.c - a Hugging Face model folder: config.json and the safetensors
 * weights (one file, or shards listed by model.safetensors.index.json). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "hf_internal.h"
#include "lt_safetensors.h"

static char *join(const char *dir, const char *file) {
  size_t n = strlen(dir) + strlen(file) + 2;
  char *p = (char *)malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, file);
  return p;
}

static int is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static json_object *read_json(const char *dir, const char *file) {
  char *path = join(dir, file);
  if (!path) return NULL;
  json_object *o = json_object_from_file(path);
  if (!o) {
    const char *e = json_util_get_last_err();
    size_t n = e ? strlen(e) : 0;
    while (n && (e[n - 1] == '\n' || e[n - 1] == ' ')) n--;
    lt_fail("cannot read %s: %.*s", path, (int)n, e ? e : "");
  }
  else if (!json_object_is_type(o, json_type_object)) {
    lt_fail("%s does not hold a JSON object", path);
    json_object_put(o);
    o = NULL;
  }
  free(path);
  return o;
}

/* a key that is absent or null */
static json_object *get(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) return NULL;
  return v;
}

static int get_int(json_object *o, const char *key, int64_t dflt, int required, int64_t *out) {
  json_object *v = get(o, key);
  if (!v) {
    if (required) return lt_fail("config.json has no %s", key);
    *out = dflt;
    return LT_OK;
  }
  if (!json_object_is_type(v, json_type_int)) return lt_fail("config.json: %s must be an integer", key);
  *out = json_object_get_int64(v);
  return LT_OK;
}

static int get_num(json_object *o, const char *key, double dflt, double *out) {
  json_object *v = get(o, key);
  if (!v) {
    *out = dflt;
    return LT_OK;
  }
  if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
    return lt_fail("config.json: %s must be a number", key);
  *out = json_object_get_double(v);
  return LT_OK;
}

static const char *get_str(json_object *o, const char *key) {
  json_object *v = get(o, key);
  return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* a number whose null means "none" (0), absent means dflt */
static int get_num_or_none(json_object *o, const char *key, double dflt, double *out) {
  json_object *v = NULL;
  if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_null)) {
    *out = 0;
    return LT_OK;
  }
  return get_num(o, key, dflt, out);
}

static int get_bool(json_object *o, const char *key, int dflt) {
  json_object *v = get(o, key);
  return v ? json_object_get_boolean(v) : dflt;
}

/* rope_scaling (transformers < 5) or rope_parameters (>= 5); Gemma 3 gives
 * its sliding layers a default rope of their own: rope_local_base_freq, or
 * rope_parameters per layer type */
static int read_rope(json_object *root, lts_hf_config *c, int local) {
  json_object *rp = get(root, "rope_parameters");
  if (local) {
    json_object *sliding = rp ? get(rp, "sliding_attention") : NULL;
    if (rp && get(rp, "full_attention")) rp = get(rp, "full_attention");
    const char *t = sliding ? get_str(sliding, "rope_type") : NULL;
    if (t && strcmp(t, "default") != 0) return lt_fail("config.json: rope \"%s\" for sliding layers is not supported (default)", t);
    if (get_num(sliding ? sliding : root, sliding ? "rope_theta" : "rope_local_base_freq", 10000.0, &c->rope_local_theta) != LT_OK)
      return LT_ERROR;
    if (!(c->rope_local_theta > 1)) return lt_fail("config.json: the sliding layers' rope_theta must be greater than 1");
  }
  json_object *rs = rp ? rp : get(root, "rope_scaling");
  if (get_num(rp && get(rp, "rope_theta") ? rp : root, "rope_theta", local ? 1e6 : 10000.0, &c->rope_theta) != LT_OK)
    return LT_ERROR;
  c->rope_kind = LTS_ROPE_DEFAULT;
  if (!rs) return LT_OK;
  if (!json_object_is_type(rs, json_type_object)) return lt_fail("config.json: rope_scaling must be an object");
  const char *type = get_str(rs, "rope_type");
  if (!type) type = get_str(rs, "type");
  if (!type || strcmp(type, "default") == 0) return LT_OK;
  if (get_num(rs, "factor", 1.0, &c->rope_factor) != LT_OK) return LT_ERROR;
  if (strcmp(type, "linear") == 0) {
    c->rope_kind = LTS_ROPE_LINEAR;
    return LT_OK;
  }
  if (strcmp(type, "llama3") == 0) {
    c->rope_kind = LTS_ROPE_LLAMA3;
    if (get_num(rs, "low_freq_factor", 1.0, &c->rope_low_freq) != LT_OK ||
        get_num(rs, "high_freq_factor", 4.0, &c->rope_high_freq) != LT_OK ||
        get_int(rs, "original_max_position_embeddings", 8192, 0, &c->rope_original_max) != LT_OK)
      return LT_ERROR;
    return LT_OK;
  }
  return lt_fail("config.json: rope scaling \"%s\" is not supported (default, linear, llama3)", type);
}

/* the gated MLP's activation: silu, or for Gemma the tanh-approximated GELU
 * (Gemma 1's configs say "gelu" and mean it, as transformers reads them) */
static int read_activation(json_object *root, const char *mt, int gemma, lts_hf_act *act) {
  const char *a = get_str(root, "hidden_activation");
  if (!a) a = get_str(root, "hidden_act");
  *act = gemma ? LTS_ACT_GELU_TANH : LTS_ACT_SILU;
  if (!a) return LT_OK;
  if (!gemma && strcmp(a, "silu") == 0) return LT_OK;
  if (gemma && (strcmp(a, "gelu_pytorch_tanh") == 0 || (strcmp(mt, "gemma") == 0 && strcmp(a, "gelu") == 0))) return LT_OK;
  return lt_fail("config.json: activation \"%s\" is not supported for %s (%s)", a, mt, gemma ? "gelu_pytorch_tanh" : "silu");
}

/* which layers attend within the sliding window: layer_types when given,
 * else all but every pattern-th one (1: every layer, Mistral; 2: every other
 * one from the first, Gemma 2; 6: Gemma 3) */
static int read_layer_types(json_object *root, lts_hf_config *c, int64_t pattern) {
  if (c->layers > LTS_HF_MAX_LAYERS) return lt_fail("config.json: more than %d layers", LTS_HF_MAX_LAYERS);
  json_object *lt = get(root, "layer_types");
  if (lt && (!json_object_is_type(lt, json_type_array) || (int64_t)json_object_array_length(lt) != c->layers))
    return lt_fail("config.json: layer_types must list one type per layer (%lld)", (long long)c->layers);
  for (int64_t i = 0; i < c->layers; i++) {
    if (!lt) {
      c->sliding[i] = pattern == 1 || (i + 1) % pattern != 0;
      continue;
    }
    const char *t = json_object_get_string(json_object_array_get_idx(lt, (size_t)i));
    if (t && strcmp(t, "sliding_attention") == 0) c->sliding[i] = 1;
    else if (t && strcmp(t, "full_attention") == 0) c->sliding[i] = 0;
    else return lt_fail("config.json: layer_types[%lld] \"%s\" is not sliding_attention or full_attention", (long long)i, t ? t : "");
  }
  return LT_OK;
}

static int read_config(json_object *root, lts_hf_config *c, char *type, size_t type_len) {
  memset(c, 0, sizeof *c);
  const char *mt = get_str(root, "model_type");
  if (!mt) return lt_fail("config.json has no model_type");
  static const char *known[] = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text"};
  int ok = 0;
  for (size_t i = 0; i < sizeof known / sizeof *known; i++) ok |= strcmp(mt, known[i]) == 0;
  if (!ok) return lt_fail("model_type \"%s\" is not supported (llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text)", mt);
  snprintf(type, type_len, "%s", mt);
  int gemma3 = strcmp(mt, "gemma3_text") == 0, gemma2 = strcmp(mt, "gemma2") == 0 || gemma3;
  int gemma = strcmp(mt, "gemma") == 0 || gemma2;
  if (read_activation(root, mt, gemma, &c->act) != LT_OK) return LT_ERROR;
  double partial = 1;
  if (get_num(root, "partial_rotary_factor", 1.0, &partial) != LT_OK) return LT_ERROR;
  if (partial != 1) return lt_fail("config.json: partial_rotary_factor %g is not supported", partial);
  if (get_int(root, "vocab_size", 0, 1, &c->vocab) != LT_OK || get_int(root, "hidden_size", 0, 1, &c->hidden) != LT_OK ||
      get_int(root, "intermediate_size", 0, 1, &c->intermediate) != LT_OK ||
      get_int(root, "num_hidden_layers", 0, 1, &c->layers) != LT_OK ||
      get_int(root, "num_attention_heads", 0, 1, &c->heads) != LT_OK)
    return LT_ERROR;
  if (c->heads <= 0) return lt_fail("config.json: num_attention_heads must be positive");
  if (get_int(root, "num_key_value_heads", c->heads, 0, &c->kv_heads) != LT_OK ||
      get_int(root, "head_dim", c->hidden / c->heads, 0, &c->head_dim) != LT_OK ||
      get_int(root, "max_position_embeddings", 2048, 0, &c->max_positions) != LT_OK ||
      get_num(root, "rms_norm_eps", 1e-6, &c->rms_eps) != LT_OK || read_rope(root, c, gemma3) != LT_OK)
    return LT_ERROR;
  /* transformers' defaults: Gemma ties its head to the embeddings */
  c->tie_embeddings = get_bool(root, "tie_word_embeddings", gemma);
  c->norm_plus_one = c->embed_scaled = gemma;
  if (gemma2) {  /* and Gemma 3, which keeps the soft-capping off by default */
    c->sandwich_norms = 1;
    if (get_num(root, "query_pre_attn_scalar", 256, &c->attn_scalar) != LT_OK ||
        get_num_or_none(root, "attn_logit_softcapping", gemma3 ? 0 : 50, &c->attn_softcap) != LT_OK ||
        get_num_or_none(root, "final_logit_softcapping", gemma3 ? 0 : 30, &c->final_softcap) != LT_OK)
      return LT_ERROR;
    if (c->attn_scalar <= 0 || c->attn_softcap < 0 || c->final_softcap < 0)
      return lt_fail("config.json: query_pre_attn_scalar and the soft-capping values must be positive");
    if (get_bool(root, "use_bidirectional_attention", 0))
      return lt_fail("config.json: use_bidirectional_attention is not supported (causal language models only)");
  }
  if (strcmp(mt, "mistral") == 0 || gemma2) {
    int64_t pattern = 1;  /* Mistral: every layer slides */
    if (gemma2 && get_int(root, "sliding_window_pattern", gemma3 ? 6 : 2, 0, &pattern) != LT_OK) return LT_ERROR;
    if (pattern < 1) return lt_fail("config.json: sliding_window_pattern must be positive");
    if (get_int(root, "sliding_window", gemma2 ? 4096 : 0, 0, &c->sliding_window) != LT_OK) return LT_ERROR;
    return read_layer_types(root, c, pattern);
  }
  if (strcmp(mt, "llama") != 0 && get_bool(root, "use_sliding_window", 0))
    return lt_fail("config.json: use_sliding_window is not supported for %s", mt);
  return LT_OK;
}

int lt_hf_read_config(const char *dir, lts_hf_config *c, char *type, size_t type_len) {
  json_object *root = read_json(dir, "config.json");
  if (!root) return LT_ERROR;
  int rc = read_config(root, c, type, type_len);
  json_object_put(root);
  return rc;
}

/* moves every entry of from into into (from is left empty) */
static int merge(lt_value *into, lt_value *from) {
  for (int64_t i = 0; i < from->u.dict.n; i++) {
    if (lt_dict_get(into, from->u.dict.keys[i])) return lt_fail("weight %s is in two shards", from->u.dict.keys[i]);
    lt_dict_put(into, from->u.dict.keys[i], from->u.dict.vals[i]);
    from->u.dict.vals[i] = lt_nil();
  }
  return LT_OK;
}

static int read_shards(const char *dir, lt_value *weights, void (*progress)(void *, int, int), void *ctx) {
  json_object *root = read_json(dir, "model.safetensors.index.json");
  if (!root) return LT_ERROR;
  json_object *map = get(root, "weight_map");
  int rc = LT_OK;
  const char **files = NULL;
  int nfiles = 0;
  if (!map || !json_object_is_type(map, json_type_object)) {
    rc = lt_fail("model.safetensors.index.json has no weight_map object");
    goto done;
  }
  files = (const char **)calloc((size_t)json_object_object_length(map) + 1, sizeof *files);
  json_object_object_foreach(map, name, file) {
    const char *f = json_object_is_type(file, json_type_string) ? json_object_get_string(file) : NULL;
    if (!f || !*f || strchr(f, '/') || strcmp(f, "..") == 0) {
      rc = lt_fail("model.safetensors.index.json: weight %s names no file of the folder", name);
      goto done;
    }
    int seen = 0;
    for (int i = 0; i < nfiles && !seen; i++) seen = strcmp(files[i], f) == 0;
    if (!seen) files[nfiles++] = f;
  }
  *weights = lt_dict_new(0);
  for (int i = 0; i < nfiles && rc == LT_OK; i++) {
    char *path = join(dir, files[i]);
    lt_value part = lt_nil();
    rc = path ? lt_safetensors_load(path, NULL, &part, NULL) : lt_fail("out of memory");
    if (rc == LT_OK) rc = merge(weights, &part);
    lt_value_clear(&part);
    free(path);
    if (rc == LT_OK && progress) progress(ctx, i + 1, nfiles);
  }
  if (rc == LT_OK) {
    json_object_object_foreach(map, wname, wfile) {
      (void)wfile;
      if (!lt_dict_get(weights, wname)) {
        rc = lt_fail("weight %s listed by model.safetensors.index.json is in none of the shards", wname);
        break;
      }
    }
  }
  if (rc != LT_OK) lt_value_clear(weights);
done:
  free(files);
  json_object_put(root);
  return rc;
}

int lt_hf_read_weights(const char *dir, lt_value *weights, void (*progress)(void *, int, int), void *ctx) {
  *weights = lt_nil();
  char *single = join(dir, "model.safetensors"), *index = join(dir, "model.safetensors.index.json");
  int rc;
  if (!single || !index) rc = lt_fail("out of memory");
  else if (is_file(single)) {
    rc = lt_safetensors_load(single, NULL, weights, NULL);
    if (rc == LT_OK && progress) progress(ctx, 1, 1);
  } else if (is_file(index)) {
    rc = read_shards(dir, weights, progress, ctx);
  } else {
    rc = lt_fail("%s holds neither model.safetensors nor model.safetensors.index.json", dir);
  }
  free(single);
  free(index);
  return rc;
}
