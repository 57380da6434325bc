/* jit.c - section 13: TorchScript modules from LispE. */
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"

static void jit_release(void *p) { lts_jit_free((lts_jit *)p); }
static int jit_retain(void *p, void **out) { return lts_jit_ref((lts_jit *)p, (lts_jit **)out); }

void lt_jit_kind_init(void) {
  static const lt_handle_ops ops = {"jit_model", "a TorchScript module", jit_release, jit_retain};
  lt_handle_register(LT_H_JIT, &ops);
}

static int jit_arg(const lt_value *v, lts_jit **j) {
  if (v->kind == LT_HANDLE && v->u.h.kind == LT_H_JIT) {
    *j = (lts_jit *)v->u.h.ptr;
    return LT_OK;
  }
  return lt_fail("argument 1 (model) must be a TorchScript module (torch_jit_load), got %s", lt_kind_name(v));
}

#define JIT(var)       \
  lts_jit *var = NULL; \
  if (jit_arg(&a[0], &var) != LT_OK) return LT_ERROR

static int p_load(const lt_value *a, lt_value *out) {
  char *path = lt_str_dup(&a[0]);
  char dev[64];
  if (!path) return lt_fail("out of memory");
  lts_jit *j = NULL;
  int rc = lts_jit_load(path, lt_read_device(&a[1], dev, sizeof dev), &j);
  free(path);
  if (rc) return lt_fail_shim();
  *out = lt_handle_value(LT_H_JIT, j);
  return LT_OK;
}

