/* decomposition.c - section 14: Tucker decomposition (HOOI), its
 * reconstruction and compression ratio, the Khatri-Rao product. */
#include <stdlib.h>
#include "lt_internal.h"

static int p_tucker(const lt_value *a, lt_value *out) {
  int64_t ranks[LTS_MAX_DIMS];
  int n;
  if (lt_read_ints(&a[1], 2, "ranks", ranks, LTS_MAX_DIMS, &n) != LT_OK) return LT_ERROR;
  int64_t iters = lt_present(&a[2]) ? lt_as_int(&a[2]) : 100;
  double tol = lt_present(&a[3]) ? lt_as_num(&a[3]) : 1e-8;
  lts_tensor *core = NULL, *factors[LTS_MAX_DIMS] = {NULL};
  if (lts_tucker(lt_tensor_of(&a[0]), ranks, n, iters, tol, &core, factors)) return lt_fail_shim();
  lt_value fs = lt_list_new(n);
  for (int i = 0; i < n; i++) fs.u.list.items[i] = lt_handle_value(LT_H_TENSOR, factors[i]);
  *out = lt_list_new(2);
  out->u.list.items[0] = lt_handle_value(LT_H_TENSOR, core);
  out->u.list.items[1] = fs;
  return LT_OK;
}

static int p_reconstruct(const lt_value *a, lt_value *out) {
  int64_t n = a[1].u.list.n;
  if (n > LTS_MAX_DIMS) return lt_fail("argument 2 (factors) holds %lld tensors, at most %d", (long long)n, LTS_MAX_DIMS);
  lts_tensor *fs[LTS_MAX_DIMS], *t = NULL;
  for (int64_t i = 0; i < n; i++) fs[i] = lt_tensor_of(&a[1].u.list.items[i]);
  return lt_out_tensor(lts_tucker_reconstruct(lt_tensor_of(&a[0]), fs, (int)n, &t), &t, out);
}

/* product of a shape's sizes, each positive */
static int volume(const lt_value *v, int argi, const char *name, double *out) {
  int64_t d[LTS_MAX_DIMS];
  int n;
  if (lt_read_ints(v, argi, name, d, LTS_MAX_DIMS, &n) != LT_OK) return LT_ERROR;
  *out = 1;
  for (int i = 0; i < n; i++) {
    if (d[i] <= 0) return lt_fail("argument %d (%s) must hold positive sizes", argi, name);
    *out *= (double)d[i];
  }
  return LT_OK;
}

/* original values / (core values + factor values) */
static int p_ratio(const lt_value *a, lt_value *out) {
  double orig, core, factors = 0;
  if (volume(&a[0], 1, "original_shape", &orig) != LT_OK || volume(&a[1], 2, "core_shape", &core) != LT_OK) return LT_ERROR;
  const lt_value *f = &a[2];
  if (f->kind != LT_LIST) return lt_fail("argument 3 (factor_shapes) must be a list of shapes");
  for (int64_t i = 0; i < f->u.list.n; i++) {
    double v;
    const lt_value *s = &f->u.list.items[i];
    if (s->kind != LT_BUFFER && s->kind != LT_LIST) return lt_fail("argument 3 (factor_shapes) must be a list of shapes");
    if (volume(s, 3, "factor_shapes", &v) != LT_OK) return LT_ERROR;
    factors += v;
  }
  *out = lt_float(orig / (core + factors));
  return LT_OK;
}

static int p_khatri_rao(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_khatri_rao(lt_tensor_of(&a[0]), lt_tensor_of(&a[1]), &t), &t, out);
}

const lt_row lt_rows_decomposition[] = {
    {"torch_tucker_decomposition", NULL, "tensor:tensor ranks:ints ?max_iter:int ?tol:num",
     "(core factors): Tucker by higher-order orthogonal iteration from the HOSVD (100 iterations at most, stops when the "
     "relative error moves less than tol 1e-8); factors have orthonormal columns",
     p_tucker},
    {"torch_tucker_reconstruct", NULL, "core:tensor factors:tensors", "core ×₁ U₁ ×₂ U₂ ... (the approximated tensor)",
     p_reconstruct},
    {"torch_tucker_compression_ratio", NULL, "original_shape:ints core_shape:ints factor_shapes:list",
     "values of the original / values of core and factors", p_ratio},
    {"torch_khatri_rao_product", NULL, "a:tensor b:tensor", "column-wise Kronecker product: [I R], [J R] -> [I·J R]",
     p_khatri_rao},
    {NULL, NULL, NULL, NULL, NULL},
};
