/* value.c - building, freeing and naming lt_value's. */
#include <stdlib.h>
#include <string.h>
#include "lt_value.h"
#include "lt_shim.h"
#include "lt_internal.h"

lt_value lt_string_copy(const char *s, size_t len) {
  lt_value v;
  char *p = (char *)malloc(len + 1);
  if (!p) return lt_nil();
  memcpy(p, s, len);
  p[len] = 0;
  v.kind = LT_STRING;
  v.u.str.s = p;
  v.u.str.len = len;
  v.u.str.owned = 1;
  return v;
}

lt_value lt_string_cstr(const char *s) { return lt_string_copy(s, strlen(s)); }

lt_value lt_string_owned(char *s, size_t len) {
  lt_value v;
  v.kind = LT_STRING;
  v.u.str.s = s;
  v.u.str.len = len;
  v.u.str.owned = 1;
  return v;
}

lt_value lt_list_new(int64_t n) {
  lt_value v;
  v.kind = LT_LIST;
  v.u.list.n = n;
  v.u.list.items = n ? (lt_value *)calloc((size_t)n, sizeof(lt_value)) : NULL;
  if (n && !v.u.list.items) v.u.list.n = 0;
  return v; /* calloc'd items are LT_NIL (0) */
}

lt_value lt_dict_new(int64_t capacity) {
  lt_value v;
  if (capacity < 4) capacity = 4;
  v.kind = LT_DICT;
  v.u.dict.n = 0;
  v.u.dict.cap = capacity;
  v.u.dict.keys = (char **)calloc((size_t)capacity, sizeof(char *));
  v.u.dict.vals = (lt_value *)calloc((size_t)capacity, sizeof(lt_value));
  return v;
}

int lt_dict_put(lt_value *d, const char *key, lt_value val) {
  if (d->u.dict.n == d->u.dict.cap) {
    int64_t ncap = d->u.dict.cap * 2;
    char **k = (char **)realloc(d->u.dict.keys, (size_t)ncap * sizeof(char *));
    if (k) d->u.dict.keys = k;
    lt_value *vs = (lt_value *)realloc(d->u.dict.vals, (size_t)ncap * sizeof(lt_value));
    if (vs) d->u.dict.vals = vs;
    if (!k || !vs) { lt_value_clear(&val); return -1; }
    d->u.dict.cap = ncap;
  }
  d->u.dict.keys[d->u.dict.n] = strdup(key);
  d->u.dict.vals[d->u.dict.n] = val;
  d->u.dict.n++;
  return 0;
}

static void release_free(void *p) { free(p); }

lt_value lt_buffer_owned(void *data, int64_t len, lt_dtype dt) {
  lt_value v;
  memset(&v, 0, sizeof v);
  v.kind = LT_BUFFER;
  v.u.buf.data = data;
  v.u.buf.len = len;
  v.u.buf.dtype = dt;
  v.u.buf.owner = data;
  v.u.buf.release = release_free;
  return v;
}

void lt_value_clear(lt_value *v) {
  switch (v->kind) {
  case LT_STRING:
    if (v->u.str.owned) free((void *)v->u.str.s);
    break;
  case LT_BUFFER:
    if (v->u.buf.release) v->u.buf.release(v->u.buf.owner);
    break;
  case LT_LIST:
    for (int64_t i = 0; i < v->u.list.n; i++) lt_value_clear(&v->u.list.items[i]);
    free(v->u.list.items);
    break;
  case LT_DICT:
    for (int64_t i = 0; i < v->u.dict.n; i++) {
      free(v->u.dict.keys[i]);
      lt_value_clear(&v->u.dict.vals[i]);
    }
    free(v->u.dict.keys);
    free(v->u.dict.vals);
    break;
  case LT_HANDLE:
    lt_handle_release(v->u.h);
    break;
  default:
    break;
  }
  v->kind = LT_NIL;
}

/* One release/retain pair per handle kind; areas register theirs. */
static lt_handle_ops handle_ops[LT_H_KIND_COUNT];

