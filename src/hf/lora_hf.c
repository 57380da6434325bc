/* lora_hf.c - section 11: LoRA on Hugging Face models, saved and loaded in
 * PEFT's layout (adapter_model.safetensors + adapter_config.json) so that
 * PEFT reads our adapters and we read PEFT's. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hf_internal.h"
#include "lt_safetensors.h"

#define MODEL(i, var) \
  lt_hf *var;         \
  if (lt_hf_model_arg(&a[i], i + 1, &var) != LT_OK) return LT_ERROR

/* targets: a string or a list of strings, into a malloc'd array of borrowed
 * pointers into scratch (each NUL-terminated) */
static int read_targets(const lt_value *v, const char ***out, int *n, char **scratch) {
  *out = NULL;
  *n = 0;
  *scratch = NULL;
  int64_t k = v->kind == LT_STRING ? 1 : v->kind == LT_LIST ? v->u.list.n : -1;
  if (k < 0) return lt_fail("target_modules must be a string or a list of strings, got %s", lt_kind_name(v));
  size_t total = 0;
  for (int64_t i = 0; i < k; i++) {
    const lt_value *s = v->kind == LT_STRING ? v : &v->u.list.items[i];
    if (s->kind != LT_STRING) return lt_fail("target_modules must hold strings, got %s", lt_kind_name(s));
    total += s->u.str.len + 1;
  }
  *scratch = (char *)malloc(total + 1);
  *out = (const char **)malloc((size_t)(k + 1) * sizeof(char *));
  if (!*scratch || !*out) return lt_fail("out of memory");
  char *p = *scratch;
  for (int64_t i = 0; i < k; i++) {
    const lt_value *s = v->kind == LT_STRING ? v : &v->u.list.items[i];
    memcpy(p, s->u.str.s, s->u.str.len);
    p[s->u.str.len] = 0;
    (*out)[i] = p;
    p += s->u.str.len + 1;
  }
  *n = (int)k;
  return LT_OK;
}

static int64_t adapter_elements(lt_hf *h) {
  lts_tensor **ts;
  int64_t n, total = 0;
  if (lts_hf_lora_parameters(h->m, &ts, &n)) return -1;
  for (int64_t i = 0; i < n; i++) {
    total += lts_numel(ts[i]);
    lts_tensor_free(ts[i]);
  }
  free(ts);
  return total;
}

/* (model rank alpha targets [dtype]) or (model config): returns the number
 * of trainable adapter values */
static int p_lora_init(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  int64_t rank = 8;
  double alpha = 8;  /* PEFT's defaults */
  int rslora = 0, dt = -1;
  double dropout = 0;
  const lt_value *targets = NULL, *dtype = lt_present(&a[4]) ? &a[4] : NULL;
  lt_value dflt = lt_list_new(2);
  dflt.u.list.items[0] = lt_string_cstr("q_proj");
  dflt.u.list.items[1] = lt_string_cstr("v_proj");
  int rc = LT_OK;
  if (a[1].kind == LT_DICT) {
    for (int64_t i = 0; i < a[1].u.dict.n && rc == LT_OK; i++) {
      const char *k = a[1].u.dict.keys[i];
      const lt_value *v = &a[1].u.dict.vals[i];
      int num = v->kind == LT_INT || v->kind == LT_FLOAT;
      if (strcmp(k, "rank") == 0 || strcmp(k, "r") == 0) rank = num ? lt_as_int(v) : -1;
      else if (strcmp(k, "alpha") == 0 || strcmp(k, "lora_alpha") == 0) alpha = num ? lt_as_num(v) : -1;
      else if (strcmp(k, "target_modules") == 0 || strcmp(k, "targets") == 0) targets = v;
      else if (strcmp(k, "dtype") == 0) dtype = v;
      else if (strcmp(k, "use_rslora") == 0) rslora = lt_as_bool(v);
      else if (strcmp(k, "lora_dropout") == 0 || strcmp(k, "dropout") == 0) {
        dropout = num ? lt_as_num(v) : -1;
        if (!(dropout >= 0 && dropout <= 1)) rc = lt_fail("lora_dropout must be a number in [0, 1]");
      } else rc = lt_fail("LoRA config key \"%s\" is unknown (rank alpha target_modules dtype use_rslora lora_dropout)", k);
    }
  } else if (a[1].kind == LT_INT || a[1].kind == LT_FLOAT) {
    rank = lt_as_int(&a[1]);
    if (lt_present(&a[2])) alpha = lt_as_num(&a[2]);
    if (lt_present(&a[3])) targets = &a[3];
  } else {
    rc = lt_fail("argument 2 must be the rank or a LoRA config dictionary, got %s", lt_kind_name(&a[1]));
  }
  if (rc == LT_OK && dtype) {
    lt_dtype d;
    if (dtype->kind != LT_STRING || lt_dtype_parse(dtype->u.str.s, dtype->u.str.len, &d) != 0 ||
        (d != LT_F32 && d != LT_F64 && d != LT_F16 && d != LT_BF16))
      rc = lt_fail("LoRA dtype must be float32, float64, float16 or bfloat16");
    else dt = (int)d;
  }
  const char **names = NULL;
  char *scratch = NULL;
  int n = 0;
  if (rc == LT_OK) rc = read_targets(targets ? targets : &dflt, &names, &n, &scratch);
  if (rc == LT_OK && lts_hf_lora_init(h->m, rank, alpha, names, n, dt, rslora)) rc = lt_fail_shim();
  if (rc == LT_OK && lts_hf_lora_set_dropout(h->m, dropout)) rc = lt_fail_shim();
  free(names);
  free(scratch);
  lt_value_clear(&dflt);
  if (rc != LT_OK) return rc;
  *out = lt_int(adapter_elements(h));
  return LT_OK;
}

