/* lt_value.h - the value model shared by the LispE adapter and the C primitives.
 *
 * A primitive receives borrowed arguments (const lt_value *args) and fills one
 * result value that it owns until the caller takes it (lt_value_clear frees it).
 * Everything here is plain C11 so src/ never sees C++ or LispE.
 */
#ifndef LT_VALUE_H
#define LT_VALUE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  LT_NIL = 0,
  LT_BOOL,
  LT_INT,      /* int64 */
  LT_FLOAT,    /* double */
  LT_STRING,   /* UTF-8, length-counted */
  LT_BUFFER,   /* a flat numeric buffer (LispE floats/numbers/integers/shorts) */
  LT_LIST,     /* heterogeneous list of values */
  LT_DICT,     /* string keys -> values */
  LT_HANDLE,   /* an opaque object of ours: tensor, module, tokenizer ... */
  LT_CALLABLE, /* a LispE function passed as an argument (adapter-defined) */
  LT_OPAQUE    /* any other LispE value, passed through untouched (callback data) */
} lt_kind;

/* Element types. The numbering is ours; the shim maps it to libtorch. */
typedef enum {
  LT_F32 = 0, LT_F64, LT_F16, LT_BF16, LT_I64, LT_I32, LT_I16, LT_I8, LT_U8, LT_BOOL8,
  LT_QI8, LT_QU8, LT_QI32,   /* quantized (affine): values are read dequantized */
  LT_DTYPE_COUNT
} lt_dtype;
/* the plain dtypes (not quantized): LT_F32 .. LT_BOOL8 */
#define LT_PLAIN_DTYPES (LT_BOOL8 + 1)

/* Kinds of handles. Each kind has one release function (lt_handle_release). */
typedef enum {
  LT_H_TENSOR = 1,
  LT_H_MODULE,
  LT_H_OPTIMIZER,
  LT_H_SCHEDULER,
  LT_H_TOKENIZER,
  LT_H_HF_MODEL,
  LT_H_KV_CACHE,
  LT_H_GENERATOR,
  LT_H_JIT,
  LT_H_KIND_COUNT
} lt_handle_kind;

typedef struct lt_value lt_value;

/* A numeric buffer. In arguments it is borrowed from the caller; when
 * `take` is non-NULL the caller allows the callee to take the memory over:
 * take(src) returns the data pointer (now owned by the callee, to be released
 * with the returned `release`) or NULL when it cannot hand it over (shared).
 * In results, `release(owner)` (if set) is called by lt_value_clear. */
typedef struct {
  void *data;
  int64_t len;               /* element count */
  lt_dtype dtype;
  void *owner;
  void (*release)(void *owner);
  void *(*take)(void *src, void (**release)(void *));
  void *src;
} lt_buffer;

typedef struct {
  lt_handle_kind kind;
  void *ptr;
} lt_handle;

struct lt_value {
  lt_kind kind;
  union {
    int b;
    int64_t i;
    double f;
    struct { const char *s; size_t len; int owned; } str;
    lt_buffer buf;
    struct { lt_value *items; int64_t n; } list;   /* owned in results */
    struct { char **keys; lt_value *vals; int64_t n, cap; } dict;
    lt_handle h;
    struct { void *fn; void *env; } call;   /* LT_CALLABLE and LT_OPAQUE */
  } u;
};

/* --- building results (all take ownership of what they are given) --- */
static inline lt_value lt_nil(void) { lt_value v; v.kind = LT_NIL; v.u.i = 0; return v; }
static inline lt_value lt_bool(int b) { lt_value v; v.kind = LT_BOOL; v.u.b = b != 0; return v; }
static inline lt_value lt_int(int64_t i) { lt_value v; v.kind = LT_INT; v.u.i = i; return v; }
static inline lt_value lt_float(double f) { lt_value v; v.kind = LT_FLOAT; v.u.f = f; return v; }
static inline lt_value lt_handle_value(lt_handle_kind k, void *p) {
  lt_value v; v.kind = LT_HANDLE; v.u.h.kind = k; v.u.h.ptr = p; return v;
}
lt_value lt_string_copy(const char *s, size_t len); /* copies */
lt_value lt_string_cstr(const char *s);             /* copies */
lt_value lt_string_owned(char *s, size_t len);      /* takes malloc'd s */
lt_value lt_list_new(int64_t n);                    /* n nil items */
lt_value lt_dict_new(int64_t capacity);
int lt_dict_put(lt_value *dict, const char *key, lt_value val); /* takes val */
/* A buffer result owning malloc'd memory (freed with free). */
lt_value lt_buffer_owned(void *data, int64_t len, lt_dtype dt);

/* Frees what a result value owns (recursively); leaves it nil. */
void lt_value_clear(lt_value *v);

/* Releases one reference of a handle (dispatches on kind). */
void lt_handle_release(lt_handle h);
/* A new reference to the same object (for primitives that return an argument). */
int lt_handle_retain(lt_handle h, lt_handle *out);

/* Names for messages: "a string", "a tensor", ... */
const char *lt_kind_name(const lt_value *v);
const char *lt_dtype_name(lt_dtype dt);
int lt_dtype_parse(const char *s, size_t len, lt_dtype *out); /* 0 ok */
size_t lt_dtype_size(lt_dtype dt);

#ifdef __cplusplus
}
#endif
#endif
