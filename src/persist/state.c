/* state.c - section 8: module weights (safetensors files), state
 * dictionaries, training checkpoints (libtorch archives), safetensors
 * dictionaries. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lt_persist.h"
#include "lt_safetensors.h"

#define LT_PATH_MAX 4096

/* a path argument: a non-empty string without NUL bytes */
static int read_path(const lt_value *v, int argi, char *buf) {
  if (v->kind != LT_STRING) return lt_fail("argument %d (path) must be a string, got %s", argi, lt_kind_name(v));
  if (v->u.str.len == 0) return lt_fail("argument %d (path) is empty", argi);
  if (v->u.str.len >= LT_PATH_MAX) return lt_fail("argument %d (path) is too long (%zu bytes)", argi, v->u.str.len);
  if (memchr(v->u.str.s, 0, v->u.str.len)) return lt_fail("argument %d (path) holds a NUL character", argi);
  memcpy(buf, v->u.str.s, v->u.str.len);
  buf[v->u.str.len] = 0;
  return LT_OK;
}

static const char *opt_kind_name(int k) {
  switch (k) {
  case LTS_OPT_SGD: return "sgd";
  case LTS_OPT_ADAM: return "adam";
  case LTS_OPT_ADAMW: return "adamw";
  }
  return "unknown";
}

static int return_module(lts_module *m, lt_value *out) {
  lts_module *r = NULL;
  if (lts_module_ref(m, &r)) return lt_fail_shim();
  *out = lt_handle_value(LT_H_MODULE, r);
  return LT_OK;
}

/* the module's tensors (own tensors, new references) as a dictionary;
 * detach: views sharing storage without autograd history, as PyTorch */
static int module_dict(lts_module *m, int detach, lt_value *out) {
  char **names;
  lts_tensor **ts;
  int64_t n;
  if (lts_module_state(m, &names, &ts, &n)) return lt_fail_shim();
  lt_value d = lt_dict_new(n);
  int rc = LT_OK;
  for (int64_t i = 0; i < n; i++) {
    lts_tensor *t = ts[i];
    if (detach && rc == LT_OK) {
      lts_tensor *dt = NULL;
      if (lts_unary(LTS_U_DETACH, t, &dt)) rc = lt_fail_shim();
      lts_tensor_free(t);
      t = dt;
    }
    if (t) lt_dict_put(&d, names[i], lt_handle_value(LT_H_TENSOR, t));
    free(names[i]);
  }
  free(names);
  free(ts);
  if (rc != LT_OK) {
    lt_value_clear(&d);
    return rc;
  }
  *out = d;
  return LT_OK;
}

/* loads a dictionary name -> tensor into m (strict; m untouched on error) */
static int load_dict(lts_module *m, const lt_value *d, const char *where) {
  int64_t n = d->u.dict.n;
  lts_tensor **ts = (lts_tensor **)malloc(sizeof(lts_tensor *) * (size_t)(n ? n : 1));
  if (!ts) return lt_fail("out of memory");
  for (int64_t i = 0; i < n; i++) {
    if (!lt_is_tensor(&d->u.dict.vals[i])) {
      free(ts);
      return lt_fail("%s\"%s\" must map to a tensor, got %s", where, d->u.dict.keys[i], lt_kind_name(&d->u.dict.vals[i]));
    }
    ts[i] = lt_tensor_of(&d->u.dict.vals[i]);
  }
  int rc = lts_module_load_state(m, d->u.dict.keys, ts, n);
  free(ts);
  if (rc) return where[0] ? lt_fail("%s%s", where, lts_last_error()) : lt_fail_shim();
  return LT_OK;
}

/* ---- torch_save_model / torch_load_model ---- */

/* which of two arguments is the module and which the path */
static int module_and_path(const lt_value *a, const lt_value *b, lts_module **m, char *path) {
  if (lt_is_module(a) && b->kind == LT_STRING) {
    *m = lt_module_of(a);
    return read_path(b, 2, path);
  }
  if (a->kind == LT_STRING && lt_is_module(b)) {
    *m = lt_module_of(b);
    return read_path(a, 1, path);
  }
  return lt_fail("expects a module and a path string, in either order; got %s and %s", lt_kind_name(a), lt_kind_name(b));
}

