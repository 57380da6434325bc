/* create.c - section 1: tensor creation, conversion and information. */
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"

#define DEVBUF char devbuf[64]

static int read_shape(const lt_value *v, int argi, int64_t *dims, int *nd) {
  if (lt_read_ints(v, argi, "shape", dims, LTS_MAX_DIMS, nd) != LT_OK) return LT_ERROR;
  for (int i = 0; i < *nd; i++)
    if (dims[i] < 0) return lt_fail("argument %d (shape) has a negative size %lld", argi, (long long)dims[i]);
  return LT_OK;
}

static int p_create(const lt_value *a, lt_value *out) {
  DEVBUF;
  lts_tensor *t;
  int dt = lt_present(&a[1]) ? (int)lt_read_dtype(&a[1], LT_F32) : -1;
  if (lt_tensor_from_value(&a[0], dt, lt_read_device(&a[2], devbuf, sizeof devbuf), &t) != LT_OK) return LT_ERROR;
  *out = lt_handle_value(LT_H_TENSOR, t);
  return LT_OK;
}

static int fill(lts_fill_kind kind, const lt_value *shape, double value, const lt_value *dtype,
                const lt_value *device, lt_dtype dflt, lt_value *out) {
  DEVBUF;
  int64_t dims[LTS_MAX_DIMS];
  int nd;
  if (read_shape(shape, 1, dims, &nd) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  int rc = lts_fill(kind, dims, nd, value, lt_read_dtype(dtype, dflt), lt_read_device(device, devbuf, sizeof devbuf), &t);
  return lt_out_tensor(rc, &t, out);
}

static int p_zeros(const lt_value *a, lt_value *out) { return fill(LTS_FILL_ZEROS, &a[0], 0, &a[1], &a[2], LT_F32, out); }
static int p_ones(const lt_value *a, lt_value *out) { return fill(LTS_FILL_ONES, &a[0], 0, &a[1], &a[2], LT_F32, out); }
static int p_randn(const lt_value *a, lt_value *out) { return fill(LTS_FILL_RANDN, &a[0], 0, &a[1], &a[2], LT_F32, out); }
static int p_rand(const lt_value *a, lt_value *out) { return fill(LTS_FILL_RAND, &a[0], 0, &a[1], &a[2], LT_F32, out); }
static int p_full(const lt_value *a, lt_value *out) {
  /* as torch.full: an integer fill value gives int64 unless a dtype is given */
  return fill(LTS_FILL_FULL, &a[0], lt_as_num(&a[1]), &a[2], &a[3], a[1].kind == LT_INT ? LT_I64 : LT_F32, out);
}

static int p_full_like(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_full_like(lt_tensor_of(&a[0]), lt_as_num(&a[1]), &t), &t, out);
}

static int p_randint(const lt_value *a, lt_value *out) {
  int64_t dims[LTS_MAX_DIMS];
  int nd;
  int64_t lo = lt_as_int(&a[0]), hi = lt_as_int(&a[1]);
  if (hi <= lo) return lt_fail("argument 2 (high) must be greater than low (%lld), got %lld", (long long)lo, (long long)hi);
  if (read_shape(&a[2], 3, dims, &nd) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_randint(lo, hi, dims, nd, LT_I64, NULL, &t), &t, out);
}

static int p_arange(const lt_value *a, lt_value *out) {
  double start = lt_as_num(&a[0]), end = lt_as_num(&a[1]);
  double step = lt_present(&a[2]) ? lt_as_num(&a[2]) : 1;
  if (step == 0) return lt_fail("argument 3 (step) must be nonzero");
  if ((end - start) / step < 0) return lt_fail("arguments start %g, end %g and step %g give a negative length", start, end, step);
  /* any float argument makes a float tensor, as torch.arange does */
  int any_float = a[0].kind == LT_FLOAT || a[1].kind == LT_FLOAT || a[2].kind == LT_FLOAT;
  int has_dt = lt_present(&a[3]) || any_float;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_arange(start, end, step, lt_read_dtype(&a[3], LT_F32), has_dt, &t), &t, out);
}

