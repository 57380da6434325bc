/* lora.c - section 11: LoRA layers (a linear layer with a low-rank adapter),
 * made new or over an existing linear layer; adapters saved as safetensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"
#include "lt_safetensors.h"

static int lora_arg(const lt_value *v, lts_module **m) {
  *m = lt_module_of(v);
  if (lts_module_kind_of(*m) != LTS_M_LORA)
    return lt_fail("argument 1 must be a LoRA layer (torch_lora_linear, torch_lora_apply_to_linear), got a %s",
                   lts_module_kind_name(lts_module_kind_of(*m)));
  return LT_OK;
}

#define LORA(var)    \
  lts_module *var;   \
  if (lora_arg(&a[0], &var) != LT_OK) return LT_ERROR

static int rank_alpha(const lt_value *r, const lt_value *al, int argi, int64_t *rank, double *alpha) {
  *rank = lt_as_int(r);
  *alpha = lt_as_num(al);
  if (*rank <= 0) return lt_fail("argument %d (rank) must be a positive integer, got %lld", argi, (long long)*rank);
  if (!(*alpha > 0)) return lt_fail("argument %d (alpha) must be positive, got %g", argi + 1, *alpha);
  return LT_OK;
}

static int p_lora_linear(const lt_value *a, lt_value *out) {
  int64_t in = lt_as_int(&a[0]), o = lt_as_int(&a[1]), rank;
  double alpha;
  if (in <= 0 || o <= 0) return lt_fail("in and out must be positive, got %lld and %lld", (long long)in, (long long)o);
  if (rank_alpha(&a[2], &a[3], 3, &rank, &alpha) != LT_OK) return LT_ERROR;
  lts_module *m = NULL;
  return lt_out_module(lts_lora_linear_new(in, o, rank, alpha, &m), &m, out);
}

static int p_apply_to_linear(const lt_value *a, lt_value *out) {
  int64_t rank;
  double alpha;
  if (rank_alpha(&a[1], &a[2], 2, &rank, &alpha) != LT_OK) return LT_ERROR;
  lts_module *m = NULL;
  return lt_out_module(lts_lora_from_linear(lt_module_of(&a[0]), rank, alpha, &m), &m, out);
}

static int p_forward(const lt_value *a, lt_value *out) {
  LORA(m);
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_module_forward(m, lt_tensor_of(&a[1]), NULL, &t), &t, out);
}

/* the forward with autograd on, whatever the current grad mode */
static int p_forward_with_gradients(const lt_value *a, lt_value *out) {
  LORA(m);
  int was = lts_is_grad_enabled();
  lts_set_grad_enabled(1);
  lts_tensor *t = NULL;
  int rc = lts_module_forward(m, lt_tensor_of(&a[1]), NULL, &t);
  lts_set_grad_enabled(was);
  return lt_out_tensor(rc, &t, out);
}

static int p_merge(const lt_value *a, lt_value *out) {
  LORA(m);
  if (lts_lora_merge(m)) return lt_fail_shim();
  lts_module *r = NULL;
  lts_module_ref(m, &r);
  *out = lt_handle_value(LT_H_MODULE, r);
  return LT_OK;
}

static int p_trainable(const lt_value *a, lt_value *out) {
  LORA(m);
  lts_tensor **ts;
  int64_t n;
  if (lts_module_parameters(m, &ts, &n)) return lt_fail_shim();
  *out = lt_tensor_list(ts, n);
  return LT_OK;
}

static int p_delta(const lt_value *a, lt_value *out) {
  LORA(m);
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_lora_delta(m, &t), &t, out);
}

static int p_magnitude(const lt_value *a, lt_value *out) {
  LORA(m);
  double v;
  if (lts_lora_magnitude(m, &v)) return lt_fail_shim();
  *out = lt_float(v);
  return LT_OK;
}

/* the module's lora_A / lora_B as new references */
static int adapters(lts_module *m, lts_tensor **A, lts_tensor **B) {
  char **names;
  lts_tensor **ts;
  int64_t n;
  *A = *B = NULL;
  if (lts_module_state(m, &names, &ts, &n)) return lt_fail_shim();
  for (int64_t i = 0; i < n; i++) {
    if (strcmp(names[i], "lora_A") == 0 && !*A) *A = ts[i];
    else if (strcmp(names[i], "lora_B") == 0 && !*B) *B = ts[i];
    else lts_tensor_free(ts[i]);
    free(names[i]);
  }
  free(names);
  free(ts);
  return *A && *B ? LT_OK : lt_fail("the LoRA layer has no adapters");
}

