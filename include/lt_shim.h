/* lt_shim.h - the C ABI over libtorch (implemented in shim/, C++).
 *
 * Rules of this header:
 *  - every int-returning function returns 0 on success, nonzero on failure;
 *    on failure lts_last_error() holds the message (thread-local, owned by the
 *    shim, valid until the next failing call on the same thread).
 *  - lts_tensor* arguments are BORROWED; lts_tensor** outputs receive a NEW
 *    reference that the caller releases with lts_tensor_free.
 *  - optional tensors are NULL; optional scalars come as (value, has_value).
 *  - nothing throws across this boundary.
 */
#ifndef LT_SHIM_H
#define LT_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include "lt_value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lts_tensor lts_tensor;

#define LTS_MAX_DIMS 16

const char *lts_last_error(void);

/* ---- handles ---- */
void lts_tensor_free(lts_tensor *t);                 /* NULL ok */
int lts_tensor_ref(lts_tensor *t, lts_tensor **out); /* new reference, same tensor */
int64_t lts_live_tensors(void);                      /* handles alive now */

/* ---- creation ---- */
/* Wraps memory without copying; deleter(ctx) runs (on any thread) when the
 * tensor storage dies. On failure the deleter is NOT called: the caller
 * still owns the memory. */
int lts_from_blob(void *data, const int64_t *dims, int nd, lt_dtype dt,
                  void (*deleter)(void *ctx), void *ctx, lts_tensor **out);
/* Copies n elements of src_dt into a new tensor of dt with the given dims. */
int lts_from_copy(const void *data, lt_dtype src_dt, const int64_t *dims, int nd,
                  lt_dtype dt, lts_tensor **out);

typedef enum { LTS_FILL_ZEROS, LTS_FILL_ONES, LTS_FILL_FULL, LTS_FILL_RANDN,
               LTS_FILL_RAND, LTS_FILL_EMPTY } lts_fill_kind;
/* device may be NULL (cpu). */
int lts_fill(lts_fill_kind kind, const int64_t *dims, int nd, double value,
             lt_dtype dt, const char *device, lts_tensor **out);
int lts_randint(int64_t low, int64_t high, const int64_t *dims, int nd,
                lt_dtype dt, const char *device, lts_tensor **out);
/* has_dtype = 0: int64 when start/end/step are integral, float32 otherwise */
int lts_arange(double start, double end, double step, lt_dtype dt, int has_dtype,
               lts_tensor **out);
int lts_full_like(lts_tensor *t, double value, lts_tensor **out);
int lts_cat(lts_tensor *const *ts, int n, int64_t dim, int stack, lts_tensor **out);

/* ---- information ---- */
int lts_dim(lts_tensor *t);
/* fills dims[0..dim-1] (at most max); returns the rank */
int lts_shape(lts_tensor *t, int64_t *dims, int max);
int64_t lts_numel(lts_tensor *t);
lt_dtype lts_dtype(lts_tensor *t);
/* "cpu", "cuda:0", "mps:0" ... into buf */
void lts_device(lts_tensor *t, char *buf, size_t n);
int lts_is_cpu(lts_tensor *t);
const void *lts_data_ptr(lts_tensor *t);              /* NULL if not on cpu */
int lts_item_double(lts_tensor *t, double *out);      /* one-element tensors */
int lts_item_int(lts_tensor *t, int64_t *out);
int lts_is_floating(lts_tensor *t);
/* A CPU contiguous tensor holding t's values (t itself when already so). */
int lts_cpu_contiguous(lts_tensor *t, lts_tensor **out);
int lts_requires_grad(lts_tensor *t);
int lts_set_requires_grad(lts_tensor *t, int flag);
int lts_grad(lts_tensor *t, lts_tensor **out);         /* *out NULL when none */
int lts_has_grad_fn(lts_tensor *t);
/* name of the autograd node ("AddBackward0"); returns 0 when there is none */
int lts_grad_fn_name(lts_tensor *t, char *buf, size_t n);
int lts_is_leaf(lts_tensor *t);
/* dt < 0 keeps the dtype; device NULL keeps the device */
int lts_to(lts_tensor *t, int dt, const char *device, lts_tensor **out);

/* ---- elementwise and linear algebra ---- */
typedef enum {
  LTS_U_ABS, LTS_U_ACOS, LTS_U_ASIN, LTS_U_ATAN, LTS_U_CEIL, LTS_U_COS, LTS_U_COSH,
  LTS_U_EXP, LTS_U_FLOOR, LTS_U_LOG, LTS_U_LOG10, LTS_U_LOG2, LTS_U_NEG,
  LTS_U_RECIPROCAL, LTS_U_ROUND, LTS_U_RSQRT, LTS_U_SIN, LTS_U_SINH, LTS_U_SQRT,
  LTS_U_TAN, LTS_U_RELU, LTS_U_SIGMOID, LTS_U_TANH, LTS_U_GELU, LTS_U_SILU,
  LTS_U_CONTIGUOUS, LTS_U_CLONE, LTS_U_DETACH,
  LTS_U_COUNT
} lts_unary_op;
int lts_unary(lts_unary_op op, lts_tensor *t, lts_tensor **out);