int lt_p_save_model(const lt_value *a, lt_value *out) {
  lts_module *m;
  char path[LT_PATH_MAX];
  if (module_and_path(&a[0], &a[1], &m, path) != LT_OK) return LT_ERROR;
  lt_value d;
  if (module_dict(m, 0, &d) != LT_OK) return LT_ERROR;
  char desc[256];
  lts_module_describe(m, desc, sizeof desc);
  lt_value meta = lt_dict_new(3);
  lt_dict_put(&meta, "format", lt_string_cstr("pt"));
  lt_dict_put(&meta, "lispe_torch.module", lt_string_cstr(lts_module_kind_name(lts_module_kind_of(m))));
  lt_dict_put(&meta, "lispe_torch.describe", lt_string_cstr(desc));
  int rc = lt_safetensors_save(path, &d, &meta);
  lt_value_clear(&d);
  lt_value_clear(&meta);
  if (rc != LT_OK) return LT_ERROR;
  *out = lt_bool(1);
  return LT_OK;
}

/* "key=value" in a description such as "mlp(in=4, hidden=8, out=2)" */
static const char *desc_field(const char *desc, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = strstr(desc, key); p; p = strstr(p + 1, key))
    if ((p == desc || p[-1] == '(' || p[-1] == ' ') && p[kl] == '=') return p + kl + 1;
  return NULL;
}

static int desc_int(const char *desc, const char *key, int64_t *out) {
  const char *v = desc_field(desc, key);
  if (!v) return -1;
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (end == v || errno || x <= 0) return -1;
  *out = x;
  return 0;
}

/* a new module of the kind and sizes recorded by torch_save_model */
static int rebuild_module(const char *path, const lt_value *meta, lts_module **m) {
  const lt_value *kv = lt_dict_get(meta, "lispe_torch.module"), *dv = lt_dict_get(meta, "lispe_torch.describe");
  if (!kv || !dv || kv->kind != LT_STRING || dv->kind != LT_STRING)
    return lt_fail("%s was not written by torch_save_model: give a module to load the weights into, "
                   "(torch_load_model path module)", path);
  char kind[64], desc[256];
  lt_read_str(kv, kind, sizeof kind);
  lt_read_str(dv, desc, sizeof desc);
  int64_t a = 0, b = 0, c = 0;
  int rc = -1, bad = 0;
  *m = NULL;
  if (!strcmp(kind, "linear")) {
    const char *bias = desc_field(desc, "bias");
    bad = desc_int(desc, "in", &a) || desc_int(desc, "out", &b) || !bias;
    if (!bad) rc = lts_linear_new(a, b, strncmp(bias, "True", 4) == 0, m);
  } else if (!strcmp(kind, "mlp")) {
    bad = desc_int(desc, "in", &a) || desc_int(desc, "hidden", &b) || desc_int(desc, "out", &c);
    if (!bad) rc = lts_mlp_new(a, b, c, m);
  } else if (!strcmp(kind, "embedding")) {
    bad = desc_int(desc, "n", &a) || desc_int(desc, "dim", &b);
    if (!bad) rc = lts_embedding_new(a, b, m);
  } else if (!strcmp(kind, "layer_norm")) {
    const char *s = desc_field(desc, "shape");
    int64_t dims[LTS_MAX_DIMS];
    int nd = 0;
    bad = !s || *s != '[';
    for (const char *p = s ? s + 1 : NULL; !bad && p && *p && *p != ']';) {
      char *end;
      long long x = strtoll(p, &end, 10);
      if (end == p || x <= 0 || nd == LTS_MAX_DIMS) bad = 1;
      else dims[nd++] = x;
      p = end;
      while (*p == ',' || *p == ' ') p++;
    }
    if (!bad && nd > 0) rc = lts_layer_norm_new(dims, nd, 1e-5, m);
    else bad = 1;
  } else if (!strcmp(kind, "multihead_attention")) {
    bad = desc_int(desc, "embed", &a) || desc_int(desc, "heads", &b);
    if (!bad) rc = lts_mha_new(a, b, m);
  } else if (!strcmp(kind, "transformer_block")) {
    bad = desc_int(desc, "embed", &a) || desc_int(desc, "heads", &b) || desc_int(desc, "ffn", &c);
    if (!bad) rc = lts_block_new(a, b, c, m);
  } else if (!strcmp(kind, "positional_encoding")) {
    bad = desc_int(desc, "d_model", &a) || desc_int(desc, "max_len", &b);
    if (!bad) rc = lts_posenc_new(a, b, m);
  } else if (!strcmp(kind, "rotary_embedding")) {
    bad = desc_int(desc, "dim", &a) || desc_int(desc, "max_seq_len", &b) || desc_int(desc, "base", &c);
    if (!bad) rc = lts_rotary_new(a, b, (double)c, m);
  } else if (!strcmp(kind, "flash_attention")) {
    const char *bias = desc_field(desc, "bias"), *drop = desc_field(desc, "dropout");
    char *end = NULL;
    double p = drop ? strtod(drop, &end) : -1;
    bad = desc_int(desc, "embed", &a) || desc_int(desc, "heads", &b) || !bias || !drop || end == drop || !(p >= 0 && p < 1);
    if (!bad) rc = lts_flash_new(a, b, p, strncmp(bias, "True", 4) == 0, m);
  } else {
    return lt_fail("%s holds a %s, which torch_load_model cannot rebuild: give a module to load the weights into", path, kind);
  }
  if (bad) return lt_fail("%s: cannot read the sizes of the %s from \"%s\": give a module to load the weights into", path, kind, desc);
  if (rc) return lt_fail("%s: rebuilding a %s: %s", path, kind, lts_last_error());
  return LT_OK;
}

