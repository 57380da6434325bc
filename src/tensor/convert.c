/* convert.c - LispE-shaped values <-> tensors, and the tensor handle kind. */
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"

static void tensor_release(void *p) { lts_tensor_free((lts_tensor *)p); }
static int tensor_retain(void *p, void **out) {
  if (lts_tensor_ref((lts_tensor *)p, (lts_tensor **)out)) return lt_fail_shim();
  return LT_OK;
}

void lt_tensor_kind_init(void) {
  static const lt_handle_ops ops = {"tensor", "a tensor", tensor_release, tensor_retain};
  lt_handle_register(LT_H_TENSOR, &ops);
}

/* ---- value -> tensor ---- */

static int from_buffer(const lt_buffer *b, int dt, lts_tensor **out) {
  lt_dtype target = dt < 0 ? b->dtype : (lt_dtype)dt;
  int64_t dims[1] = {b->len};
  if (target == b->dtype && b->take && b->len > 0) {
    /* zero copy: the list is ours alone, the tensor takes its memory */
    void (*release)(void *) = NULL;
    void *p = b->take(b->src, &release);
    if (p) {
      if (lts_from_blob(p, dims, 1, target, release, p, out) == 0) return LT_OK;
      if (release) release(p);
      return lt_fail_shim();
    }
  }
  if (lts_from_copy(b->data, b->dtype, dims, 1, target, out)) return lt_fail_shim();
  return LT_OK;
}

/* Shape of nested lists: every level must be rectangular. */
typedef struct {
  int64_t dims[LTS_MAX_DIMS];
  int nd;
  int has_float, has_int, has_bool, has_other;
} nest_info;

static int scan_nested(const lt_value *v, int depth, nest_info *ni) {
  int64_t n;
  if (v->kind == LT_LIST) n = v->u.list.n;
  else if (v->kind == LT_BUFFER) n = v->u.buf.len;
  else {
    if (depth != ni->nd) return lt_fail("argument 1 (data) is not rectangular: a number where a list was expected at depth %d", depth);
    if (v->kind == LT_FLOAT) ni->has_float = 1;
    else if (v->kind == LT_BOOL) ni->has_bool = 1;
    else if (v->kind == LT_INT) ni->has_int = 1;
    else ni->has_other = 1;
    return LT_OK;
  }
  if (v->kind == LT_BUFFER && n > 0) {
    if (v->u.buf.dtype == LT_F32 || v->u.buf.dtype == LT_F64) ni->has_float = 1;
    else ni->has_int = 1;
  }
  if (depth == ni->nd) {
    if (ni->nd == LTS_MAX_DIMS) return lt_fail("argument 1 (data) nests more than %d levels", LTS_MAX_DIMS);
    ni->dims[ni->nd++] = n;
  } else if (depth > ni->nd || ni->dims[depth] != n) {
    return lt_fail("argument 1 (data) is not rectangular: lengths %lld and %lld at depth %d",
                   (long long)(depth < ni->nd ? ni->dims[depth] : -1), (long long)n, depth);
  }
  if (v->kind == LT_BUFFER) {
    if (depth + 1 != ni->nd) return lt_fail("argument 1 (data) is not rectangular at depth %d", depth);
    return LT_OK;
  }
  for (int64_t i = 0; i < n; i++) {
    const lt_value *e = &v->u.list.items[i];
    if (i > 0 && (e->kind == LT_LIST || e->kind == LT_BUFFER) && depth + 1 >= ni->nd)
      return lt_fail("argument 1 (data) is not rectangular at depth %d", depth + 1);
    if (scan_nested(e, depth + 1, ni) != LT_OK) return LT_ERROR;
  }
  return LT_OK;
}

static double buf_at(const lt_buffer *b, int64_t k) {
  switch (b->dtype) {
  case LT_F32: return ((const float *)b->data)[k];
  case LT_F64: return ((const double *)b->data)[k];
  case LT_I64: return (double)((const int64_t *)b->data)[k];
  case LT_I32: return ((const int32_t *)b->data)[k];
  case LT_I16: return ((const int16_t *)b->data)[k];
  case LT_I8: return ((const int8_t *)b->data)[k];
  default: return ((const uint8_t *)b->data)[k];
  }
}

