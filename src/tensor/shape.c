/* shape.c - section 3: shape, indexing, reductions, sampling. */
#include <stdlib.h>
#include "lt_internal.h"

#define T0 lt_tensor_of(&a[0])

static int p_reshape(const lt_value *a, lt_value *out) {
  int64_t dims[LTS_MAX_DIMS];
  int nd;
  if (lt_read_ints(&a[1], 2, "shape", dims, LTS_MAX_DIMS, &nd) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_reshape(T0, dims, nd, &t), &t, out);
}

static int p_expand(const lt_value *a, lt_value *out) {
  int64_t dims[LTS_MAX_DIMS];
  int nd;
  if (lt_read_ints(&a[1], 2, "shape", dims, LTS_MAX_DIMS, &nd) != LT_OK) return LT_ERROR;
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_expand(T0, dims, nd, &t), &t, out);
}

static int p_transpose(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_transpose(T0, lt_as_int(&a[1]), lt_as_int(&a[2]), &t), &t, out);
}

static int p_contiguous(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_unary(LTS_U_CONTIGUOUS, T0, &t), &t, out);
}

static int p_unsqueeze(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_unsqueeze(T0, lt_as_int(&a[1]), &t), &t, out);
}

static int p_squeeze(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_squeeze(T0, lt_as_int(&a[1]), lt_present(&a[1]), &t), &t, out);
}

static int p_flatten(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  int64_t start = lt_present(&a[1]) ? lt_as_int(&a[1]) : 0, end = lt_present(&a[2]) ? lt_as_int(&a[2]) : -1;
  return lt_out_tensor(lts_flatten(T0, start, end, &t), &t, out);
}

static int p_slice(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_slice(T0, lt_as_int(&a[1]), lt_as_int(&a[2]), lt_as_int(&a[3]), &t), &t, out);
}

/* the older binding's order: (t start end [dim]) */
static int p_tensor_slice(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  int64_t dim = lt_present(&a[3]) ? lt_as_int(&a[3]) : 0;
  return lt_out_tensor(lts_slice(T0, dim, lt_as_int(&a[1]), lt_as_int(&a[2]), &t), &t, out);
}

static int p_select(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_select(T0, lt_as_int(&a[1]), lt_as_int(&a[2]), &t), &t, out);
}

static int cat(const lt_value *a, int stack, lt_value *out) {
  int64_t n = a[0].u.list.n;
  lts_tensor **ts = (lts_tensor **)malloc(sizeof(lts_tensor *) * (size_t)n);
  for (int64_t i = 0; i < n; i++) ts[i] = lt_tensor_of(&a[0].u.list.items[i]);
  lts_tensor *t = NULL;
  int rc = lts_cat(ts, (int)n, lt_present(&a[1]) ? lt_as_int(&a[1]) : 0, stack, &t);
  free(ts);
  return lt_out_tensor(rc, &t, out);
}
static int p_cat(const lt_value *a, lt_value *out) { return cat(a, 0, out); }
static int p_stack(const lt_value *a, lt_value *out) { return cat(a, 1, out); }

static int tri(const lt_value *a, int upper, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_tri(T0, lt_present(&a[1]) ? lt_as_int(&a[1]) : 0, upper, &t), &t, out);
}
static int p_triu(const lt_value *a, lt_value *out) { return tri(a, 1, out); }
static int p_tril(const lt_value *a, lt_value *out) { return tri(a, 0, out); }

static int p_gather(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_gather(T0, lt_as_int(&a[1]), lt_tensor_of(&a[2]), &t), &t, out);
}

static int p_cumsum(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_cumsum(T0, lt_as_int(&a[1]), &t), &t, out);
}

static int masked_fill(const lt_value *a, int inplace, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_masked_fill(T0, lt_tensor_of(&a[1]), lt_as_num(&a[2]), inplace, &t), &t, out);
}
static int p_masked_fill_(const lt_value *a, lt_value *out) { return masked_fill(a, 1, out); }
static int p_masked_fill(const lt_value *a, lt_value *out) { return masked_fill(a, 0, out); }