/* the dtype shared by every floating tensor of d, or -1 */
static int common_float_dtype(const lt_value *d) {
  int dt = -1;
  for (int64_t i = 0; i < d->u.dict.n; i++) {
    lts_tensor *t = lt_tensor_of(&d->u.dict.vals[i]);
    if (!lts_is_floating(t)) continue;
    int k = (int)lts_dtype(t);
    if (dt >= 0 && k != dt) return -1;
    dt = k;
  }
  return dt;
}

/* 1 when the file starts as a zip archive (a libtorch checkpoint) */
static int is_zip(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  unsigned char b[4] = {0};
  ssize_t r = read(fd, b, 4);
  close(fd);
  return r == 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
}

int lt_p_load_model(const lt_value *a, lt_value *out) {
  lts_module *m = NULL;
  char path[LT_PATH_MAX];
  if (!lt_present(&a[1])) {
    if (read_path(&a[0], 1, path) != LT_OK)
      return lt_fail("expects a path string and a module, in either order (or only a path); got %s", lt_kind_name(&a[0]));
  } else if (module_and_path(&a[0], &a[1], &m, path) != LT_OK) {
    return LT_ERROR;
  }
  if (is_zip(path)) {
    /* the weights of a checkpoint written by torch_save_checkpoint */
    if (!m) return lt_fail("%s is a checkpoint: give a module to load its weights into, (torch_load_model path module)", path);
    if (lts_checkpoint_read(path, m, NULL, NULL, NULL, NULL, NULL)) return lt_fail_shim();
    return return_module(m, out);
  }
  lt_value d, meta;
  if (lt_safetensors_load(path, NULL, &d, &meta) != LT_OK) return LT_ERROR;
  int rc = LT_OK, made = 0;
  const lt_value *kv = lt_dict_get(&meta, "lispe_torch.module");
  if (m && kv && kv->kind == LT_STRING) {
    const char *want = lts_module_kind_name(lts_module_kind_of(m));
    if (strlen(want) != kv->u.str.len || memcmp(want, kv->u.str.s, kv->u.str.len) != 0)
      rc = lt_fail("%s holds the weights of a %.*s, not of a %s", path, (int)(kv->u.str.len > 60 ? 60 : kv->u.str.len),
                   kv->u.str.s, want);
  }
  if (rc == LT_OK && !m) {
    rc = rebuild_module(path, &meta, &m);
    made = rc == LT_OK;
    int dt = rc == LT_OK ? common_float_dtype(&d) : -1;
    if (rc == LT_OK && dt >= 0 && dt != LT_F32 && lts_module_to(m, dt, NULL)) rc = lt_fail_shim();
  }
  if (rc == LT_OK) {
    char where[LT_PATH_MAX + 8];
    snprintf(where, sizeof where, "%s: ", path);
    rc = load_dict(m, &d, where);
  }
  lt_value_clear(&d);
  lt_value_clear(&meta);
  if (rc == LT_OK) rc = return_module(m, out);
  if (made) lts_module_free(m);
  return rc;
}