/* Flattens into doubles (floats) or int64 (integers). */
static void fill_nested(const lt_value *v, int is_float, void *dst, int64_t *pos) {
  if (v->kind == LT_LIST) {
    for (int64_t i = 0; i < v->u.list.n; i++) fill_nested(&v->u.list.items[i], is_float, dst, pos);
  } else if (v->kind == LT_BUFFER) {
    for (int64_t k = 0; k < v->u.buf.len; k++) {
      if (is_float) ((double *)dst)[(*pos)++] = buf_at(&v->u.buf, k);
      else ((int64_t *)dst)[(*pos)++] = v->u.buf.dtype == LT_I64 ? ((const int64_t *)v->u.buf.data)[k]
                                                                 : (int64_t)buf_at(&v->u.buf, k);
    }
  } else {
    if (is_float) ((double *)dst)[(*pos)++] = lt_as_num(v);
    else ((int64_t *)dst)[(*pos)++] = lt_as_int(v);
  }
}

static int from_nested(const lt_value *v, int dt, lts_tensor **out) {
  nest_info ni;
  memset(&ni, 0, sizeof ni);
  if (scan_nested(v, 0, &ni) != LT_OK) return LT_ERROR;
  if (ni.has_other) return lt_fail("argument 1 (data) must hold only numbers");
  int64_t total = 1;
  for (int i = 0; i < ni.nd; i++) total *= ni.dims[i];
  int is_float = ni.has_float || (dt >= 0 && (dt == LT_F32 || dt == LT_F64 || dt == LT_F16 || dt == LT_BF16));
  /* PyTorch's inference: any float -> float32, else any int -> int64, else bool */
  lt_dtype natural = ni.has_float ? LT_F32 : ni.has_int ? LT_I64 : ni.has_bool ? LT_BOOL8 : LT_F32;
  lt_dtype target = dt < 0 ? natural : (lt_dtype)dt;
  void *tmpbuf = malloc((size_t)(total ? total : 1) * 8);
  if (!tmpbuf) return lt_fail("out of memory for %lld elements", (long long)total);
  int64_t pos = 0;
  fill_nested(v, is_float, tmpbuf, &pos);
  int rc = lts_from_copy(tmpbuf, is_float ? LT_F64 : LT_I64, ni.dims, ni.nd, target, out);
  free(tmpbuf);
  return rc ? lt_fail_shim() : LT_OK;
}

int lt_tensor_from_value(const lt_value *v, int dt, const char *device, lts_tensor **out) {
  int rc;
  *out = NULL;
  switch (v->kind) {
  case LT_BUFFER:
    rc = from_buffer(&v->u.buf, dt, out);
    break;
  case LT_INT: case LT_FLOAT: case LT_BOOL: {
    lt_dtype natural = v->kind == LT_FLOAT ? LT_F32 : v->kind == LT_BOOL ? LT_BOOL8 : LT_I64;
    double d = lt_as_num(v);
    int64_t i = lt_as_int(v);
    rc = v->kind == LT_FLOAT ? lts_from_copy(&d, LT_F64, NULL, 0, dt < 0 ? natural : (lt_dtype)dt, out)
                             : lts_from_copy(&i, LT_I64, NULL, 0, dt < 0 ? natural : (lt_dtype)dt, out);
    rc = rc ? lt_fail_shim() : LT_OK;
    break;
  }
  case LT_LIST: {
    int all_tensors = v->u.list.n > 0;
    for (int64_t i = 0; i < v->u.list.n && all_tensors; i++) all_tensors = lt_is_tensor(&v->u.list.items[i]);
    if (all_tensors) {
      lts_tensor **ts = (lts_tensor **)malloc(sizeof(lts_tensor *) * (size_t)v->u.list.n);
      for (int64_t i = 0; i < v->u.list.n; i++) ts[i] = lt_tensor_of(&v->u.list.items[i]);
      rc = lts_cat(ts, (int)v->u.list.n, 0, 1, out) ? lt_fail_shim() : LT_OK;
      free(ts);
      if (rc == LT_OK && dt >= 0) {
        lts_tensor *c = NULL;
        rc = lts_to(*out, dt, NULL, &c) ? lt_fail_shim() : LT_OK;
        lts_tensor_free(*out);
        *out = c;
      }
    } else {
      rc = from_nested(v, dt, out);
    }
    break;
  }
  case LT_HANDLE:
    if (lt_is_tensor(v)) {
      /* like torch.tensor(t): a copy, detached */
      lts_tensor *d = NULL;
      rc = lts_unary(LTS_U_DETACH, lt_tensor_of(v), &d);
      if (!rc) {
        rc = lts_unary(LTS_U_CLONE, d, out);
        lts_tensor_free(d);
      }
      if (!rc && dt >= 0) {
        lts_tensor *c = NULL;
        rc = lts_to(*out, dt, NULL, &c);
        lts_tensor_free(*out);
        *out = c;
      }
      rc = rc ? lt_fail_shim() : LT_OK;
      break;
    }
    /* fall through */
  default:
    return lt_fail("argument 1 (data) must be a number, a numeric list, a nested list or a list of tensors, got %s",
                   lt_kind_name(v));
  }
  if (rc == LT_OK && device && strcmp(device, "cpu") != 0) {
    lts_tensor *moved = NULL;
    if (lts_to(*out, -1, device, &moved)) {
      lts_tensor_free(*out);
      *out = NULL;
      return lt_fail_shim();
    }
    lts_tensor_free(*out);
    *out = moved;
  }
  return rc;
}

