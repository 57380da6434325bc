/* access.c - how handles behave as LispE values: printing, numbers, `at`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"

char *lt_handle_repr(lt_handle h) {
  if (h.kind == LT_H_TENSOR) return lt_tensor_repr((lts_tensor *)h.ptr);
  if (h.kind == LT_H_TOKENIZER) return lt_tokenizer_repr(h.ptr);
  if (h.kind == LT_H_HF_MODEL || h.kind == LT_H_KV_CACHE) return lt_hf_repr(h);
  if (h.kind == LT_H_MODULE) {
    char *d = (char *)malloc(256);
    lts_module_describe((lts_module *)h.ptr, d, 256);
    return d;
  }
  char *s = (char *)malloc(64);
  snprintf(s, 64, "<%s>", lt_handle_kind_name(h.kind));
  return s;
}

const char *lt_handle_type_name(lt_handle h) { return lt_handle_kind_name(h.kind); }

int lt_handle_number(lt_handle h, double *out) {
  if (h.kind != LT_H_TENSOR) return lt_fail("a %s is not a number", lt_handle_kind_name(h.kind));
  lts_tensor *t = (lts_tensor *)h.ptr;
  if (lts_numel(t) != 1)
    return lt_fail("a tensor of %lld elements is not a number", (long long)lts_numel(t));
  return lts_item_double(t, out) ? lt_fail_shim() : LT_OK;
}

int lt_tensor_at(lt_handle h, const int64_t *idx, int n, lt_value *out) {
  if (h.kind != LT_H_TENSOR) return lt_fail("at: a %s cannot be indexed", lt_handle_kind_name(h.kind));
  lts_tensor *r = NULL;
  if (lts_index((lts_tensor *)h.ptr, idx, n, &r)) return lt_fail("at: %s", lts_last_error());
  if (lts_dim(r) == 0) {
    int rc = lt_tensor_to_value(r, out);
    lts_tensor_free(r);
    return rc;
  }
  *out = lt_handle_value(LT_H_TENSOR, r);
  return LT_OK;
}

int64_t lt_handle_size(lt_handle h) {
  return h.kind == LT_H_TENSOR ? lts_numel((lts_tensor *)h.ptr) : -1;
}