static int p_set_item(const lt_value *a, lt_value *out) {
  int64_t idx[LTS_MAX_DIMS];
  int n;
  if (lt_read_ints(&a[1], 2, "indices", idx, LTS_MAX_DIMS, &n) != LT_OK) return LT_ERROR;
  lts_tensor *src = lt_is_tensor(&a[2]) ? lt_tensor_of(&a[2]) : NULL;
  if (lts_set_item(T0, idx, n, src, lt_as_num(&a[2]))) return lt_fail_shim();
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_tensor_ref(T0, &t), &t, out);
}

static int reduce(lts_reduce_op op, const lt_value *a, int has_keepdim, lt_value *out) {
  lts_tensor *t = NULL;
  int keep = has_keepdim && lt_as_bool(&a[2]);
  return lt_out_tensor(lts_reduce(op, T0, lt_as_int(&a[1]), lt_present(&a[1]), keep, &t), &t, out);
}
static int p_sum(const lt_value *a, lt_value *out) { return reduce(LTS_R_SUM, a, 1, out); }
static int p_mean(const lt_value *a, lt_value *out) { return reduce(LTS_R_MEAN, a, 1, out); }
static int p_std(const lt_value *a, lt_value *out) { return reduce(LTS_R_STD, a, 0, out); }
static int p_max(const lt_value *a, lt_value *out) { return reduce(LTS_R_MAX, a, 0, out); }
static int p_min(const lt_value *a, lt_value *out) { return reduce(LTS_R_MIN, a, 0, out); }
static int p_argmax(const lt_value *a, lt_value *out) { return reduce(LTS_R_ARGMAX, a, 1, out); }
static int p_argmin(const lt_value *a, lt_value *out) { return reduce(LTS_R_ARGMIN, a, 1, out); }

static int p_norm(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  double p = lt_present(&a[1]) ? lt_as_num(&a[1]) : 2.0;
  return lt_out_tensor(lts_norm(T0, p, lt_as_int(&a[2]), lt_present(&a[2]), &t), &t, out);
}

static int p_multinomial(const lt_value *a, lt_value *out) {
  int64_t n = lt_as_int(&a[1]);
  if (n < 1) return lt_fail("argument 2 (n) must be at least 1, got %lld", (long long)n);
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_multinomial(T0, n, lt_as_bool(&a[2]), &t), &t, out);
}

static int pair(int rc, lts_tensor **v, lts_tensor **i, lt_value *out) {
  if (rc) return lt_fail_shim();
  *out = lt_list_new(2);
  out->u.list.items[0] = lt_handle_value(LT_H_TENSOR, *v);
  out->u.list.items[1] = lt_handle_value(LT_H_TENSOR, *i);
  return LT_OK;
}

static int p_topk(const lt_value *a, lt_value *out) {
  lts_tensor *v = NULL, *i = NULL;
  int64_t k = lt_as_int(&a[1]);
  if (k < 0) return lt_fail("argument 2 (k) must be non-negative, got %lld", (long long)k);
  int largest = lt_present(&a[3]) ? lt_as_bool(&a[3]) : 1;
  int64_t dim = lt_present(&a[2]) ? lt_as_int(&a[2]) : -1;
  return pair(lts_topk(T0, k, dim, largest, &v, &i), &v, &i, out);
}

static int p_sort(const lt_value *a, lt_value *out) {
  lts_tensor *v = NULL, *i = NULL;
  int64_t dim = lt_present(&a[1]) ? lt_as_int(&a[1]) : -1;
  return pair(lts_sort(T0, dim, lt_as_bool(&a[2]), &v, &i), &v, &i, out);
}

