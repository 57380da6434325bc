/* lispe_torch.h - the public C API of liblispe_torch: the primitive table.
 *
 * Every LispE primitive is one row of the table. The LispE adapter, docs/API.md
 * and the table-driven tests all read the table through these functions.
 */
#ifndef LISPE_TORCH_H
#define LISPE_TORCH_H

#include "lt_value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LT_OK 0
#define LT_ERROR (-1)
#define LT_MAX_PARAMS 8

/* Parameter types, checked by lt_call before the primitive runs. */
typedef enum {
  LT_P_ANY,      /* anything */
  LT_P_TENSOR,   /* a tensor handle */
  LT_P_TNUM,     /* a tensor handle or a number */
  LT_P_INT,      /* an integer (a float with an integral value is accepted) */
  LT_P_NUM,      /* an integer or a float */
  LT_P_BOOL,     /* true/false/nil or a number */
  LT_P_STR,      /* a string */
  LT_P_INTS,     /* integers buffer or list of integers (shapes, indices) */
  LT_P_TENSORS,  /* a list of tensors */
  LT_P_DATA,     /* numeric buffer, number, list, nested lists or tensors */
  LT_P_DTYPE,    /* a dtype name */
  LT_P_DEVICE,   /* a device name */
  LT_P_LIST,     /* any list or buffer */
  LT_P_DICT,     /* a dictionary */
  LT_P_FN,       /* a callable */
  LT_P_HANDLE,   /* any handle of ours */
  LT_P_MODULE,   /* a module (linear, mlp, attention ...) */
  LT_P_OPTIMIZER,/* an optimizer */
  LT_P_SCHEDULER,/* a learning-rate scheduler */
  LT_P_TYPE_COUNT
} lt_ptype;

typedef struct {
  const char *name;
  lt_ptype type;
  int optional;
} lt_param;

/* A primitive: args has exactly nparams entries (absent optionals are nil),
 * already checked against the declared types. Fill *out, return LT_OK, or
 * return lt_fail(...). */
typedef int (*lt_prim_fn)(const lt_value *args, lt_value *out);

/* A row as written in the area tables.
 * params: space-separated "name:type", optional ones prefixed with '?',
 *         e.g. "t:tensor shape:ints ?dtype:dtype ?device:device".
 * alias_of: NULL for a primary row, else the primary's name (fn unused). */
typedef struct {
  const char *name;
  const char *alias_of;
  const char *params;
  const char *doc;
  lt_prim_fn fn;
} lt_row;

typedef struct {
  const char *name;
  const char *alias_of;   /* NULL when primary */
  const char *params_text;
  const char *doc;
  lt_prim_fn fn;
  int section;            /* section of PRIMITIVES.md */
  int nparams, nrequired;
  lt_param params[LT_MAX_PARAMS];
} lt_primitive;

/* Builds the table once (idempotent, thread-safe). Returns LT_OK. */
int lt_init(void);
/* The whole table, primaries and aliases. */
int lt_primitive_count(void);
const lt_primitive *lt_primitive_at(int i);
const lt_primitive *lt_primitive_find(const char *name);
const char *lt_section_title(int section);
const char *lt_ptype_name(lt_ptype t);

/* Checks args against p's parameters and calls it. On error returns LT_ERROR
 * and lt_last_error() reads "<name>: <message>". out is nil on error. */
int lt_call(const lt_primitive *p, const lt_value *args, int nargs, lt_value *out);
const char *lt_last_error(void);

/* For primitives: set the error text (printf style) and return LT_ERROR.
 * Every failure says why through it: lt_call adds the primitive's name on
 * return (a primitive returning LT_ERROR without it reads "<name>: failed").
 * A primitive whose inner lt_call or callback failed passes the message on:
 * return lt_fail("%s", lt_last_error()). */
int lt_fail(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* lt_fail with the shim's last error. */
int lt_fail_shim(void);

/* ---- for the adapter: how handles behave as LispE values ---- */
/* Printable text (PyTorch's repr for tensors); malloc'd, caller frees. */
char *lt_handle_repr(lt_handle h);
/* Type name shown by LispE's `type`: "tensor", "module" ... */
const char *lt_handle_type_name(lt_handle h);
/* A one-element tensor read as a number: LT_OK and *out, else LT_ERROR. */
int lt_handle_number(lt_handle h, double *out);
/* (at tensor i j ...): a number when every dimension is indexed, else a
 * tensor; negative indices count from the end; out of range is an error. */
int lt_tensor_at(lt_handle h, const int64_t *idx, int n, lt_value *out);
/* Element count of a tensor (LispE's size); -1 for other handles. */
int64_t lt_handle_size(lt_handle h);

/* ---- calling back into the interpreter ----
 * A primitive calls an LT_CALLABLE argument through lt_invoke; the adapter
 * says how with lt_set_invoker. args are borrowed (handles among them are
 * shared, not taken); result may be NULL when the caller ignores it, else it
 * receives a value the caller clears. Returns LT_OK, or LT_ERROR with the
 * callback's error in lt_last_error(). Without an invoker, LT_ERROR. */
typedef int (*lt_invoker)(const lt_value *fn, const lt_value *args, int nargs, lt_value *result);
void lt_set_invoker(lt_invoker f);
int lt_invoke(const lt_value *fn, const lt_value *args, int nargs, lt_value *result);

/* Writes docs/API.md text (markdown) to f (a FILE*). */
void lt_write_api_markdown(void *file);

#ifdef __cplusplus
}
#endif
#endif