static int p_lora_parameters(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  lts_tensor **ts;
  int64_t n;
  if (lts_hf_lora_parameters(h->m, &ts, &n)) return lt_fail_shim();
  if (n == 0) {
    free(ts);
    return lt_fail("the model has no LoRA adapters (torch_hf_lora_init or torch_hf_lora_load first)");
  }
  *out = lt_tensor_list(ts, n);
  return LT_OK;
}

/* mkdir -p */
static int make_dirs(const char *dir) {
  char *p = strdup(dir);
  if (!p) return lt_fail("out of memory");
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == 0) {
      char c = *s;
      *s = 0;
      if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        free(p);
        return lt_fail("cannot create the folder %s: %s", dir, strerror(e));
      }
      *s = c;
      if (!c) break;
    }
  }
  free(p);
  return LT_OK;
}

static char *join(const char *dir, const char *file) {
  size_t n = strlen(dir) + strlen(file) + 2;
  char *p = (char *)malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, file);
  return p;
}

/* adapter_config.json as PEFT writes it (the fields PEFT needs to load) */
static int write_config(const char *dir, lt_hf *h, const lts_lora_info *info) {
  json_object *o = json_object_new_object(), *t = json_object_new_array();
  for (int p = 0; p < 7; p++)
    if (info->targets & (1u << p)) json_object_array_add(t, json_object_new_string(lts_hf_lora_target_name(p)));
  json_object_object_add(o, "alpha_pattern", json_object_new_object());
  json_object_object_add(o, "base_model_name_or_path", json_object_new_string(h->name));
  json_object_object_add(o, "bias", json_object_new_string("none"));
  json_object_object_add(o, "fan_in_fan_out", json_object_new_boolean(0));
  json_object_object_add(o, "inference_mode", json_object_new_boolean(1));
  json_object_object_add(o, "init_lora_weights", json_object_new_boolean(1));
  json_object_object_add(o, "layers_to_transform", NULL);
  json_object_object_add(o, "lora_alpha", info->alpha == (int64_t)info->alpha ? json_object_new_int64((int64_t)info->alpha)
                                                                                : json_object_new_double(info->alpha));
  json_object_object_add(o, "lora_dropout", json_object_new_double(info->dropout));
  json_object_object_add(o, "modules_to_save", NULL);
  json_object_object_add(o, "peft_type", json_object_new_string("LORA"));
  json_object_object_add(o, "r", json_object_new_int64(info->rank));
  json_object_object_add(o, "rank_pattern", json_object_new_object());
  json_object_object_add(o, "target_modules", t);
  json_object_object_add(o, "task_type", json_object_new_string("CAUSAL_LM"));
  json_object_object_add(o, "use_dora", json_object_new_boolean(0));
  json_object_object_add(o, "use_rslora", json_object_new_boolean(info->rslora));
  char *path = join(dir, "adapter_config.json"), *tmp = join(dir, "adapter_config.json.tmp");
  int rc = LT_OK;
  if (!path || !tmp) rc = lt_fail("out of memory");
  else {
    FILE *f = fopen(tmp, "w");
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
    if (!f) rc = lt_fail("cannot write %s: %s", tmp, strerror(errno));
    else {
      int bad = fputs(text, f) < 0 || fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0;
      bad |= fclose(f) != 0;
      if (bad || rename(tmp, path) != 0) {
        rc = lt_fail("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
      }
    }
  }
  free(path);
  free(tmp);
  json_object_put(o);
  return rc;
}

static int p_lora_save(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  lts_lora_info info;
  lts_hf_lora_info(h->m, &info);
  if (info.adapters == 0) return lt_fail("the model has no LoRA adapters to save");
  char *dir = lt_str_dup(&a[1]);
  if (!dir) return lt_fail("out of memory");
  char **names = NULL;
  lts_tensor **ts = NULL;
  int64_t n = 0;
  int rc = make_dirs(dir);
  if (rc == LT_OK && lts_hf_lora_state(h->m, &names, &ts, &n)) rc = lt_fail_shim();
  if (rc == LT_OK) {
    lt_value d = lt_dict_new(n), meta = lt_dict_new(1);
    for (int64_t i = 0; i < n; i++) {
      lt_dict_put(&d, names[i], lt_handle_value(LT_H_TENSOR, ts[i]));
      ts[i] = NULL;
    }
    lt_dict_put(&meta, "format", lt_string_cstr("pt"));
    char *path = join(dir, "adapter_model.safetensors");
    rc = path ? lt_safetensors_save(path, &d, &meta) : lt_fail("out of memory");
    if (rc == LT_OK) rc = write_config(dir, h, &info);
    free(path);
    lt_value_clear(&d);
    lt_value_clear(&meta);
  }
  for (int64_t i = 0; i < n; i++) free(names[i]);
  free(names);
  free(ts);
  free(dir);
  if (rc != LT_OK) return rc;
  *out = lt_int(n / 2);
  return LT_OK;
}

/* the PEFT config: r, lora_alpha, use_rslora, lora_dropout; refuses what
 * changes the math in ways we do not implement */
static int read_adapter_config(const char *dir, int64_t *rank, double *alpha, int *rslora, double *dropout) {
  char *path = join(dir, "adapter_config.json");
  json_object *o = path ? json_object_from_file(path) : NULL;
  int rc = LT_OK;
  json_object *v;
  if (!o) rc = lt_fail("cannot read %s", path ? path : "adapter_config.json");
  else if (!json_object_object_get_ex(o, "peft_type", &v) || strcmp(json_object_get_string(v), "LORA") != 0)
    rc = lt_fail("%s: peft_type is not LORA", path);
  else if (!json_object_object_get_ex(o, "r", &v) || !json_object_is_type(v, json_type_int))
    rc = lt_fail("%s has no integer r", path);
  else {
    *rank = json_object_get_int64(v);
    *alpha = json_object_object_get_ex(o, "lora_alpha", &v) ? json_object_get_double(v) : 8;
    *rslora = json_object_object_get_ex(o, "use_rslora", &v) && json_object_get_boolean(v);
    *dropout = json_object_object_get_ex(o, "lora_dropout", &v) && v ? json_object_get_double(v) : 0;
    if (!(*dropout >= 0 && *dropout <= 1)) rc = lt_fail("%s: lora_dropout must be in [0, 1]", path);
    static const char *unsupported[] = {"use_dora", "fan_in_fan_out"};
    for (size_t i = 0; i < 2 && rc == LT_OK; i++)
      if (json_object_object_get_ex(o, unsupported[i], &v) && json_object_get_boolean(v))
        rc = lt_fail("%s: %s adapters are not supported", path, unsupported[i]);
    static const char *patterns[] = {"rank_pattern", "alpha_pattern"};
    for (size_t i = 0; i < 2 && rc == LT_OK; i++)
      if (json_object_object_get_ex(o, patterns[i], &v) && json_object_is_type(v, json_type_object) &&
          json_object_object_length(v) > 0)
        rc = lt_fail("%s: a %s is not supported", path, patterns[i]);
    if (rc == LT_OK && json_object_object_get_ex(o, "bias", &v) && v && strcmp(json_object_get_string(v), "none") != 0)
      rc = lt_fail("%s: bias \"%s\" is not supported (none)", path, json_object_get_string(v));
  }
  if (o) json_object_put(o);
  free(path);
  return rc;
}

static int p_lora_load(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  char *dir = lt_str_dup(&a[1]);
  if (!dir) return lt_fail("out of memory");
  int64_t rank = 0;
  double alpha = 0;
  int rslora = 0;
  double dropout = 0;
  lt_value w = lt_nil();
  int rc = read_adapter_config(dir, &rank, &alpha, &rslora, &dropout);
  char *path = join(dir, "adapter_model.safetensors");
  if (rc == LT_OK) rc = path ? lt_safetensors_load(path, NULL, &w, NULL) : lt_fail("out of memory");
  if (rc == LT_OK) {
    lts_tensor **ts = (lts_tensor **)malloc((size_t)(w.u.dict.n + 1) * sizeof *ts);
    for (int64_t i = 0; ts && i < w.u.dict.n; i++) ts[i] = lt_tensor_of(&w.u.dict.vals[i]);
    if (!ts) rc = lt_fail("out of memory");
    else if (lts_hf_lora_load_state(h->m, w.u.dict.keys, ts, w.u.dict.n, rank, alpha, rslora) ||
             lts_hf_lora_set_dropout(h->m, dropout))
      rc = lt_fail_shim();
    free(ts);
  }
  int64_t n = w.kind == LT_DICT ? w.u.dict.n / 2 : 0;
  lt_value_clear(&w);
  free(path);
  free(dir);
  if (rc != LT_OK) return rc;
  *out = lt_int(n);
  return LT_OK;
}

static int merge(const lt_value *a, int on, lt_value *out) {
  MODEL(0, h);
  if (lts_hf_lora_merge(h->m, on)) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}
static int p_lora_merge(const lt_value *a, lt_value *out) { return merge(a, 1, out); }
static int p_lora_unmerge(const lt_value *a, lt_value *out) { return merge(a, 0, out); }

static int p_lora_enable(const lt_value *a, lt_value *out) {
  MODEL(0, h);
  int on = lt_present(&a[1]) ? lt_as_bool(&a[1]) : 1;
  lts_hf_lora_enable(h->m, on);
  *out = lt_bool(on);
  return LT_OK;
}

/* (name path config) as the API list writes it, or (path config name) as
 * the manual's examples do: a dictionary in second place says which */
static int p_load_lora(const lt_value *a, lt_value *out) {
  const lt_value *name = &a[0], *path = &a[1], *cfg = &a[2];
  if (a[1].kind == LT_DICT || (a[1].kind == LT_NIL && a[2].kind == LT_STRING)) {
    path = &a[0];
    cfg = &a[1];
    name = &a[2];
  }
  if (name->kind != LT_STRING || path->kind != LT_STRING)
    return lt_fail("expects (name path [config]) or (path config name) with strings for name and path");
  if (lt_present(cfg) && cfg->kind != LT_DICT) return lt_fail("the config must be a dictionary, got %s", lt_kind_name(cfg));
  char *p = lt_str_dup(path), *n = lt_str_dup(name);
  int rc = p && n ? lt_hf_load(p, n, cfg, out) : lt_fail("out of memory");
  free(p);
  free(n);
  return rc;
}

const lt_row lt_rows_lora_hf[] = {
    {"torch_hf_load_model_lora", NULL, "name:str path:any ?config:any",
     "torch_hf_load_model known under name, ready for LoRA; (path config name) is read too", p_load_lora},
    {"torch_hf_lora_init", NULL, "model:any rank:any ?alpha:num ?targets:any ?dtype:dtype",
     "LoRA adapters (A as nn.Linear, B = 0: outputs unchanged) on the target projections of every layer; "
     "(model rank alpha targets [dtype]) or (model config) with rank alpha target_modules dtype use_rslora "
     "lora_dropout (on the adapters' input in training mode: torch_module_train); "
     "defaults r 8, alpha 8, q_proj v_proj, dropout 0; returns the number of trainable values",
     p_lora_init},
    {"torch_hf_lora_get_parameters", NULL, "model:any", "the trainable adapter tensors (A and B of each projection)",
     p_lora_parameters},
    {"torch_hf_lora_parameters", "torch_hf_lora_get_parameters", NULL, NULL, NULL},
    {"torch_hf_lora_save", NULL, "model:any dir:str",
     "PEFT's layout in dir: adapter_model.safetensors (PEFT's names) + adapter_config.json, each written to a "
     "temporary file renamed into place; returns the number of adapted projections",
     p_lora_save},
    {"torch_hf_lora_load", NULL, "model:any dir:str",
     "adapters saved by torch_hf_lora_save or by PEFT, with their lora_dropout (replace the current ones; "
     "checked before anything changes)",
     p_lora_load},
    {"torch_hf_lora_merge", NULL, "model:any", "adds scaling·B·A into the weights (forward then skips the adapters)", p_lora_merge},
    {"torch_hf_lora_unmerge", NULL, "model:any", "takes the adapters out of the weights again", p_lora_unmerge},
    {"torch_hf_lora_enable", NULL, "model:any ?flag:bool", "uses (true) or bypasses (false) the adapters in forward",
     p_lora_enable},
    {NULL, NULL, NULL, NULL, NULL},
};
