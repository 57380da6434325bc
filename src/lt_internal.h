/* lt_internal.h - helpers shared by the primitives in src/ (not installed). */
#ifndef LT_INTERNAL_H
#define LT_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include "lispe_torch.h"
#include "lt_shim.h"

/* ---- handle kinds ---- */
typedef struct {
  const char *name;          /* "tensor" */
  const char *article_name;  /* "a tensor" */
  void (*release)(void *p);
  int (*retain)(void *p, void **out);
} lt_handle_ops;

void lt_handle_register(lt_handle_kind k, const lt_handle_ops *ops);
const lt_handle_ops *lt_handle_ops_of(lt_handle_kind k);
const char *lt_handle_kind_name(lt_handle_kind k);

/* ---- the area tables (one per file), NULL-terminated ---- */
extern const lt_row lt_rows_tensor_create[];
extern const lt_row lt_rows_tensor_math[];
extern const lt_row lt_rows_tensor_shape[];
extern const lt_row lt_rows_runtime[];
extern const lt_row lt_rows_autograd[];     /* src/nn/optim.c */
extern const lt_row lt_rows_modules[];      /* src/nn/modules.c */
extern const lt_row lt_rows_attention[];    /* src/nn/attention.c */
extern const lt_row lt_rows_persistence[];  /* src/persist/ */
extern const lt_row lt_rows_tokenizers[];   /* src/tokenizers/ */
extern const lt_row lt_rows_hf[];           /* src/hf/ */
extern const lt_row lt_rows_generator[];    /* src/hf/generator.c */
extern const lt_row lt_rows_lora_hf[];      /* src/hf/lora_hf.c */
extern const lt_row lt_rows_lora[];         /* src/nn/lora.c */
extern const lt_row lt_rows_decomposition[]; /* src/tensor/decomposition.c */
extern const lt_row lt_rows_jit[];          /* src/nn/jit.c */
extern const lt_row lt_rows_quantize[];     /* src/tensor/quantize.c */
void lt_jit_kind_init(void);
void lt_nn_kinds_init(void);                /* module, optimizer, scheduler handles */
char *lt_tokenizer_repr(void *p);           /* malloc'd, e.g. "Simple Tokenizer (vocab size: 4)" */
void lt_tensor_kind_init(void);
void lt_hf_kinds_init(void);                /* HF model, KV cache handles */
void lt_generator_kind_init(void);
char *lt_hf_repr(lt_handle h);              /* malloc'd, e.g. "hf_model(llama, 2 layers, path)" */
void lt_tokenizer_kind_init(void);

/* ---- reading checked arguments ---- */
static inline lts_tensor *lt_tensor_of(const lt_value *v) {
  return (lts_tensor *)v->u.h.ptr;
}
static inline int lt_is_tensor(const lt_value *v) {
  return v->kind == LT_HANDLE && v->u.h.kind == LT_H_TENSOR;
}
static inline int lt_present(const lt_value *v) { return v->kind != LT_NIL; }
/* numbers: valid after the type check (LT_P_INT / LT_P_NUM / LT_P_BOOL) */
int64_t lt_as_int(const lt_value *v);
double lt_as_num(const lt_value *v);
int lt_as_bool(const lt_value *v);
/* LT_P_INTS into dims; fails (with message naming the argument) when more
 * than max or not integers. argi is 1-based, for the message. */
int lt_read_ints(const lt_value *v, int argi, const char *pname, int64_t *dims, int max, int *n);
/* LT_P_DTYPE with default */
lt_dtype lt_read_dtype(const lt_value *v, lt_dtype dflt);
/* LT_P_DEVICE: NULL when absent; copies into buf */
const char *lt_read_device(const lt_value *v, char *buf, size_t n);
/* NUL-terminated copy of a string argument into buf (truncated at n-1). */
const char *lt_read_str(const lt_value *v, char *buf, size_t n);
/* a string argument as a malloc'd NUL-terminated copy (NULL when out of memory) */
char *lt_str_dup(const lt_value *v);

static inline lts_module *lt_module_of(const lt_value *v) { return (lts_module *)v->u.h.ptr; }
static inline lts_optimizer *lt_optimizer_of(const lt_value *v) { return (lts_optimizer *)v->u.h.ptr; }
static inline int lt_is_module(const lt_value *v) { return v->kind == LT_HANDLE && v->u.h.kind == LT_H_MODULE; }
/* a dictionary entry by key, or NULL */
const lt_value *lt_dict_get(const lt_value *dict, const char *key);
/* Parameters from a module, an optimizer, a tensor or a list of tensors:
 * a malloc'd array of borrowed-or-new references (see *owned: 1 when the
 * caller must lts_tensor_free each entry). */
int lt_collect_params(const lt_value *v, int argi, const char *pname, lts_tensor ***ts, int64_t *n, int *owned);
void lt_free_params(lts_tensor **ts, int64_t n, int owned);

/* ---- results ---- */
static inline int lt_out_module(int rc, lts_module **m, lt_value *out) {
  if (rc) return lt_fail_shim();
  *out = lt_handle_value(LT_H_MODULE, *m);
  return LT_OK;
}
/* Takes the new reference *t; fails with the shim error when rc != 0.
 * t is passed by address so that it is read after the shim call ran
 * (C leaves the order of argument evaluation unspecified). */
static inline int lt_out_tensor(int rc, lts_tensor **t, lt_value *out) {
  if (rc) return lt_fail_shim();
  *out = lt_handle_value(LT_H_TENSOR, *t);
  return LT_OK;
}

/* A list value of the n new references in ts (taken); frees the array. */
lt_value lt_tensor_list(lts_tensor **ts, int64_t n);

/* Builds a tensor from any LT_P_DATA value (buffer, number, nested lists,
 * list of tensors). dt < 0: from the data. May take a buffer's memory. */
int lt_tensor_from_value(const lt_value *v, int dt, const char *device, lts_tensor **out);
/* Tensor -> LispE-shaped value (buffer for 1-d, nested lists for N-d, number for 0-d). */
int lt_tensor_to_value(lts_tensor *t, lt_value *out);
/* PyTorch-style repr, malloc'd. */
char *lt_tensor_repr(lts_tensor *t);

#endif