/* lora_A.weight and lora_B.weight (PEFT's names within a layer), with r and
 * lora_alpha as metadata */
static int p_save(const lt_value *a, lt_value *out) {
  LORA(m);
  lts_tensor *A, *B;
  int64_t rank;
  double alpha;
  int merged;
  if (adapters(m, &A, &B) != LT_OK) return LT_ERROR;
  if (lts_lora_layer_info(m, &rank, &alpha, &merged)) {
    lts_tensor_free(A);
    lts_tensor_free(B);
    return lt_fail_shim();
  }
  lt_value d = lt_dict_new(2), meta = lt_dict_new(2);
  lt_dict_put(&d, "lora_A.weight", lt_handle_value(LT_H_TENSOR, A));
  lt_dict_put(&d, "lora_B.weight", lt_handle_value(LT_H_TENSOR, B));
  char buf[64];
  snprintf(buf, sizeof buf, "%lld", (long long)rank);
  lt_dict_put(&meta, "r", lt_string_cstr(buf));
  snprintf(buf, sizeof buf, "%.17g", alpha);
  lt_dict_put(&meta, "lora_alpha", lt_string_cstr(buf));
  char *path = lt_str_dup(&a[1]);
  int rc = path ? lt_safetensors_save(path, &d, &meta) : lt_fail("out of memory");
  free(path);
  lt_value_clear(&d);
  lt_value_clear(&meta);
  if (rc != LT_OK) return rc;
  *out = lt_bool(1);
  return LT_OK;
}

static int p_load(const lt_value *a, lt_value *out) {
  LORA(m);
  char *path = lt_str_dup(&a[1]);
  if (!path) return lt_fail("out of memory");
  lt_value d = lt_nil();
  int rc = lt_safetensors_load(path, NULL, &d, NULL);
  if (rc == LT_OK) {
    const lt_value *A = lt_dict_get(&d, "lora_A.weight"), *B = lt_dict_get(&d, "lora_B.weight");
    if (!A || !B) rc = lt_fail("%s holds no lora_A.weight and lora_B.weight", path);
    else if (lts_lora_set_adapters(m, lt_tensor_of(A), lt_tensor_of(B))) rc = lt_fail_shim();
  }
  lt_value_clear(&d);
  free(path);
  if (rc != LT_OK) return rc;
  *out = lt_bool(1);
  return LT_OK;
}

const lt_row lt_rows_lora[] = {
    {"torch_lora_linear", NULL, "in:int out:int rank:int alpha:num",
     "linear layer with a LoRA adapter: x Wᵀ + b + (alpha/rank)·(x Aᵀ) Bᵀ; W, b frozen, A and B trainable (B = 0 at first)",
     p_lora_linear},
    {"torch_lora_apply_to_linear", NULL, "linear:module rank:int alpha:num",
     "a LoRA layer over an existing linear layer (shares and freezes its weight and bias)", p_apply_to_linear},
    {"torch_lora_forward", NULL, "lora:module input:tensor", "forward of a LoRA layer", p_forward},
    {"torch_lora_forward_with_gradients", NULL, "lora:module input:tensor ?retain_graph:bool",
     "forward with autograd on even where it is off (retain_graph belongs to torch_backward)", p_forward_with_gradients},
    {"torch_lora_merge_weights", NULL, "lora:module", "adds (alpha/rank)·B·A into W once; forward then uses W alone", p_merge},
    {"torch_lora_trainable_params", NULL, "lora:module", "(lora_A lora_B), the trainable tensors", p_trainable},
    {"torch_lora_compute_delta", NULL, "lora:module", "(alpha/rank)·B·A, the change the adapter makes to W", p_delta},
    {"torch_lora_get_adaptation_magnitude", NULL, "lora:module", "‖delta‖ / ‖W‖ (Frobenius norms)", p_magnitude},
    {"torch_lora_save_adapters", NULL, "lora:module path:str",
     "lora_A.weight and lora_B.weight as safetensors (r, lora_alpha as metadata), written through a temporary file",
     p_save},
    {"torch_lora_load_adapters", NULL, "lora:module path:str", "adapters saved by torch_lora_save_adapters (shapes checked)",
     p_load},
    {NULL, NULL, NULL, NULL, NULL},
};