static int p_to_list(const lt_value *a, lt_value *out) { return lt_tensor_to_value(lt_tensor_of(&a[0]), out); }

static int p_item(const lt_value *a, lt_value *out) {
  lts_tensor *t = lt_tensor_of(&a[0]);
  int64_t n = lts_numel(t);
  if (n != 1) return lt_fail("argument 1 (tensor) must hold exactly one element, it holds %lld", (long long)n);
  lt_dtype dt = lts_dtype(t);
  if (lts_is_floating(t) || dt == LT_QI8 || dt == LT_QU8 || dt == LT_QI32) {  /* quantized: the dequantized value */
    double d;
    if (lts_item_double(t, &d)) return lt_fail_shim();
    *out = lt_float(d);
  } else {
    int64_t i;
    if (lts_item_int(t, &i)) return lt_fail_shim();
    *out = lts_dtype(t) == LT_BOOL8 ? lt_bool((int)i) : lt_int(i);
  }
  return LT_OK;
}

static int unary(lts_unary_op op, const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_unary(op, lt_tensor_of(&a[0]), &t), &t, out);
}
static int p_clone(const lt_value *a, lt_value *out) { return unary(LTS_U_CLONE, a, out); }
static int p_detach(const lt_value *a, lt_value *out) { return unary(LTS_U_DETACH, a, out); }

static int p_to_dtype(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_to(lt_tensor_of(&a[0]), (int)lt_read_dtype(&a[1], LT_F32), NULL, &t), &t, out);
}

static int p_dtype(const lt_value *a, lt_value *out) {
  *out = lt_string_cstr(lt_dtype_name(lts_dtype(lt_tensor_of(&a[0]))));
  return LT_OK;
}

static int p_device(const lt_value *a, lt_value *out) {
  char buf[64];
  lts_device(lt_tensor_of(&a[0]), buf, sizeof buf);
  *out = lt_string_cstr(buf);
  return LT_OK;
}

static int p_requires_grad(const lt_value *a, lt_value *out) {
  lts_tensor *t = lt_tensor_of(&a[0]);
  if (!lt_present(&a[1])) {
    *out = lt_bool(lts_requires_grad(t));
    return LT_OK;
  }
  if (lts_set_requires_grad(t, lt_as_bool(&a[1]))) return lt_fail_shim();
  lts_tensor *r = NULL;
  return lt_out_tensor(lts_tensor_ref(t, &r), &r, out);
}

static int p_grad(const lt_value *a, lt_value *out) {
  lts_tensor *g = NULL;
  if (lts_grad(lt_tensor_of(&a[0]), &g)) return lt_fail_shim();
  *out = g ? lt_handle_value(LT_H_TENSOR, g) : lt_nil();
  return LT_OK;
}

static int p_shape(const lt_value *a, lt_value *out) {
  int64_t dims[LTS_MAX_DIMS];
  int nd = lts_shape(lt_tensor_of(&a[0]), dims, LTS_MAX_DIMS);
  int64_t *d = (int64_t *)malloc(sizeof(int64_t) * (size_t)(nd ? nd : 1));
  memcpy(d, dims, sizeof(int64_t) * (size_t)nd);
  *out = lt_buffer_owned(d, nd, LT_I64);
  return LT_OK;
}

static int p_numel(const lt_value *a, lt_value *out) {
  *out = lt_int(lts_numel(lt_tensor_of(&a[0])));
  return LT_OK;
}

static int p_in_memory(const lt_value *a, lt_value *out) {
  (void)a;
  *out = lt_int(lts_live_tensors());
  return LT_OK;
}

static int p_manual_seed(const lt_value *a, lt_value *out) {
  int64_t s = lt_as_int(&a[0]);
  if (s < 0) return lt_fail("argument 1 (seed) must be a non-negative integer, got %lld", (long long)s);
  if (lts_manual_seed((uint64_t)s)) return lt_fail_shim();
  *out = lt_bool(1);
  return LT_OK;
}

