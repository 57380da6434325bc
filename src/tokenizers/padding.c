/* padding.c - section 9 (and 7): batching token sequences.
 *   torch_pad_sequences(seqs max_len [pad]) -> int64 tensor [batch, max_len]
 *   torch_attention_mask(seqs [pad])        -> int64 tensor, 1 real token / 0 pad
 * A sequence is a tensor of ids (1-d or [1, n]), LispE integers, a list of
 * integers or a single integer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer_internal.h"
#include "tokenizer_prims.h"

typedef struct {
  int64_t **rows;
  int64_t *lens;
  int64_t n;
} seq_batch;

static void batch_free(seq_batch *b) {
  for (int64_t i = 0; i < b->n; i++) free(b->rows[i]);
  free(b->rows);
  free(b->lens);
  memset(b, 0, sizeof *b);
}

/* a list of sequences, or one sequence given as LispE integers */
static int read_batch(const lt_value *v, int argi, const char *pname, seq_batch *b) {
  memset(b, 0, sizeof *b);
  int64_t n = v->kind == LT_LIST ? v->u.list.n : 1;
  b->rows = (int64_t **)calloc((size_t)(n ? n : 1), sizeof(int64_t *));
  b->lens = (int64_t *)calloc((size_t)(n ? n : 1), sizeof(int64_t));
  if (!b->rows || !b->lens) {
    batch_free(b);
    return lt_fail("out of memory");
  }
  for (int64_t i = 0; i < n; i++) {
    const lt_value *e = v->kind == LT_LIST ? &v->u.list.items[i] : v;
    char name[64];
    if (v->kind == LT_LIST) snprintf(name, sizeof name, "%s[%lld]", pname, (long long)i);
    else snprintf(name, sizeof name, "%s", pname);
    if (lt_read_ids(e, argi, name, &b->rows[i], &b->lens[i]) != LT_OK) {
      b->n = i;
      batch_free(b);
      return LT_ERROR;
    }
    b->n = i + 1;
  }
  return LT_OK;
}

static int out_matrix(int64_t *data, int64_t rows, int64_t cols, const char *device, lt_value *out) {
  int64_t dims[2] = {rows, cols};
  lts_tensor *t = NULL;
  if (rows * cols == 0) {
    free(data);
    if (lts_fill(LTS_FILL_ZEROS, dims, 2, 0, LT_I64, NULL, &t)) return lt_fail_shim();
  } else if (lts_from_blob(data, dims, 2, LT_I64, free, data, &t)) {
    free(data);
    return lt_fail_shim();
  }
  if (device && strcmp(device, "cpu") != 0) {
    lts_tensor *d = NULL;
    int rc = lts_to(t, -1, device, &d);
    lts_tensor_free(t);
    if (rc) return lt_fail_shim();
    t = d;
  }
  *out = lt_handle_value(LT_H_TENSOR, t);
  return LT_OK;
}

int lt_p_pad_sequences(const lt_value *a, lt_value *out) {
  if (a[0].kind != LT_LIST && a[0].kind != LT_BUFFER)
    return lt_fail("argument 1 (seqs) must be a list of sequences, got %s", lt_kind_name(&a[0]));
  int64_t max_len = lt_as_int(&a[1]);
  if (max_len < 0) return lt_fail("argument 2 (max_len) must be >= 0 (0: the longest sequence), got %lld", (long long)max_len);
  int64_t pad = lt_present(&a[2]) ? lt_as_int(&a[2]) : 0;
  seq_batch b;
  if (read_batch(&a[0], 1, "seqs", &b) != LT_OK) return LT_ERROR;
  if (max_len == 0)
    for (int64_t i = 0; i < b.n; i++)
      if (b.lens[i] > max_len) max_len = b.lens[i];
  if (b.n > 0 && max_len > ((int64_t)1 << 28) / b.n) { /* 2 GiB of int64 */
    batch_free(&b);
    return lt_fail("argument 2 (max_len): a batch of %lld x %lld ids is too large", (long long)b.n, (long long)max_len);
  }
  int64_t *m = (int64_t *)malloc(sizeof(int64_t) * (size_t)(b.n * max_len > 0 ? b.n * max_len : 1));
  if (!m) {
    batch_free(&b);
    return lt_fail("out of memory");
  }
  for (int64_t i = 0; i < b.n; i++) {
    int64_t k = b.lens[i] < max_len ? b.lens[i] : max_len; /* longer ones are truncated */
    memcpy(m + i * max_len, b.rows[i], sizeof(int64_t) * (size_t)k);
    for (int64_t j = k; j < max_len; j++) m[i * max_len + j] = pad;
  }
  int64_t rows = b.n;
  batch_free(&b);
  return out_matrix(m, rows, max_len, NULL, out);
}

