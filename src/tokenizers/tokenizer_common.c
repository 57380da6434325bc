/* tokenizer_common.c - the tokenizer handle kind (simple, SentencePiece and
 * tiktoken tokenizers share it), reading ids, building results, and the
 * generic torch_encode / torch_decode / torch_vocab_size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer_internal.h"
#include "tokenizer_prims.h"

/* ---- the handle kind ---- */

static void tok_destroy(lt_tokenizer *t) {
  switch (t->sort) {
  case LT_TOK_SIMPLE: lt_simple_free(t->u.simple); break;
  case LT_TOK_SPM: lt_spm_tok_free(t->u.spm); break;
  case LT_TOK_TIKTOKEN: lt_tiktoken_free(t->u.tk); break;
  }
  free(t);
}

static void tok_release(void *p) {
  lt_tokenizer *t = (lt_tokenizer *)p;
  if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) tok_destroy(t);
}

static int tok_retain(void *p, void **out) {
  lt_tokenizer *t = (lt_tokenizer *)p;
  __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
  *out = p;
  return LT_OK;
}

void lt_tokenizer_kind_init(void) {
  static const lt_handle_ops ops = {"tokenizer", "a tokenizer", tok_release, tok_retain};
  lt_handle_register(LT_H_TOKENIZER, &ops);
}

static void free_impl(lt_tok_sort sort, void *impl) {
  if (!impl) return;
  switch (sort) {
  case LT_TOK_SIMPLE: lt_simple_free((lt_simple_tok *)impl); break;
  case LT_TOK_SPM: lt_spm_tok_free((lt_spm_tok *)impl); break;
  case LT_TOK_TIKTOKEN: lt_tiktoken_free((lt_tiktoken *)impl); break;
  }
}

int lt_tokenizer_wrap(lt_tok_sort sort, void *impl, lt_value *out) {
  lt_tokenizer *t = (lt_tokenizer *)calloc(1, sizeof *t);
  if (!t) {
    free_impl(sort, impl);
    return lt_fail("out of memory");
  }
  t->sort = sort;
  t->refs = 1;
  switch (sort) {
  case LT_TOK_SIMPLE: t->u.simple = (lt_simple_tok *)impl; break;
  case LT_TOK_SPM: t->u.spm = (lt_spm_tok *)impl; break;
  case LT_TOK_TIKTOKEN: t->u.tk = (lt_tiktoken *)impl; break;
  }
  *out = lt_handle_value(LT_H_TOKENIZER, t);
  return LT_OK;
}

const char *lt_tok_sort_name(lt_tok_sort s) {
  switch (s) {
  case LT_TOK_SIMPLE: return "a simple tokenizer";
  case LT_TOK_SPM: return "a SentencePiece tokenizer";
  case LT_TOK_TIKTOKEN: return "a tiktoken tokenizer";
  }
  return "a tokenizer";
}

lt_tokenizer *lt_arg_tokenizer(const lt_value *v, int argi, const char *pname, lt_tok_sort sort) {
  if (v->kind != LT_HANDLE || v->u.h.kind != LT_H_TOKENIZER || !v->u.h.ptr) {
    lt_fail("argument %d (%s) must be %s, got %s", argi, pname, sort ? lt_tok_sort_name(sort) : "a tokenizer",
            lt_kind_name(v));
    return NULL;
  }
  lt_tokenizer *t = (lt_tokenizer *)v->u.h.ptr;
  if (sort && t->sort != sort) {
    lt_fail("argument %d (%s) must be %s, got %s", argi, pname, lt_tok_sort_name(sort), lt_tok_sort_name(t->sort));
    return NULL;
  }
  return t;
}

/* ---- reading ids ---- */

static int integral_i64(double d, int64_t *out) {
  if (!isfinite(d) || d != floor(d) || fabs(d) >= 9.2e18) return 0;
  *out = (int64_t)d;
  return 1;
}