/* ---- tensor -> value ---- */

static lt_value number_at(const void *data, lt_dtype dt, int64_t k) {
  switch (dt) {
  case LT_F32: return lt_float(((const float *)data)[k]);
  case LT_F64: return lt_float(((const double *)data)[k]);
  case LT_I64: return lt_int(((const int64_t *)data)[k]);
  case LT_I16: return lt_int(((const int16_t *)data)[k]);
  case LT_BOOL8: return lt_bool(((const uint8_t *)data)[k]);
  default: return lt_nil();
  }
}

/* Rows of the innermost dimension become buffers pointing into the one
 * contiguous CPU tensor; only the first leaf owns it (the adapter converts
 * the whole tree before clearing it). */
static lt_value build_nested(const char *data, lt_dtype dt, const int64_t *dims, int nd,
                             int64_t *offset, lts_tensor **owner) {
  size_t es = lt_dtype_size(dt);
  if (nd == 1) {
    lt_value v;
    memset(&v, 0, sizeof v);
    v.kind = LT_BUFFER;
    v.u.buf.data = (void *)(data + *offset * (int64_t)es);
    v.u.buf.len = dims[0];
    v.u.buf.dtype = dt;
    if (*owner) {
      v.u.buf.owner = *owner;
      v.u.buf.release = (void (*)(void *))lts_tensor_free;
      *owner = NULL;
    }
    *offset += dims[0];
    return v;
  }
  lt_value l = lt_list_new(dims[0]);
  for (int64_t i = 0; i < dims[0]; i++) l.u.list.items[i] = build_nested(data, dt, dims + 1, nd - 1, offset, owner);
  return l;
}

lt_value lt_tensor_list(lts_tensor **ts, int64_t n) {
  lt_value l = lt_list_new(n);
  for (int64_t i = 0; i < n; i++) l.u.list.items[i] = lt_handle_value(LT_H_TENSOR, ts[i]);
  free(ts);
  return l;
}

int lt_tensor_to_value(lts_tensor *t, lt_value *out) {
  lt_dtype dt = lts_dtype(t), target;
  switch (dt) {
  case LT_F32: case LT_F64: case LT_I64: case LT_I16: case LT_BOOL8: target = dt; break;
  case LT_F16: case LT_BF16: case LT_QI8: case LT_QU8: case LT_QI32: target = LT_F32; break;
  default: target = LT_I64; break;
  }
  lts_tensor *c = NULL, *conv = NULL;
  if (target != dt) {
    if (lts_to(t, target, NULL, &conv)) return lt_fail_shim();
    t = conv;
  }
  int rc = lts_cpu_contiguous(t, &c);
  lts_tensor_free(conv);
  if (rc) return lt_fail_shim();
  int64_t dims[LTS_MAX_DIMS];
  int nd = lts_shape(c, dims, LTS_MAX_DIMS);
  const char *data = (const char *)lts_data_ptr(c);
  if (nd == 0) {
    *out = number_at(data, target, 0);
    lts_tensor_free(c);
    return LT_OK;
  }
  if (target == LT_BOOL8) {
    /* LispE has no bool list: booleans become integers 0/1 */
    lts_tensor *i64 = NULL;
    rc = lts_to(c, LT_I64, NULL, &i64);
    lts_tensor_free(c);
    if (rc) return lt_fail_shim();
    c = i64;
    target = LT_I64;
    data = (const char *)lts_data_ptr(c);
  }
  int64_t offset = 0;
  lts_tensor *owner = c;
  *out = build_nested(data, target, dims, nd, &offset, &owner);
  if (owner) lts_tensor_free(owner); /* no leaf took it (a zero-size dimension) */
  return LT_OK;
}