/* ---- state dictionaries ---- */

int lt_p_state_dict(const lt_value *a, lt_value *out) { return module_dict(lt_module_of(&a[0]), 1, out); }

int lt_p_load_state_dict(const lt_value *a, lt_value *out) {
  lts_module *m = lt_module_of(&a[0]);
  if (load_dict(m, &a[1], "") != LT_OK) return LT_ERROR;
  return return_module(m, out);
}

/* ---- checkpoints ---- */

int lt_p_save_checkpoint(const lt_value *a, lt_value *out) {
  int64_t epoch = lt_as_int(&a[2]);
  if (epoch < 0) return lt_fail("argument 3 (epoch) must be a non-negative integer, got %lld", (long long)epoch);
  char path[LT_PATH_MAX];
  if (read_path(&a[3], 4, path) != LT_OK) return LT_ERROR;
  if (lts_save_checkpoint(path, lt_module_of(&a[0]), lt_optimizer_of(&a[1]), epoch)) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

int lt_p_load_checkpoint(const lt_value *a, lt_value *out) {
  char path[LT_PATH_MAX];
  if (read_path(&a[0], 1, path) != LT_OK) return LT_ERROR;
  lts_module *m = lt_present(&a[1]) ? lt_module_of(&a[1]) : NULL;
  lts_optimizer *o = lt_present(&a[2]) ? lt_optimizer_of(&a[2]) : NULL;
  lts_checkpoint_info info;
  char **names = NULL;
  lts_tensor **ts = NULL;
  int64_t n = 0;
  if (lts_checkpoint_read(path, m, o, &info, m ? NULL : &names, m ? NULL : &ts, m ? NULL : &n)) return lt_fail_shim();
  lt_value d = lt_dict_new(4);
  lt_dict_put(&d, "epoch", lt_int(info.epoch));
  if (info.model_kind >= 0)
    lt_dict_put(&d, "model_kind", lt_string_cstr(lts_module_kind_name((lts_module_kind)info.model_kind)));
  if (info.optimizer_kind >= 0) lt_dict_put(&d, "optimizer_kind", lt_string_cstr(opt_kind_name(info.optimizer_kind)));
  if (!m && n > 0) {
    lt_value sd = lt_dict_new(n);
    for (int64_t i = 0; i < n; i++) {
      lt_dict_put(&sd, names[i], lt_handle_value(LT_H_TENSOR, ts[i]));
      free(names[i]);
    }
    lt_dict_put(&d, "model_state_dict", sd);
  }
  free(names);
  free(ts);
  *out = d;
  return LT_OK;
}

/* ---- safetensors ---- */

int lt_p_safetensors_save(const lt_value *a, lt_value *out) {
  char path[LT_PATH_MAX];
  if (read_path(&a[1], 2, path) != LT_OK) return LT_ERROR;
  if (lt_safetensors_save(path, &a[0], lt_present(&a[2]) ? &a[2] : NULL) != LT_OK) return LT_ERROR;
  *out = lt_bool(1);
  return LT_OK;
}

int lt_p_safetensors_load(const lt_value *a, lt_value *out) {
  char path[LT_PATH_MAX], dev[64];
  if (read_path(&a[0], 1, path) != LT_OK) return LT_ERROR;
  return lt_safetensors_load(path, lt_read_device(&a[1], dev, sizeof dev), out, NULL);
}

int lt_p_safetensors_metadata(const lt_value *a, lt_value *out) {
  char path[LT_PATH_MAX];
  if (read_path(&a[0], 1, path) != LT_OK) return LT_ERROR;
  return lt_safetensors_metadata(path, out);
}