static int ids_from_tensor(lts_tensor *t, int argi, const char *pname, int64_t **ids, int64_t *n) {
  int64_t dims[LTS_MAX_DIMS];
  int nd = lts_shape(t, dims, LTS_MAX_DIMS);
  if (nd > 2 || (nd == 2 && dims[0] != 1)) {
    char shape[128];
    int o = 0;
    for (int i = 0; i < nd && o < 100; i++) o += snprintf(shape + o, sizeof shape - (size_t)o, "%s%lld", i ? ", " : "", (long long)dims[i]);
    return lt_fail("argument %d (%s) must be a 1-d tensor of ids (or of shape [1, n]), got shape [%s]", argi,
                   pname, shape);
  }
  int fl = lts_is_floating(t);
  lts_tensor *c = NULL, *d = NULL;
  if (lts_to(t, fl ? LT_F64 : LT_I64, "cpu", &d)) return lt_fail_shim();
  if (lts_cpu_contiguous(d, &c)) {
    lts_tensor_free(d);
    return lt_fail_shim();
  }
  lts_tensor_free(d);
  int64_t k = lts_numel(c);
  int64_t *o = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k ? k : 1));
  if (!o) {
    lts_tensor_free(c);
    return lt_fail("out of memory");
  }
  const void *p = lts_data_ptr(c);
  for (int64_t i = 0; i < k; i++) {
    if (fl) {
      double v = ((const double *)p)[i];
      if (!integral_i64(v, &o[i])) {
        free(o);
        lts_tensor_free(c);
        return lt_fail("argument %d (%s) must hold integer ids, element %lld is %g", argi, pname, (long long)i, v);
      }
    } else {
      o[i] = ((const int64_t *)p)[i];
    }
  }
  lts_tensor_free(c);
  *ids = o;
  *n = k;
  return LT_OK;
}

static int ids_from_buffer(const lt_buffer *b, int argi, const char *pname, int64_t **ids, int64_t *n) {
  int64_t k = b->len;
  int64_t *o = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k ? k : 1));
  if (!o) return lt_fail("out of memory");
  for (int64_t i = 0; i < k; i++) {
    switch (b->dtype) {
    case LT_I64: o[i] = ((const int64_t *)b->data)[i]; break;
    case LT_I32: o[i] = ((const int32_t *)b->data)[i]; break;
    case LT_I16: o[i] = ((const int16_t *)b->data)[i]; break;
    case LT_I8: o[i] = ((const int8_t *)b->data)[i]; break;
    case LT_U8: case LT_BOOL8: o[i] = ((const uint8_t *)b->data)[i]; break;
    case LT_F32: case LT_F64: {
      double v = b->dtype == LT_F32 ? ((const float *)b->data)[i] : ((const double *)b->data)[i];
      if (!integral_i64(v, &o[i])) {
        free(o);
        return lt_fail("argument %d (%s) must hold integer ids, element %lld is %g", argi, pname, (long long)i, v);
      }
      break;
    }
    default:
      free(o);
      return lt_fail("argument %d (%s) must hold integer ids, got %s values", argi, pname, lt_dtype_name(b->dtype));
    }
  }
  *ids = o;
  *n = k;
  return LT_OK;
}

int lt_read_ids(const lt_value *v, int argi, const char *pname, int64_t **ids, int64_t *n) {
  *ids = NULL;
  *n = 0;
  switch (v->kind) {
  case LT_BUFFER: return ids_from_buffer(&v->u.buf, argi, pname, ids, n);
  case LT_HANDLE:
    if (v->u.h.kind == LT_H_TENSOR) return ids_from_tensor((lts_tensor *)v->u.h.ptr, argi, pname, ids, n);
    break;
  case LT_INT: case LT_FLOAT: {
    int64_t x;
    if (v->kind == LT_INT) x = v->u.i;
    else if (!integral_i64(v->u.f, &x)) return lt_fail("argument %d (%s) must be an integer id, got %g", argi, pname, v->u.f);
    int64_t *o = (int64_t *)malloc(sizeof(int64_t));
    if (!o) return lt_fail("out of memory");
    o[0] = x;
    *ids = o;
    *n = 1;
    return LT_OK;
  }
  case LT_LIST: {
    int64_t k = v->u.list.n;
    int64_t *o = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k ? k : 1));
    if (!o) return lt_fail("out of memory");
    for (int64_t i = 0; i < k; i++) {
      const lt_value *e = &v->u.list.items[i];
      if (e->kind == LT_INT) o[i] = e->u.i;
      else if (e->kind == LT_FLOAT && integral_i64(e->u.f, &o[i])) {}
      else {
        free(o);
        return lt_fail("argument %d (%s) must be a list of integer ids, item %lld is %s", argi, pname, (long long)i,
                       lt_kind_name(e));
      }
    }
    *ids = o;
    *n = k;
    return LT_OK;
  }
  default: break;
  }
  return lt_fail("argument %d (%s) must be integers, a list of integers or a tensor of ids, got %s", argi, pname,
                 lt_kind_name(v));
}

/* ---- results ---- */

int lt_out_ids(int64_t *ids, int64_t n, lt_value *out) {
  *out = lt_buffer_owned(ids, n, LT_I64);
  return LT_OK;
}

int lt_out_ids_tensor(int64_t *ids, int64_t n, lt_value *out) {
  int64_t dims[1] = {n};
  lts_tensor *t = NULL;
  if (n == 0) {
    free(ids);
    if (lts_fill(LTS_FILL_ZEROS, dims, 1, 0, LT_I64, NULL, &t)) return lt_fail_shim();
  } else if (lts_from_blob(ids, dims, 1, LT_I64, free, ids, &t)) {
    free(ids);
    return lt_fail_shim();
  }
  *out = lt_handle_value(LT_H_TENSOR, t);
  return LT_OK;
}