int lt_p_attention_mask(const lt_value *a, lt_value *out) {
  int64_t pad = lt_present(&a[1]) ? lt_as_int(&a[1]) : 0;
  const lt_value *v = &a[0];
  if (v->kind == LT_HANDLE && v->u.h.kind == LT_H_TENSOR) {
    /* a padded batch: 1 where the id is not the pad id, same shape and device */
    lts_tensor *t = (lts_tensor *)v->u.h.ptr;
    int64_t dims[LTS_MAX_DIMS];
    int nd = lts_shape(t, dims, LTS_MAX_DIMS);
    char device[64];
    lts_device(t, device, sizeof device);
    int fl = lts_is_floating(t);
    lts_tensor *d = NULL, *c = NULL;
    if (lts_to(t, fl ? LT_F64 : LT_I64, "cpu", &d)) return lt_fail_shim();
    int rc = lts_cpu_contiguous(d, &c);
    lts_tensor_free(d);
    if (rc) return lt_fail_shim();
    int64_t n = lts_numel(c);
    int64_t *m = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!m) {
      lts_tensor_free(c);
      return lt_fail("out of memory");
    }
    const void *p = lts_data_ptr(c);
    for (int64_t i = 0; i < n; i++)
      m[i] = fl ? ((const double *)p)[i] != (double)pad : ((const int64_t *)p)[i] != pad;
    lts_tensor_free(c);
    lts_tensor *r = NULL;
    if (n == 0) {
      free(m);
      rc = lts_fill(LTS_FILL_ZEROS, dims, nd, 0, LT_I64, NULL, &r);
    } else {
      rc = lts_from_blob(m, dims, nd, LT_I64, free, m, &r);
      if (rc) free(m);
    }
    if (rc) return lt_fail_shim();
    if (strcmp(device, "cpu") != 0) {
      lts_tensor *g = NULL;
      rc = lts_to(r, -1, device, &g);
      lts_tensor_free(r);
      if (rc) return lt_fail_shim();
      r = g;
    }
    *out = lt_handle_value(LT_H_TENSOR, r);
    return LT_OK;
  }
  if (v->kind == LT_BUFFER) {
    int64_t *ids, n;
    if (lt_read_ids(v, 1, "seqs", &ids, &n) != LT_OK) return LT_ERROR;
    for (int64_t i = 0; i < n; i++) ids[i] = ids[i] != pad;
    return lt_out_ids_tensor(ids, n, out);
  }
  if (v->kind != LT_LIST)
    return lt_fail("argument 1 (seqs) must be a tensor of padded ids or a list of sequences, got %s", lt_kind_name(v));
  /* a list of sequences, maybe ragged: [batch, longest] */
  seq_batch b;
  if (read_batch(v, 1, "seqs", &b) != LT_OK) return LT_ERROR;
  int64_t cols = 0;
  for (int64_t i = 0; i < b.n; i++)
    if (b.lens[i] > cols) cols = b.lens[i];
  int64_t *m = (int64_t *)malloc(sizeof(int64_t) * (size_t)(b.n * cols > 0 ? b.n * cols : 1));
  if (!m) {
    batch_free(&b);
    return lt_fail("out of memory");
  }
  for (int64_t i = 0; i < b.n; i++)
    for (int64_t j = 0; j < cols; j++) m[i * cols + j] = j < b.lens[i] && b.rows[i][j] != pad;
  int64_t rows = b.n;
  batch_free(&b);
  return out_matrix(m, rows, cols, NULL, out);
}