typedef enum { LTS_B_ADD, LTS_B_SUB, LTS_B_MUL, LTS_B_DIV, LTS_B_POW, LTS_B_MATMUL } lts_binary_op;
int lts_binary(lts_binary_op op, lts_tensor *a, lts_tensor *b, lts_tensor **out);
/* scalar_first: s op t instead of t op s */
int lts_binary_scalar(lts_binary_op op, lts_tensor *t, double s, int scalar_first,
                      lts_tensor **out);
int lts_linear(lts_tensor *x, lts_tensor *w, lts_tensor *b, lts_tensor **out);
int lts_einsum(const char *eq, lts_tensor *const *ts, int n, lts_tensor **out);
int lts_clamp(lts_tensor *t, double lo, int has_lo, double hi, int has_hi, lts_tensor **out);
int lts_rms_norm(lts_tensor *x, lts_tensor *w, double eps, lts_tensor **out);
int lts_softmax(lts_tensor *t, int64_t dim, int log, lts_tensor **out);

/* ---- shape and indexing ---- */
int lts_reshape(lts_tensor *t, const int64_t *dims, int nd, lts_tensor **out);
int lts_expand(lts_tensor *t, const int64_t *dims, int nd, lts_tensor **out);
int lts_transpose(lts_tensor *t, int64_t d0, int64_t d1, lts_tensor **out);
int lts_unsqueeze(lts_tensor *t, int64_t dim, lts_tensor **out);
int lts_squeeze(lts_tensor *t, int64_t dim, int has_dim, lts_tensor **out);
int lts_flatten(lts_tensor *t, int64_t start, int64_t end, lts_tensor **out);
int lts_slice(lts_tensor *t, int64_t dim, int64_t start, int64_t end, lts_tensor **out);
int lts_select(lts_tensor *t, int64_t dim, int64_t index, lts_tensor **out);
int lts_tri(lts_tensor *t, int64_t diagonal, int upper, lts_tensor **out);
int lts_gather(lts_tensor *t, int64_t dim, lts_tensor *index, lts_tensor **out);
int lts_cumsum(lts_tensor *t, int64_t dim, lts_tensor **out);
/* inplace: fills t itself (out receives a new reference to t) */
int lts_masked_fill(lts_tensor *t, lts_tensor *mask, double value, int inplace,
                    lts_tensor **out);
/* t[idx0, idx1, ...] = value (tensor or scalar), in place; n <= rank */
int lts_set_item(lts_tensor *t, const int64_t *idx, int n, lts_tensor *value,
                 double scalar);
/* t[idx0, idx1, ...] as a new tensor (view); negative indices from the end */
int lts_index(lts_tensor *t, const int64_t *idx, int n, lts_tensor **out);

/* ---- reductions and sampling ---- */
typedef enum { LTS_R_SUM, LTS_R_MEAN, LTS_R_STD, LTS_R_MAX, LTS_R_MIN, LTS_R_ARGMAX,
               LTS_R_ARGMIN } lts_reduce_op;
int lts_reduce(lts_reduce_op op, lts_tensor *t, int64_t dim, int has_dim, int keepdim,
               lts_tensor **out);
int lts_norm(lts_tensor *t, double p, int64_t dim, int has_dim, lts_tensor **out);
int lts_multinomial(lts_tensor *probs, int64_t n, int replacement, lts_tensor **out);
int lts_topk(lts_tensor *t, int64_t k, int64_t dim, int largest, lts_tensor **values,
             lts_tensor **indices);
int lts_sort(lts_tensor *t, int64_t dim, int descending, lts_tensor **values,
             lts_tensor **indices);

/* ---- devices and runtime ---- */
int lts_check_device(const char *device);   /* 0 when libtorch parses it */
int lts_cuda_is_available(void);
int lts_cuda_device_count(void);
int lts_mps_is_available(void);
int lts_set_device(const char *device);
int64_t lts_cuda_memory_allocated(void);
int64_t lts_cuda_memory_total(void);
int lts_cuda_empty_cache(void);
int lts_cuda_synchronize(void);
int lts_mps_synchronize(void);
int lts_set_num_threads(int n);
int lts_get_num_threads(void);
int lts_manual_seed(uint64_t seed);

typedef struct {
  char version[32];
  int cuda, rocm, mps, cudnn, mkl, openmp;
  int cuda_devices;
  int threads, interop_threads;
  int blas_threads; /* -1 when unknown */
} lts_runtime_info;
void lts_info(lts_runtime_info *info);

#ifdef __cplusplus
}
#endif
#endif