int lt_out_u32_ids(const uint32_t *ids, size_t n, lt_value *out) {
  int64_t *o = (int64_t *)malloc(sizeof(int64_t) * (n ? n : 1));
  if (!o) return lt_fail("out of memory");
  for (size_t i = 0; i < n; i++) o[i] = ids[i];
  return lt_out_ids(o, (int64_t)n, out);
}

int lt_out_byte_values(const uint8_t *b, size_t n, lt_value *out) {
  int64_t *o = (int64_t *)malloc(sizeof(int64_t) * (n ? n : 1));
  if (!o) return lt_fail("out of memory");
  for (size_t i = 0; i < n; i++) o[i] = b[i];
  return lt_out_ids(o, (int64_t)n, out);
}

/* ---- torch_encode / torch_decode / torch_vocab_size: any tokenizer ---- */

int lt_p_tok_encode(const lt_value *a, lt_value *out) {
  lt_tokenizer *t = lt_arg_tokenizer(&a[0], 1, "tok", 0);
  if (!t) return LT_ERROR;
  int64_t *ids = NULL, n = 0;
  int rc = LT_ERROR;
  const char *s = a[1].u.str.s;
  size_t len = a[1].u.str.len;
  switch (t->sort) {
  case LT_TOK_SIMPLE: rc = lt_simple_encode(t->u.simple, s, len, &ids, &n); break;
  case LT_TOK_SPM: rc = lt_spm_tok_encode(t->u.spm, s, len, &ids, &n); break;
  case LT_TOK_TIKTOKEN: rc = lt_tk_encode(t->u.tk, s, len, &ids, &n); break;
  }
  if (rc != LT_OK) return LT_ERROR;
  return lt_out_ids_tensor(ids, n, out);
}

int lt_p_tok_decode(const lt_value *a, lt_value *out) {
  lt_tokenizer *t = lt_arg_tokenizer(&a[0], 1, "tok", 0);
  if (!t) return LT_ERROR;
  int64_t *ids = NULL, n = 0;
  if (lt_read_ids(&a[1], 2, "ids", &ids, &n) != LT_OK) return LT_ERROR;
  char *text = NULL;
  size_t len = 0;
  int rc = LT_ERROR;
  switch (t->sort) {
  case LT_TOK_SIMPLE: rc = lt_simple_decode(t->u.simple, ids, n, 2, &text, &len); break;
  case LT_TOK_SPM: rc = lt_spm_tok_decode(t->u.spm, ids, n, 2, &text, &len); break;
  case LT_TOK_TIKTOKEN: rc = lt_tk_decode(t->u.tk, ids, n, 2, &text, &len); break;
  }
  free(ids);
  if (rc != LT_OK) return LT_ERROR;
  *out = lt_string_owned(text, len);
  return LT_OK;
}

int lt_p_tok_vocab_size(const lt_value *a, lt_value *out) {
  lt_tokenizer *t = lt_arg_tokenizer(&a[0], 1, "tok", 0);
  if (!t) return LT_ERROR;
  int64_t n = 0;
  switch (t->sort) {
  case LT_TOK_SIMPLE: n = lt_simple_vocab_size(t->u.simple); break;
  case LT_TOK_SPM: n = lt_spm_tok_vocab_size(t->u.spm); break;
  case LT_TOK_TIKTOKEN: n = (int64_t)lt_tiktoken_vocab_size(t->u.tk); break;
  }
  *out = lt_int(n);
  return LT_OK;
}

/* Printable text of a tokenizer handle, as the manual shows it
 * ("Simple Tokenizer (vocab size: 4)"); malloc'd. For lt_handle_repr. */
char *lt_tokenizer_repr(void *p) {
  lt_tokenizer *t = (lt_tokenizer *)p;
  const char *what = "Tokenizer";
  int64_t n = 0;
  switch (t->sort) {
  case LT_TOK_SIMPLE: what = "Simple Tokenizer"; n = lt_simple_vocab_size(t->u.simple); break;
  case LT_TOK_SPM: what = "SentencePiece Tokenizer"; n = lt_spm_tok_vocab_size(t->u.spm); break;
  case LT_TOK_TIKTOKEN: what = "Tiktoken Tokenizer"; n = (int64_t)lt_tiktoken_vocab_size(t->u.tk); break;
  }
  char *s = (char *)malloc(96);
  if (s) snprintf(s, 96, "%s (vocab size: %lld)", what, (long long)n);
  return s;
}