void lt_handle_register(lt_handle_kind k, const lt_handle_ops *ops) { handle_ops[k] = *ops; }

const lt_handle_ops *lt_handle_ops_of(lt_handle_kind k) {
  if (k <= 0 || k >= LT_H_KIND_COUNT) return NULL;
  return handle_ops[k].release ? &handle_ops[k] : NULL;
}

void lt_handle_release(lt_handle h) {
  const lt_handle_ops *ops = lt_handle_ops_of(h.kind);
  if (ops && h.ptr) ops->release(h.ptr);
}

int lt_handle_retain(lt_handle h, lt_handle *out) {
  const lt_handle_ops *ops = lt_handle_ops_of(h.kind);
  out->kind = h.kind;
  out->ptr = NULL;
  if (!ops || !ops->retain) return lt_fail("cannot share a handle of this kind");
  return ops->retain(h.ptr, &out->ptr);
}

const char *lt_handle_kind_name(lt_handle_kind k) {
  const lt_handle_ops *ops = lt_handle_ops_of(k);
  return ops ? ops->name : "unknown handle";
}

const char *lt_kind_name(const lt_value *v) {
  switch (v->kind) {
  case LT_NIL: return "nil";
  case LT_BOOL: return "a boolean";
  case LT_INT: return "an integer";
  case LT_FLOAT: return "a number";
  case LT_STRING: return "a string";
  case LT_BUFFER: return "a numeric list";
  case LT_LIST: return "a list";
  case LT_DICT: return "a dictionary";
  case LT_HANDLE: {
    const lt_handle_ops *ops = lt_handle_ops_of(v->u.h.kind);
    return ops ? ops->article_name : "an unknown object";
  }
  case LT_CALLABLE: return "a function";
  case LT_OPAQUE: return "a LispE value";
  }
  return "an unknown value";
}

static const struct { const char *name; const char *alias; size_t size; } dtype_info[LT_DTYPE_COUNT] = {
  [LT_F32] = {"float32", "float", 4},   [LT_F64] = {"float64", "double", 8},
  [LT_F16] = {"float16", "half", 2},    [LT_BF16] = {"bfloat16", "bf16", 2},
  [LT_I64] = {"int64", "long", 8},      [LT_I32] = {"int32", "int", 4},
  [LT_I16] = {"int16", "short", 2},     [LT_I8] = {"int8", "char", 1},
  [LT_U8] = {"uint8", "byte", 1},       [LT_BOOL8] = {"bool", "boolean", 1},
  [LT_QI8] = {"qint8", "qint8", 1},     [LT_QU8] = {"quint8", "quint8", 1},
  [LT_QI32] = {"qint32", "qint32", 4},
};

const char *lt_dtype_name(lt_dtype dt) {
  return (unsigned)dt < LT_DTYPE_COUNT ? dtype_info[dt].name : "unknown";
}

size_t lt_dtype_size(lt_dtype dt) {
  return (unsigned)dt < LT_DTYPE_COUNT ? dtype_info[dt].size : 0;
}

int lt_dtype_parse(const char *s, size_t len, lt_dtype *out) {
  if (len > 6 && strncmp(s, "torch.", 6) == 0) { s += 6; len -= 6; }
  for (int i = 0; i < LT_DTYPE_COUNT; i++) {
    const char *a = dtype_info[i].name, *b = dtype_info[i].alias;
    if ((strlen(a) == len && memcmp(a, s, len) == 0) || (strlen(b) == len && memcmp(b, s, len) == 0)) {
      *out = (lt_dtype)i;
      return 0;
    }
  }
  return -1;
}

const lt_value *lt_dict_get(const lt_value *d, const char *key) {
  if (d->kind != LT_DICT) return NULL;
  for (int64_t i = 0; i < d->u.dict.n; i++)
    if (strcmp(d->u.dict.keys[i], key) == 0) return &d->u.dict.vals[i];
  return NULL;
}