const lt_row lt_rows_tensor_shape[] = {
    {"tensor_reshape", NULL, "tensor:tensor shape:ints", "same data with a new shape (-1 infers one size)", p_reshape},
    {"torch_reshape", "tensor_reshape", NULL, NULL, NULL},
    {"tensor_transpose", NULL, "tensor:tensor dim0:int dim1:int", "swaps two dimensions", p_transpose},
    {"torch_transpose", "tensor_transpose", NULL, NULL, NULL},
    {"tensor_contiguous", NULL, "tensor:tensor", "contiguous copy (the tensor itself when already so)", p_contiguous},
    {"tensor_unsqueeze", NULL, "tensor:tensor dim:int", "inserts a size-1 dimension", p_unsqueeze},
    {"tensor_squeeze", NULL, "tensor:tensor ?dim:int", "removes size-1 dimensions (or only dim)", p_squeeze},
    {"tensor_flatten", NULL, "tensor:tensor ?start:int ?end:int", "flattens dimensions start..end (default all)", p_flatten},
    {"tensor_expand", NULL, "tensor:tensor shape:ints", "broadcast view to shape (-1 keeps a size)", p_expand},
    {"tensor_slice", NULL, "tensor:tensor dim:int start:int end:int",
     "elements start..end-1 along dim; negative indices count from the end", p_slice},
    {"torch_tensor_slice", NULL, "tensor:tensor start:int end:int ?dim:int", "tensor_slice with dim last (default 0)", p_tensor_slice},
    {"tensor_select", NULL, "tensor:tensor dim:int index:int", "the slice at index along dim (drops dim)", p_select},
    {"tensor_cat", NULL, "tensors:tensors ?dim:int", "concatenation along dim (default 0)", p_cat},
    {"tensor_stack", NULL, "tensors:tensors ?dim:int", "stacks along a new dim (default 0)", p_stack},
    {"tensor_triu", NULL, "tensor:tensor ?diagonal:int", "upper triangle", p_triu},
    {"tensor_tril", NULL, "tensor:tensor ?diagonal:int", "lower triangle", p_tril},
    {"tensor_gather", NULL, "tensor:tensor dim:int index:tensor", "values at index along dim", p_gather},
    {"tensor_cumsum", NULL, "tensor:tensor dim:int", "cumulative sum along dim", p_cumsum},
    {"tensor_masked_fill_", NULL, "tensor:tensor mask:tensor value:num", "fills where mask is true, in place; returns the tensor", p_masked_fill_},
    {"tensor_masked_fill", NULL, "tensor:tensor mask:tensor value:num", "copy filled where mask is true", p_masked_fill},
    {"tensor_set_item", NULL, "tensor:tensor indices:ints value:tnum",
     "tensor[indices] = value in place (any rank, negative indices); returns the tensor", p_set_item},
    {"tensor_sum", NULL, "tensor:tensor ?dim:int ?keepdim:bool", "sum (0-dim tensor without dim)", p_sum},
    {"tensor_mean", NULL, "tensor:tensor ?dim:int ?keepdim:bool", "mean (0-dim tensor without dim)", p_mean},
    {"tensor_mean_dim", NULL, "tensor:tensor dim:int ?keepdim:bool", "mean along dim", p_mean},
    {"tensor_std", NULL, "tensor:tensor ?dim:int", "standard deviation (unbiased)", p_std},
    {"tensor_max", NULL, "tensor:tensor ?dim:int", "maximum (values along dim)", p_max},
    {"tensor_min", NULL, "tensor:tensor ?dim:int", "minimum (values along dim)", p_min},
    {"tensor_argmax", NULL, "tensor:tensor ?dim:int ?keepdim:bool", "index of the maximum (flat without dim)", p_argmax},
    {"tensor_argmin", NULL, "tensor:tensor ?dim:int ?keepdim:bool", "index of the minimum (flat without dim)", p_argmin},
    {"tensor_norm", NULL, "tensor:tensor ?p:num ?dim:int", "p-norm (default 2) of all values or along dim", p_norm},
    {"torch_norm", "tensor_norm", NULL, NULL, NULL},
    {"tensor_multinomial", NULL, "probs:tensor n:int ?replacement:bool", "n indices sampled from the rows of probs", p_multinomial},
    {"torch_multinomial", "tensor_multinomial", NULL, NULL, NULL},
    {"torch_topk", NULL, "tensor:tensor k:int ?dim:int ?largest:bool", "(values indices) of the k largest (or smallest) along dim (default -1)", p_topk},
    {"torch_sort", NULL, "tensor:tensor ?dim:int ?descending:bool", "(values indices) sorted along dim (default -1)", p_sort},
    {NULL, NULL, NULL, NULL, NULL},
};
