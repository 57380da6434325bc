/* attention.c - section 7: scaled dot-product attention, the memory-efficient
 * (flash-style) attention and the flash attention module.
 *
 * q, k, v are [batch, heads, seq, head_dim] (or [batch*heads, seq, head_dim]);
 * masks: bool/int true = attend, float added to the scores; [Lq Lk], [B Lk]
 * (key padding), [B Lq Lk] or [B H Lq Lk]. */
#include <math.h>
#include "lt_internal.h"

/* argument argi (1-based) as a positive finite scale */
static int read_scale(const lt_value *v, int argi, double *scale) {
  *scale = lt_as_num(v);
  if (!(*scale > 0) || !isfinite(*scale))
    return lt_fail("argument %d (scale) must be a positive number, got %g", argi, *scale);
  return LT_OK;
}

static int read_dropout(const lt_value *v, int argi, const char *name, double *p) {
  *p = lt_present(v) ? lt_as_num(v) : 0.0;
  if (!(*p >= 0 && *p < 1)) return lt_fail("argument %d (%s) must be in [0, 1), got %g", argi, name, *p);
  return LT_OK;
}

static lts_tensor *opt_tensor(const lt_value *v) { return lt_present(v) ? lt_tensor_of(v) : NULL; }

static int p_sdpa(const lt_value *a, lt_value *out) {
  double p, scale = 0;
  if (read_dropout(&a[4], 5, "dropout_p", &p) != LT_OK) return LT_ERROR;
  int has_scale = lt_present(&a[6]);
  if (has_scale && read_scale(&a[6], 7, &scale) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_sdpa(lt_tensor_of(&a[0]), lt_tensor_of(&a[1]), lt_tensor_of(&a[2]), opt_tensor(&a[3]), p,
                                lt_as_bool(&a[5]), scale, has_scale, &t), &t, out);
}

static int p_flash(const lt_value *a, lt_value *out) {
  double scale = 0;
  int has_scale = lt_present(&a[3]);
  if (has_scale && read_scale(&a[3], 4, &scale) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_flash_attention(lt_tensor_of(&a[0]), lt_tensor_of(&a[1]), lt_tensor_of(&a[2]), NULL, scale, has_scale,
                                           lt_as_bool(&a[4]), 0.0, &t), &t, out);
}

static int p_flash_masked(const lt_value *a, lt_value *out) {
  double scale;
  if (read_scale(&a[3], 4, &scale) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_flash_attention(lt_tensor_of(&a[0]), lt_tensor_of(&a[1]), lt_tensor_of(&a[2]), lt_tensor_of(&a[4]),
                                           scale, 1, 0, 0.0, &t), &t, out);
}

static int p_flash_create(const lt_value *a, lt_value *out) {
  int64_t e = lt_as_int(&a[0]), h = lt_as_int(&a[1]);
  if (e <= 0) return lt_fail("argument 1 (embed) must be a positive integer, got %lld", (long long)e);
  if (h <= 0) return lt_fail("argument 2 (heads) must be a positive integer, got %lld", (long long)h);
  if (e % h) return lt_fail("argument 1 (embed) %lld must be a multiple of argument 2 (heads) %lld", (long long)e, (long long)h);
  double p;
  if (read_dropout(&a[2], 3, "dropout", &p) != LT_OK) return LT_ERROR;
  int bias = lt_present(&a[3]) ? lt_as_bool(&a[3]) : 1;
  lts_module *m = NULL;
  if (lts_flash_new(e, h, p, bias, &m)) return lt_fail_shim();
  char dev[64];
  const char *d = lt_read_device(&a[4], dev, sizeof dev);
  int dt = lt_present(&a[5]) ? (int)lt_read_dtype(&a[5], LT_F32) : -1;
  if ((d || dt >= 0) && lts_module_to(m, dt, d)) {
    lts_module_free(m);
    return lt_fail_shim();
  }
  *out = lt_handle_value(LT_H_MODULE, m);
  return LT_OK;
}

static int flash_module(const lt_value *a, lts_module **m) {
  *m = lt_module_of(&a[0]);
  if (lts_module_kind_of(*m) != LTS_M_FLASH)
    return lt_fail("argument 1 must be a %s module, got a %s", lts_module_kind_name(LTS_M_FLASH),
                   lts_module_kind_name(lts_module_kind_of(*m)));
  return LT_OK;
}

/* forward with the module's own dropout (when in training mode) */
static int flash_forward(const lt_value *a, lts_tensor *mask, lt_value *out) {
  lts_module *m;
  if (flash_module(a, &m) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_attention_forward(m, lt_tensor_of(&a[1]), lt_tensor_of(&a[2]), lt_tensor_of(&a[3]), mask, &t), &t, out);
}

static int p_flash_forward(const lt_value *a, lt_value *out) { return flash_forward(a, NULL, out); }
static int p_flash_with_mask(const lt_value *a, lt_value *out) { return flash_forward(a, lt_tensor_of(&a[4]), out); }

static int p_flash_with_dropout(const lt_value *a, lt_value *out) {
  lts_module *m;
  if (flash_module(a, &m) != LT_OK) return LT_ERROR;
  double p;
  if (read_dropout(&a[4], 5, "p", &p) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_flash_attend(m, lt_tensor_of(&a[1]), lt_tensor_of(&a[2]), lt_tensor_of(&a[3]), NULL, p,
                                        lt_as_bool(&a[5]), &t), &t, out);
}

#define QKV "query:tensor key:tensor value:tensor"
const lt_row lt_rows_attention[] = {
    {"torch_scaled_dot_product_attention", NULL, QKV " ?mask:tensor ?dropout_p:num ?is_causal:bool ?scale:num",
     "softmax(q·kᵀ·scale + mask)·v as torch.nn.functional.scaled_dot_product_attention (libtorch's fused kernel from 2.0): "
     "q k v [B H L D] or [B*H L D]; scale 1/sqrt(D) by default; is_causal aligns the triangle to the last key; "
     "dropout when dropout_p > 0; rows that attend to no key give zeros",
     p_sdpa},
    {"torch_flash_attention", NULL, QKV " ?scale:num ?is_causal:bool",
     "memory-efficient attention, equal to torch_scaled_dot_product_attention: blocks of keys with an online softmax, "
     "extra memory O(seq) not O(seq²) in forward and backward, on every libtorch",
     p_flash},
    {"torch_flash_attention_masked", NULL, QKV " scale:num mask:tensor",
     "torch_flash_attention with a mask (bool/int true=attend or float added; [Lq Lk], [B Lk], [B Lq Lk] or [B H Lq Lk])",
     p_flash_masked},
    {"torch_flash_attention_create", NULL, "embed:int heads:int ?dropout:num ?bias:bool ?device:device ?dtype:dtype",
     "multi-head attention module over the memory-efficient path: q/k/v/out projections (named as multihead_attention's; "
     "bias true by default), dropout on the attention weights in training mode",
     p_flash_create},
    {"torch_flash_attention_forward", NULL, "flash:module " QKV,
     "attention of query over key/value ([B L E] or [L E]) through a flash attention module", p_flash_forward},
    {"torch_flash_attention_with_mask", NULL, "flash:module " QKV " mask:tensor",
     "torch_flash_attention_forward with a mask (as torch_attention_forward)", p_flash_with_mask},
    {"torch_flash_attention_with_dropout", NULL, "flash:module " QKV " p:num training:bool",
     "torch_flash_attention_forward with dropout p on the attention weights, applied only when training is true",
     p_flash_with_dropout},
    {NULL, NULL, NULL, NULL, NULL},
};