static int p_unload(const lt_value *a, lt_value *out) {
  JIT(j);
  if (lts_jit_unload(j)) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

/* inputs: one tensor or a list of tensors (borrowed) */
static int read_inputs(const lt_value *v, int argi, lts_tensor ***in, int *n) {
  if (lt_is_tensor(v)) {
    *in = (lts_tensor **)malloc(sizeof **in);
    if (!*in) return lt_fail("out of memory");
    (*in)[0] = lt_tensor_of(v);
    *n = 1;
    return LT_OK;
  }
  if (v->kind != LT_LIST) return lt_fail("argument %d (input) must be a tensor or a list of tensors, got %s", argi, lt_kind_name(v));
  *in = (lts_tensor **)malloc((size_t)(v->u.list.n + 1) * sizeof **in);
  if (!*in) return lt_fail("out of memory");
  for (int64_t i = 0; i < v->u.list.n; i++) {
    if (!lt_is_tensor(&v->u.list.items[i])) {
      free(*in);
      return lt_fail("argument %d (input) must hold tensors only", argi);
    }
    (*in)[i] = lt_tensor_of(&v->u.list.items[i]);
  }
  *n = (int)v->u.list.n;
  return LT_OK;
}

/* one tensor as itself, several as a list */
static int results(lts_tensor **outs, int64_t n, lt_value *out) {
  if (n != 1) {
    *out = lt_tensor_list(outs, n);
    return LT_OK;
  }
  *out = lt_handle_value(LT_H_TENSOR, outs[0]);
  free(outs);
  return LT_OK;
}

static int run(const lt_value *a, int with_lora, lt_value *out) {
  JIT(j);
  lts_tensor **in, **outs;
  int n;
  int64_t nout;
  if (read_inputs(&a[1], 2, &in, &n) != LT_OK) return LT_ERROR;
  int rc = lts_jit_run(j, NULL, in, n, with_lora, &outs, &nout);
  free(in);
  return rc ? lt_fail_shim() : results(outs, nout, out);
}
static int p_forward(const lt_value *a, lt_value *out) { return run(a, 0, out); }
static int p_forward_lora(const lt_value *a, lt_value *out) { return run(a, 1, out); }

static int names(const lt_value *a, lts_jit_names_kind what, lt_value *out) {
  JIT(j);
  char **ns;
  int64_t n;
  if (lts_jit_names(j, what, &ns, &n)) return lt_fail_shim();
  *out = lt_list_new(n);
  for (int64_t i = 0; i < n; i++) out->u.list.items[i] = lt_string_owned(ns[i], strlen(ns[i]));
  free(ns);
  return LT_OK;
}
static int p_methods(const lt_value *a, lt_value *out) { return names(a, LTS_JIT_METHODS, out); }
static int p_parameter_names(const lt_value *a, lt_value *out) { return names(a, LTS_JIT_PARAMETERS, out); }
static int p_buffers(const lt_value *a, lt_value *out) { return names(a, LTS_JIT_BUFFERS, out); }
static int p_tensor_names(const lt_value *a, lt_value *out) { return names(a, LTS_JIT_TENSORS, out); }

static int tensor(const lt_value *a, int buffers_only, lts_tensor **t) {
  char name[512];
  if (a[1].u.str.len >= sizeof name) return lt_fail("argument 2 (name) is too long");
  return lts_jit_tensor((lts_jit *)a[0].u.h.ptr, lt_read_str(&a[1], name, sizeof name), buffers_only, t) ? lt_fail_shim() : LT_OK;
}

static int get(const lt_value *a, int buffers_only, lt_value *out) {
  JIT(j);
  lts_tensor *t;
  if (tensor(a, buffers_only, &t) != LT_OK) return LT_ERROR;
  *out = lt_handle_value(LT_H_TENSOR, t);
  return LT_OK;
}
static int p_get_buffer(const lt_value *a, lt_value *out) { return get(a, 1, out); }
static int p_get_tensor(const lt_value *a, lt_value *out) { return get(a, 0, out); }

static int p_get_shape(const lt_value *a, lt_value *out) {
  JIT(j);
  lts_tensor *t;
  if (tensor(a, 0, &t) != LT_OK) return LT_ERROR;
  int64_t *d = (int64_t *)malloc(LTS_MAX_DIMS * sizeof(int64_t));
  int nd = d ? lts_shape(t, d, LTS_MAX_DIMS) : 0;
  lts_tensor_free(t);
  if (!d) return lt_fail("out of memory");
  *out = lt_buffer_owned(d, nd, LT_I64);
  return LT_OK;
}

static int p_update(const lt_value *a, lt_value *out) {
  JIT(j);
  char name[512];
  if (a[1].u.str.len >= sizeof name) return lt_fail("argument 2 (name) is too long");
  if (lts_jit_update(j, lt_read_str(&a[1], name, sizeof name), lt_tensor_of(&a[2]))) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

static int to_device(const lt_value *a, const char *dev, lt_value *out) {
  JIT(j);
  if (lts_jit_to(j, dev)) return lt_fail_shim();
  *out = lt_string_cstr(dev);
  return LT_OK;
}

static int p_to_device(const lt_value *a, lt_value *out) {
  char dev[64];
  const char *d = lt_read_device(&a[1], dev, sizeof dev);
  return to_device(a, d ? d : "cpu", out);
}

static int p_to_best(const lt_value *a, lt_value *out) {
  return to_device(a, lts_cuda_is_available() ? "cuda" : lts_mps_is_available() ? "mps" : "cpu", out);
}

static int p_to_mps(const lt_value *a, lt_value *out) {
  if (!lts_mps_is_available()) return lt_fail("MPS is not available on this machine");
  return to_device(a, "mps", out);
}

static int p_info(const lt_value *a, lt_value *out) {
  JIT(j);
  int64_t params, buffers, values, methods;
  int training;
  char dev[64];
  if (lts_jit_info(j, &params, &buffers, &values, &methods, &training)) return lt_fail_shim();
  lts_jit_device(j, dev, sizeof dev);
  lt_value d = lt_dict_new(8);
  lt_dict_put(&d, "parameters", lt_int(params));
  lt_dict_put(&d, "buffers", lt_int(buffers));
  lt_dict_put(&d, "values", lt_int(values));
  lt_dict_put(&d, "methods", lt_int(methods));
  lt_dict_put(&d, "training", lt_bool(training));
  lt_dict_put(&d, "device", lt_string_cstr(dev));
  *out = d;
  return LT_OK;
}

static int p_register_lora(const lt_value *a, lt_value *out) {
  JIT(j);
  char layer[512];
  if (a[1].u.str.len >= sizeof layer) return lt_fail("argument 2 (layer) is too long");
  if (lts_jit_register_lora(j, lt_read_str(&a[1], layer, sizeof layer), lt_module_of(&a[2]))) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

static int p_intermediates(const lt_value *a, lt_value *out) {
  JIT(j);
  const lt_value *ns = &a[2];
  int64_t k = ns->kind == LT_STRING ? 1 : ns->kind == LT_LIST ? ns->u.list.n : -1;
  if (k <= 0) return lt_fail("argument 3 (layer_names) must be a name or a list of names");
  char **names = (char **)calloc((size_t)k, sizeof(char *));
  lts_tensor **outs = (lts_tensor **)calloc((size_t)k, sizeof(lts_tensor *)), **in = NULL;
  int rc = names && outs ? LT_OK : lt_fail("out of memory"), n = 0;
  for (int64_t i = 0; i < k && rc == LT_OK; i++) {
    const lt_value *s = ns->kind == LT_STRING ? ns : &ns->u.list.items[i];
    if (s->kind != LT_STRING) rc = lt_fail("argument 3 (layer_names) must hold strings");
    else if (!(names[i] = lt_str_dup(s))) rc = lt_fail("out of memory");
  }
  if (rc == LT_OK) rc = read_inputs(&a[1], 2, &in, &n);
  if (rc == LT_OK && lts_jit_intermediates(j, in, n, (const char *const *)names, (int)k, outs)) rc = lt_fail_shim();
  if (rc == LT_OK) {
    *out = lt_dict_new(k);
    for (int64_t i = 0; i < k; i++) lt_dict_put(out, names[i], lt_handle_value(LT_H_TENSOR, outs[i]));
  }
  for (int64_t i = 0; names && i < k; i++) free(names[i]);
  free(names);
  free(outs);
  free(in);
  return rc;
}

const lt_row lt_rows_jit[] = {
    {"torch_jit_load", NULL, "path:str ?device:device", "a TorchScript module saved by torch.jit.save (eval mode)", p_load},
    {"torch_jit_unload", NULL, "model:any", "frees the module now (later calls on it fail)", p_unload},
    {"torch_jit_model_forward", NULL, "model:any input:any",
     "forward on a tensor or a list of tensors; a tensor, or a list for several results", p_forward},
    {"torch_jit_model_forward_with_lora", NULL, "model:any input:any",
     "forward with each registered LoRA layer's delta added to its linear weight (gradients reach the LoRA tensors)",
     p_forward_lora},
    {"torch_jit_model_info", NULL, "model:any", "dictionary: parameters buffers values methods training device", p_info},
    {"torch_jit_model_list_methods", NULL, "model:any", "method names", p_methods},
    {"torch_jit_model_list_buffers", NULL, "model:any", "buffer names (dotted)", p_buffers},
    {"torch_jit_model_list_parameter_names", NULL, "model:any", "parameter names (dotted)", p_parameter_names},
    {"torch_jit_model_list_tensor_names", NULL, "model:any", "parameter then buffer names", p_tensor_names},
    {"torch_jit_model_get_buffer", NULL, "model:any name:str", "a buffer by name (the module's own tensor)", p_get_buffer},
    {"torch_jit_model_get_tensor", NULL, "model:any name:str", "a parameter or buffer by name (the module's own tensor)",
     p_get_tensor},
    {"torch_jit_model_get_tensor_shape", NULL, "model:any name:str", "shape of a parameter or buffer", p_get_shape},
    {"torch_jit_model_update_weight", NULL, "model:any name:str weight:tensor",
     "copies weight into the named parameter or buffer (same shape)", p_update},
    {"torch_jit_model_to_device", NULL, "model:any ?device:device", "moves the module (cpu by default); returns the device",
     p_to_device},
    {"torch_jit_model_to_best_device", NULL, "model:any", "moves the module to cuda, else mps, else cpu", p_to_best},
    {"torch_jit_model_to_mps", NULL, "model:any", "moves the module to MPS (an error where there is none)", p_to_mps},
    {"torch_jit_model_register_lora_hook", NULL, "model:any layer:str lora:module",
     "a LoRA layer (torch_lora_linear of the layer's sizes) for a linear submodule, used by forward_with_lora",
     p_register_lora},
    {"torch_jit_model_get_intermediate_states", NULL, "model:any input:any layer_names:any",
     "dictionary name -> output of that submodule during forward (dotted names reach nested submodules: "
     "encoder.layers.0.fc; calls inside loops and branches are not seen)",
     p_intermediates},
    {NULL, NULL, NULL, NULL, NULL},
};
