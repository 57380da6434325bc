/* args.c - reading arguments that lt_call already type-checked. */
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"

int64_t lt_as_int(const lt_value *v) {
  switch (v->kind) {
  case LT_INT: return v->u.i;
  case LT_FLOAT: return (int64_t)v->u.f;
  case LT_BOOL: return v->u.b;
  default: return 0;
  }
}

double lt_as_num(const lt_value *v) {
  switch (v->kind) {
  case LT_INT: return (double)v->u.i;
  case LT_FLOAT: return v->u.f;
  case LT_BOOL: return v->u.b;
  default: return 0;
  }
}

int lt_as_bool(const lt_value *v) {
  switch (v->kind) {
  case LT_BOOL: return v->u.b;
  case LT_INT: return v->u.i != 0;
  case LT_FLOAT: return v->u.f != 0;
  case LT_NIL: return 0;
  default: return 1;
  }
}

static int64_t buffer_int_at(const lt_buffer *b, int64_t k) {
  switch (b->dtype) {
  case LT_I64: return ((const int64_t *)b->data)[k];
  case LT_I32: return ((const int32_t *)b->data)[k];
  case LT_I16: return ((const int16_t *)b->data)[k];
  case LT_I8: return ((const int8_t *)b->data)[k];
  case LT_U8: case LT_BOOL8: return ((const uint8_t *)b->data)[k];
  case LT_F32: return (int64_t)((const float *)b->data)[k];
  case LT_F64: return (int64_t)((const double *)b->data)[k];
  default: return 0;
  }
}

int lt_read_ints(const lt_value *v, int argi, const char *pname, int64_t *dims, int max, int *n) {
  int64_t len = v->kind == LT_BUFFER ? v->u.buf.len : v->kind == LT_LIST ? v->u.list.n : 1;
  if (len > max)
    return lt_fail("argument %d (%s) has %lld entries, at most %d allowed", argi, pname,
                   (long long)len, max);
  for (int64_t k = 0; k < len; k++) {
    if (v->kind == LT_BUFFER) dims[k] = buffer_int_at(&v->u.buf, k);
    else if (v->kind == LT_LIST) dims[k] = lt_as_int(&v->u.list.items[k]);
    else dims[k] = lt_as_int(v);
  }
  *n = (int)len;
  return LT_OK;
}

lt_dtype lt_read_dtype(const lt_value *v, lt_dtype dflt) {
  lt_dtype dt = dflt;
  if (v->kind == LT_STRING) lt_dtype_parse(v->u.str.s, v->u.str.len, &dt);
  return dt;
}

const char *lt_read_str(const lt_value *v, char *buf, size_t n) {
  if (v->kind != LT_STRING || n == 0) return NULL;
  size_t len = v->u.str.len < n - 1 ? v->u.str.len : n - 1;
  memcpy(buf, v->u.str.s, len);
  buf[len] = 0;
  return buf;
}

const char *lt_read_device(const lt_value *v, char *buf, size_t n) { return lt_read_str(v, buf, n); }

char *lt_str_dup(const lt_value *v) {
  char *p = (char *)malloc(v->u.str.len + 1);
  if (!p) return NULL;
  memcpy(p, v->u.str.s, v->u.str.len);
  p[v->u.str.len] = 0;
  return p;
}
