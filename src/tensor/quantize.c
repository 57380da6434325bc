/* quantize.c - section 12: quantized tensors (affine, per tensor or per
 * channel; values read dequantized everywhere) and modules with int8 weights. */
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"

/* "qint8" (also "int8"), "quint8" ("uint8"), "qint32" ("int32"); dflt when absent */
static int qdtype(const lt_value *v, int argi, lt_dtype dflt, lt_dtype *out) {
  *out = dflt;
  if (!lt_present(v)) return LT_OK;
  if (v->kind != LT_STRING) return lt_fail("argument %d (dtype) must be a string", argi);
  static const struct { const char *name; lt_dtype dt; } names[] = {
      {"qint8", LT_QI8}, {"int8", LT_QI8}, {"quint8", LT_QU8}, {"uint8", LT_QU8}, {"qint32", LT_QI32}, {"int32", LT_QI32}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strlen(names[i].name) == v->u.str.len && memcmp(names[i].name, v->u.str.s, v->u.str.len) == 0) {
      *out = names[i].dt;
      return LT_OK;
    }
  return lt_fail("argument %d (dtype) must be qint8, quint8 or qint32, got \"%.*s\"", argi, (int)v->u.str.len, v->u.str.s);
}

static int p_dynamic(const lt_value *a, lt_value *out) {
  lt_dtype dt;
  if (qdtype(&a[1], 2, LT_QI8, &dt) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_quantize_dynamic(lt_tensor_of(&a[0]), dt, &t), &t, out);
}

static int per_tensor(const lt_value *a, lt_dtype dt, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_quantize_per_tensor(lt_tensor_of(&a[0]), lt_as_num(&a[1]), lt_as_int(&a[2]), dt, &t), &t, out);
}

static int p_static(const lt_value *a, lt_value *out) {
  lt_dtype dt;
  if (qdtype(&a[3], 4, LT_QU8, &dt) != LT_OK) return LT_ERROR;
  return per_tensor(a, dt, out);
}

static int p_linear(const lt_value *a, lt_value *out) { return per_tensor(a, LT_QU8, out); }

static int p_per_channel(const lt_value *a, lt_value *out) {
  lt_dtype dt;
  if (qdtype(&a[4], 5, LT_QI8, &dt) != LT_OK) return LT_ERROR;
  lts_tensor *s = NULL, *z = NULL, *t = NULL;
  int rc = LT_OK;
  if (lt_tensor_from_value(&a[1], LT_F64, NULL, &s) != LT_OK || lt_tensor_from_value(&a[2], LT_I64, NULL, &z) != LT_OK) rc = LT_ERROR;
  else rc = lt_out_tensor(lts_quantize_per_channel(lt_tensor_of(&a[0]), s, z, lt_as_int(&a[3]), dt, &t), &t, out);
  lts_tensor_free(s);
  lts_tensor_free(z);
  return rc;
}

static int p_int8(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_quantize_dynamic(lt_tensor_of(&a[0]), LT_QI8, &t), &t, out);
}

static int p_fp16(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_to(lt_tensor_of(&a[0]), LT_F16, NULL, &t), &t, out);
}

static int p_dequantize(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_dequantize(lt_tensor_of(&a[0]), &t), &t, out);
}

/* a plain int8 tensor: values rounded and saturated to [-128, 127] */
static int p_to_int8(const lt_value *a, lt_value *out) {
  lts_tensor *r = NULL, *c = NULL, *t = NULL;
  int rc = lts_unary(LTS_U_ROUND, lt_tensor_of(&a[0]), &r) || lts_clamp(r, -128, 1, 127, 1, &c) || lts_to(c, LT_I8, NULL, &t);
  lts_tensor_free(r);
  lts_tensor_free(c);
  return lt_out_tensor(rc, &t, out);
}

static int quantize_module(lts_module *m, lt_value *out) {
  int64_t before, after;
  if (lts_module_quantize(m, &before, &after)) return lt_fail_shim();
  lt_value d = lt_dict_new(4);
  lt_dict_put(&d, "bytes_before", lt_int(before));
  lt_dict_put(&d, "bytes_after", lt_int(after));
  lt_dict_put(&d, "ratio", lt_float(after ? (double)before / (double)after : 0));
  *out = d;
  return LT_OK;
}

static int p_model_dynamic(const lt_value *a, lt_value *out) {
  lt_dtype dt;
  if (qdtype(&a[1], 2, LT_QI8, &dt) != LT_OK) return LT_ERROR;
  if (dt != LT_QI8) return lt_fail("argument 2 (dtype): module weights are quantized to qint8");
  return quantize_module(lt_module_of(&a[0]), out);
}

static int p_model_static(const lt_value *a, lt_value *out) {
  const lt_value *c = &a[1];
  int64_t n = lt_is_tensor(c) ? 1 : c->kind == LT_LIST ? c->u.list.n : 0;
  if (n == 0) return lt_fail("argument 2 (calibration) must be a tensor or a list of tensors");
  lts_tensor **xs = (lts_tensor **)malloc((size_t)n * sizeof *xs);
  if (!xs) return lt_fail("out of memory");
  int rc = LT_OK;
  for (int64_t i = 0; i < n && rc == LT_OK; i++) {
    const lt_value *v = lt_is_tensor(c) ? c : &c->u.list.items[i];
    if (!lt_is_tensor(v)) rc = lt_fail("argument 2 (calibration) must hold tensors only");
    else xs[i] = lt_tensor_of(v);
  }
  lts_module *m = lt_module_of(&a[0]);
  if (rc == LT_OK && lts_module_calibrate(m, xs, n)) rc = lt_fail_shim();
  free(xs);
  return rc == LT_OK ? quantize_module(m, out) : rc;
}

const lt_row lt_rows_quantize[] = {
    {"torch_quantize_dynamic", NULL, "tensor:tensor ?dtype:any",
     "quantized tensor (qint8 by default, or quint8) with scale and zero point from its range (0 included)", p_dynamic},
    {"torch_quantize_static", NULL, "tensor:tensor scale:num zero_point:int ?dtype:any",
     "quantized tensor with the given scale and zero point (quint8 by default)", p_static},
    {"torch_quantize_linear", NULL, "tensor:tensor scale:num zero_point:int", "affine quantization to quint8", p_linear},
    {"torch_quantize_per_channel", NULL, "tensor:tensor scales:data zero_points:data axis:int ?dtype:any",
     "one scale and zero point per index of axis (qint8 by default)", p_per_channel},
    {"torch_quantize_int8", NULL, "tensor:tensor", "torch_quantize_dynamic to qint8", p_int8},
    {"torch_quantize_fp16", NULL, "tensor:tensor", "the tensor in float16 (half the memory of float32)", p_fp16},
    {"torch_tensor_to_fp16", "torch_quantize_fp16", NULL, NULL, NULL},
    {"torch_dequantize", NULL, "tensor:tensor", "a quantized tensor's values as float32", p_dequantize},
    {"torch_tensor_to_int8", NULL, "tensor:tensor", "a plain int8 tensor: values rounded and saturated to [-128, 127]",
     p_to_int8},
    {"torch_model_quantize_dynamic", NULL, "model:module ?dtype:any",
     "stores every linear weight of the module in int8 (per output channel), dequantized during forward; returns "
     "bytes_before bytes_after ratio",
     p_model_dynamic},
    {"torch_model_quantize_static", NULL, "model:module calibration:any",
     "torch_model_quantize_dynamic plus the module's input rounded to uint8 with the range of the calibration tensors",
     p_model_static},
    {NULL, NULL, NULL, NULL, NULL},
};