const lt_row lt_rows_tensor_create[] = {
    {"tensor_create", NULL, "data:data ?dtype:dtype ?device:device",
     "tensor from a numeric list (zero-copy when the dtype matches), nested lists, a number or a list of tensors (stacked)", p_create},
    {"torch_tensor", "tensor_create", NULL, NULL, NULL},
    {"tensor_zeros", NULL, "shape:ints ?dtype:dtype ?device:device", "tensor of zeros", p_zeros},
    {"torch_zeros", "tensor_zeros", NULL, NULL, NULL},
    {"tensor_ones", NULL, "shape:ints ?dtype:dtype ?device:device", "tensor of ones", p_ones},
    {"torch_ones", "tensor_ones", NULL, NULL, NULL},
    {"tensor_full", NULL, "shape:ints value:num ?dtype:dtype ?device:device",
     "tensor filled with value (int64 for an integer value unless dtype is given)", p_full},
    {"tensor_full_like", NULL, "tensor:tensor value:num", "tensor of the same shape, dtype and device filled with value", p_full_like},
    {"tensor_randn", NULL, "shape:ints ?dtype:dtype ?device:device", "normal N(0,1) samples", p_randn},
    {"torch_randn", "tensor_randn", NULL, NULL, NULL},
    {"tensor_rand", NULL, "shape:ints ?dtype:dtype ?device:device", "uniform [0,1) samples", p_rand},
    {"torch_rand", "tensor_rand", NULL, NULL, NULL},
    {"tensor_randint", NULL, "low:int high:int shape:ints", "int64 uniform integers in [low, high)", p_randint},
    {"tensor_arange", NULL, "start:num end:num ?step:num ?dtype:dtype",
     "values from start to end (exclusive) by step; int64 for integer arguments", p_arange},
    {"tensor_to_list", NULL, "tensor:tensor",
     "LispE values: 1-d as integers/floats/numbers/shorts by dtype, N-d as nested lists, 0-d as a number (GPU tensors are copied to the CPU)", p_to_list},
    {"torch_to_lispe", "tensor_to_list", NULL, NULL, NULL},
    {"tensor_item", NULL, "tensor:tensor", "the number held by a one-element tensor", p_item},
    {"tensor_clone", NULL, "tensor:tensor", "a copy (keeps autograd history)", p_clone},
    {"tensor_detach", NULL, "tensor:tensor", "the same data without autograd history", p_detach},
    {"tensor_to_dtype", NULL, "tensor:tensor dtype:dtype", "converted copy", p_to_dtype},
    {"tensor_dtype", NULL, "tensor:tensor", "dtype name, e.g. \"float32\"", p_dtype},
    {"torch_dtype", "tensor_dtype", NULL, NULL, NULL},
    {"tensor_device", NULL, "tensor:tensor", "device name, e.g. \"cpu\" or \"cuda:0\"", p_device},
    {"torch_device", "tensor_device", NULL, NULL, NULL},
    {"tensor_requires_grad", NULL, "tensor:tensor ?flag:bool",
     "without flag: whether autograd tracks the tensor; with flag: sets it and returns the tensor", p_requires_grad},
    {"tensor_grad", NULL, "tensor:tensor", "accumulated gradient, or nil", p_grad},
    {"tensor_shape", NULL, "tensor:tensor", "dimensions as integers", p_shape},
    {"torch_shape", "tensor_shape", NULL, NULL, NULL},
    {"torch_size", "tensor_shape", NULL, NULL, NULL},
    {"tensor_size", NULL, "tensor:tensor", "element count", p_numel},
    {"torch_numel", "tensor_size", NULL, NULL, NULL},
    {"tensor_in_memory", NULL, "", "number of live tensor handles (leak checks)", p_in_memory},
    {"torch_manual_seed", NULL, "seed:int", "seeds every libtorch generator", p_manual_seed},
    {NULL, NULL, NULL, NULL, NULL},
};
