/* lt_shim.h - the C ABI over libtorch (implemented in shim/, C++).
 *
 * Rules of this header:
 *  - every int-returning function returns 0 on success, nonzero on failure;
 *    on failure lts_last_error() holds the message (thread-local, owned by the
 *    shim, valid until the next failing call on the same thread).
 *  - lts_tensor* arguments are BORROWED; lts_tensor** outputs receive a NEW
 *    reference that the caller releases with lts_tensor_free. (A handle is
 *    the tensor's implementation object holding one reference, no box: two
 *    handles of one tensor may be the same pointer.)
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

/* ---- quantization (shim/ops.cpp) ---- */
/* dtype: LT_QI8, LT_QU8 or LT_QI32; values read dequantized everywhere */
int lts_quantize_per_tensor(lts_tensor *t, double scale, int64_t zero_point, lt_dtype dt, lts_tensor **out);
/* scales float, zero_points integers, one per index of axis */
int lts_quantize_per_channel(lts_tensor *t, lts_tensor *scales, lts_tensor *zero_points, int64_t axis, lt_dtype dt,
                             lts_tensor **out);
/* scale and zero point from the tensor's min and max (0 always representable) */
int lts_quantize_dynamic(lts_tensor *t, lt_dtype dt, lts_tensor **out);
int lts_dequantize(lts_tensor *t, lts_tensor **out);
typedef struct {
  int per_channel;
  double scale;          /* per tensor */
  int64_t zero_point;    /* per tensor */
  int64_t axis;          /* per channel */
} lts_qparams;
int lts_quant_params(lts_tensor *t, lts_qparams *q);   /* fails for a tensor that is not quantized */

/* ---- tensor decomposition ---- */
/* Tucker (HOOI from the HOSVD): factors[n] [size_n, rank_n] orthonormal
 * columns (n = rank of t entries, caller's array), core [rank_0, ...] */
int lts_tucker(lts_tensor *t, const int64_t *ranks, int n, int64_t max_iter, double tol, lts_tensor **core,
               lts_tensor **factors);
int lts_tucker_reconstruct(lts_tensor *core, lts_tensor *const *factors, int n, lts_tensor **out);
/* column-wise Kronecker product: a [I, R], b [J, R] -> [I*J, R] */
int lts_khatri_rao(lts_tensor *a, lts_tensor *b, lts_tensor **out);

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

/* ==== modules (shim/nn.cpp, shim/attention.cpp) ==== */
typedef struct lts_module lts_module;
typedef enum {
  LTS_M_MLP, LTS_M_LINEAR, LTS_M_EMBEDDING, LTS_M_LAYER_NORM, LTS_M_MHA, LTS_M_BLOCK,
  LTS_M_POSENC, LTS_M_ROTARY, LTS_M_FLASH, LTS_M_LORA, LTS_M_COUNT
} lts_module_kind;

void lts_module_free(lts_module *m);                     /* NULL ok */
int lts_module_ref(lts_module *m, lts_module **out);     /* new reference */
/* a new handle on the same module (same weights) with its own checkpointing flag */
int lts_module_share(lts_module *m, lts_module **out);
int64_t lts_live_modules(void);
lts_module_kind lts_module_kind_of(lts_module *m);
const char *lts_module_kind_name(lts_module_kind k);     /* "linear", "mlp" ... */
/* a one-line description, e.g. "linear(in=4, out=2, bias=True)" */
void lts_module_describe(lts_module *m, char *buf, size_t n);

int lts_mlp_new(int64_t in, int64_t hidden, int64_t out, lts_module **m);
int lts_linear_new(int64_t in, int64_t out, int bias, lts_module **m);
int lts_embedding_new(int64_t n, int64_t dim, lts_module **m);
int lts_layer_norm_new(const int64_t *shape, int nd, double eps, lts_module **m);
int lts_mha_new(int64_t embed, int64_t heads, lts_module **m);
int lts_block_new(int64_t embed, int64_t heads, int64_t ffn, lts_module **m);
int lts_posenc_new(int64_t d_model, int64_t max_len, lts_module **m);
int lts_rotary_new(int64_t dim, int64_t max_seq_len, double base, lts_module **m);

/* LoRA layers (LTS_M_LORA): x Wᵀ + b + (alpha / rank) · (x Aᵀ) Bᵀ; W, b frozen
 * buffers, A [rank, in] and B [out, rank] (zero at first) the parameters.
 * From a linear layer: shares (and freezes) its weight and bias. */
int lts_lora_linear_new(int64_t in, int64_t out, int64_t rank, double alpha, lts_module **m);
int lts_lora_from_linear(lts_module *linear, int64_t rank, double alpha, lts_module **m);
int lts_lora_merge(lts_module *m);                          /* W += scaling · B A, once */
int lts_lora_delta(lts_module *m, lts_tensor **out);        /* scaling · B A [out, in] */
int lts_lora_magnitude(lts_module *m, double *out);         /* ‖scaling · B A‖ / ‖W‖ (Frobenius) */
int lts_lora_layer_info(lts_module *m, int64_t *rank, double *alpha, int *merged);
int lts_lora_set_adapters(lts_module *m, lts_tensor *a, lts_tensor *b);  /* copies, shapes checked */

/* moves parameters and buffers; dt < 0 keeps dtype, device NULL keeps device */
int lts_module_to(lts_module *m, int dt, const char *device);
/* the module's forward on x (mask optional: attention kinds; see docs).
 * Runs through activation checkpointing when enabled on the module. */
int lts_module_forward(lts_module *m, lts_tensor *x, lts_tensor *mask, lts_tensor **out);
/* attention kinds (mha, flash): separate query, key, value */
int lts_attention_forward(lts_module *m, lts_tensor *q, lts_tensor *k, lts_tensor *v,
                          lts_tensor *mask, lts_tensor **out);
int lts_rotary_forward(lts_module *m, int64_t seq_len, const char *device, lts_tensor **cos,
                       lts_tensor **sin);
int lts_apply_rotary(lts_tensor *t, lts_tensor *cos, lts_tensor *sin, lts_tensor **out);
/* trainable parameters: *ts is a malloc'd array of new references (free each
 * with lts_tensor_free, then free the array) */
int lts_module_parameters(lts_module *m, lts_tensor ***ts, int64_t *n);
/* parameters and buffers by name ("fc1.weight" ...): malloc'd arrays of
 * malloc'd names and new tensor references */
int lts_module_state(lts_module *m, char ***names, lts_tensor ***ts, int64_t *n);
/* copies values into the module's tensors by name; every module tensor must
 * be given with its exact shape (unknown names are an error) */
int lts_module_load_state(lts_module *m, char *const *names, lts_tensor *const *ts, int64_t n);
int lts_module_train(lts_module *m, int training);
int lts_module_is_training(lts_module *m);
int lts_module_set_checkpointing(lts_module *m, int on);
int lts_module_checkpointing(lts_module *m);
/* The 2-d weights of a module (linear, mlp, the projections of attention and
 * blocks, embeddings) kept in int8 (per output channel, symmetric) and
 * dequantized for each forward; they stop training (requires_grad off).
 * State and checkpoints give the dequantized values; before and after: bytes */
int lts_module_quantize(lts_module *m, int64_t *before, int64_t *after);
/* static quantization: the range of the calibration inputs (with 0) sets a
 * uint8 scale and zero point applied to the module's input in forward */
int lts_module_calibrate(lts_module *m, lts_tensor *const *xs, int64_t n);

/* attention (shim/attention.cpp): q, k, v [B, H, L, D] or [B*H, L, D]; masks
 * as lts_attention_forward; has_scale = 0: 1/sqrt(D); rows that attend to no
 * key give zeros. lts_sdpa: libtorch's fused kernel where it has one (>= 2.0).
 * lts_flash_attention: the memory-efficient path (extra memory O(L·block),
 * never [Lq, Lk], forward and backward); dropout applies when dropout_p > 0. */
int lts_sdpa(lts_tensor *q, lts_tensor *k, lts_tensor *v, lts_tensor *mask, double dropout_p,
             int is_causal, double scale, int has_scale, lts_tensor **out);
int lts_flash_attention(lts_tensor *q, lts_tensor *k, lts_tensor *v, lts_tensor *mask, double scale,
                        int has_scale, int is_causal, double dropout_p, lts_tensor **out);
/* the flash module (LTS_M_FLASH): q/k/v/out projections as mha's */
int lts_flash_new(int64_t embed, int64_t heads, double dropout, int bias, lts_module **m);
/* a flash module's attention with this dropout, applied only when training */
int lts_flash_attend(lts_module *m, lts_tensor *q, lts_tensor *k, lts_tensor *v, lts_tensor *mask,
                     double dropout_p, int training, lts_tensor **out);
/* block sizes of the chunked flash path (queries, keys); <= 0 restores 256 */
void lts_flash_set_blocks(int64_t q_block, int64_t k_block);
/* whether the flash path may use libtorch's own memory-efficient kernel (>= 2.1,
 * when it has one for the call: no dropout, causal only without a mask and with
 * Lq = Lk) instead of the chunked path; on by default; returns the previous */
int lts_flash_set_fused(int on);

/* ==== autograd and losses (shim/optim.cpp) ==== */
int lts_backward(lts_tensor *loss, int retain_graph, int create_graph);
int lts_set_grad_enabled(int on);
int lts_is_grad_enabled(void);
int lts_mse_loss(lts_tensor *pred, lts_tensor *target, lts_tensor **out);
/* logits [N, C] or [..., C] (flattened), targets int64 [N] or [...] */
int lts_cross_entropy(lts_tensor *logits, lts_tensor *targets, int64_t ignore_index,
                      lts_tensor **out);

/* ==== optimizers (shim/optim.cpp) ==== */
typedef struct lts_optimizer lts_optimizer;
typedef enum { LTS_OPT_SGD, LTS_OPT_ADAM, LTS_OPT_ADAMW } lts_opt_kind;
typedef struct {
  double lr, momentum, weight_decay, beta1, beta2, eps;
  int nesterov;
} lts_opt_config;
/* defaults as PyTorch: sgd(momentum 0, wd 0), adam(0.9, 0.999, 1e-8, wd 0),
 * adamw(0.9, 0.999, 1e-8, wd 0.01) */
void lts_opt_defaults(lts_opt_kind kind, double lr, lts_opt_config *c);
int lts_optimizer_new(lts_opt_kind kind, const lts_opt_config *c, lts_tensor *const *params,
                      int64_t n, lts_optimizer **out);
void lts_optimizer_free(lts_optimizer *o);
int lts_optimizer_ref(lts_optimizer *o, lts_optimizer **out);
/* adds a parameter group; lr/weight_decay < 0 keep the optimizer's defaults */
int lts_optimizer_add_params(lts_optimizer *o, lts_tensor *const *params, int64_t n, double lr,
                             double weight_decay);
int lts_optimizer_step(lts_optimizer *o);
int lts_optimizer_zero_grad(lts_optimizer *o);
int64_t lts_optimizer_param_count(lts_optimizer *o);   /* tensors over all groups */
lts_opt_kind lts_optimizer_kind(lts_optimizer *o);
double lts_optimizer_get_lr(lts_optimizer *o);         /* first group */
int lts_optimizer_set_lr(lts_optimizer *o, double lr); /* every group */
/* the optimizer's parameters (new references), for clipping */
int lts_optimizer_parameters(lts_optimizer *o, lts_tensor ***ts, int64_t *n);
/* total 2-norm of the gradients before clipping */
int lts_clip_grad_norm(lts_tensor *const *params, int64_t n, double max_norm, double *total);

/* ==== serialization (shim/optim.cpp) ==== */
/* One archive file: module tensors, optionally optimizer state, and scalars.
 * Written to path + ".tmp" then renamed into place. */
int lts_save_checkpoint(const char *path, lts_module *m, lts_optimizer *o, int64_t epoch);
/* What a checkpoint holds (lts_checkpoint_read). */
typedef struct {
  int64_t epoch;       /* -1 when none is stored */
  int model_kind;      /* lts_module_kind, -1 when no model (or no kind) is stored */
  int optimizer_kind;  /* lts_opt_kind, -1 when no optimizer state is stored */
} lts_checkpoint_info;
/* Reads a checkpoint of lts_save_checkpoint, checking everything before
 * changing anything: m (optional) gets the stored weights only when the kind,
 * every name and every shape match; o (optional) gets the stored state and
 * the stored hyper-parameters of each group (as PyTorch's load_state_dict)
 * only when its kind, groups and state shapes match. On failure neither is
 * changed. info may be NULL. names/ts/n (all NULL, or all set): the stored
 * model tensors by dotted name, as lts_module_state (new references). */
int lts_checkpoint_read(const char *path, lts_module *m, lts_optimizer *o, lts_checkpoint_info *info,
                        char ***names, lts_tensor ***ts, int64_t *n);

/* ==== Hugging Face causal language models (shim/hf.cpp) ==== */
/* The Llama family: Llama 2/3/3.x, Mistral, Qwen2/2.5, Qwen3, SmolLM,
 * TinyLlama, and Gemma 1/2/3 text (the same decoder with other norms,
 * activation, scaling, soft-capping and per-layer windows and rotary bases). Numerics as transformers' modeling code for the
 * same weights. */
typedef struct lts_hf_model lts_hf_model;
typedef struct lts_hf_cache lts_hf_cache;
typedef enum { LTS_ROPE_DEFAULT, LTS_ROPE_LINEAR, LTS_ROPE_LLAMA3 } lts_rope_kind;
typedef enum { LTS_ACT_SILU, LTS_ACT_GELU_TANH } lts_hf_act;
#define LTS_HF_MAX_LAYERS 512
typedef struct {
  int64_t vocab, hidden, intermediate, layers, heads, kv_heads, head_dim, max_positions;
  double rms_eps, rope_theta;
  lts_rope_kind rope_kind;
  double rope_factor, rope_low_freq, rope_high_freq;  /* "linear": factor; "llama3": all */
  int64_t rope_original_max;
  int64_t sliding_window;                             /* 0: none */
  unsigned char sliding[LTS_HF_MAX_LAYERS];           /* 1: layer i attends within sliding_window */
  double rope_local_theta;                            /* > 0: the sliding layers' own default rope */
  int tie_embeddings;
  /* Gemma */
  lts_hf_act act;                  /* of the gated MLP */
  int norm_plus_one;               /* RMSNorm scales by (1 + w), in float32 */
  int embed_scaled;                /* embeddings times sqrt(hidden) */
  int sandwich_norms;              /* Gemma 2: norms after attention and before and after the MLP */
  double attn_scalar;              /* scores times attn_scalar^-1/2; 0: head_dim */
  double attn_softcap, final_softcap;  /* c·tanh(x/c) on scores, logits; 0: none */
} lts_hf_config;

/* Weights by their transformers names ("model.layers.0.self_attn.q_proj.weight",
 * "lm_head.weight"; names without "model." are read as a bare LlamaModel's).
 * Every weight the config implies must be there with its shape; biases and
 * q/k norms are used when present; any other name is an error. dt < 0 keeps
 * the checkpoint's dtype; device NULL keeps the tensors' device. */
int lts_hf_new(const lts_hf_config *c, char *const *names, lts_tensor *const *ts, int64_t n, int dt,
               const char *device, lts_hf_model **out);
void lts_hf_free(lts_hf_model *m);                /* NULL ok */
int lts_hf_ref(lts_hf_model *m, lts_hf_model **out);
int64_t lts_live_hf_objects(void);                /* models + caches alive */
void lts_hf_config_of(lts_hf_model *m, lts_hf_config *c);
/* ids [batch, seq] integers -> logits [batch, seq, vocab]; cache (optional)
 * holds the earlier positions and receives these; manual: plain softmax
 * attention instead of libtorch's fused kernel */
int lts_hf_forward(lts_hf_model *m, lts_tensor *ids, lts_hf_cache *cache, int manual, lts_tensor **out);
int lts_hf_embeddings(lts_hf_model *m, lts_tensor *ids, lts_tensor **out);  /* [batch, seq, hidden] */
int lts_hf_weight(lts_hf_model *m, const char *name, lts_tensor **out);     /* the model's own tensor */
int lts_hf_weight_names(lts_hf_model *m, char ***names, int64_t *n);        /* malloc'd, file order */
/* bytes and count of the weights; their dtype and device ("cpu", "cuda:0") */
int lts_hf_memory(lts_hf_model *m, int64_t *bytes, int64_t *params);
lt_dtype lts_hf_dtype(lts_hf_model *m);
void lts_hf_device(lts_hf_model *m, char *buf, size_t n);

/* moves every weight to device (a cache made before holds the old device's tensors) */
int lts_hf_to(lts_hf_model *m, const char *device);
/* Recording of the attention probabilities [batch, heads, seq, keys] of each
 * layer during forward (plain softmax attention while on); off drops them. */
int lts_hf_record_attention(lts_hf_model *m, int on);
int64_t lts_hf_attention_count(lts_hf_model *m);   /* layers recorded */
/* *out NULL when the layer has no record (no forward since recording began) */
int lts_hf_attention_scores(lts_hf_model *m, int64_t layer, lts_tensor **out);

/* A KV cache for one model; max_len > 0 keeps only the newest max_len
 * positions (rotary positions go on counting), 0 keeps all. */
int lts_hf_cache_new(lts_hf_model *m, int64_t max_len, lts_hf_cache **out);
void lts_hf_cache_free(lts_hf_cache *c);          /* NULL ok */
int lts_hf_cache_ref(lts_hf_cache *c, lts_hf_cache **out);
void lts_hf_cache_reset(lts_hf_cache *c);
int64_t lts_hf_cache_position(lts_hf_cache *c);   /* positions fed so far */
int64_t lts_hf_cache_length(lts_hf_cache *c);     /* positions held */

/* Sampling as transformers' logits processors: repetition penalty, then
 * greedy (argmax) or temperature, top-k (0: off), top-p (1: off), draw. */
typedef struct {
  int greedy;
  double temperature, top_p, repetition_penalty;
  int64_t top_k;
  uint64_t seed;
  int has_seed;   /* 0: the global generator (torch_manual_seed) */
} lts_hf_sampling;
/* called with each new token; nonzero stops generation with an error */
typedef int (*lts_token_cb)(void *ctx, int64_t token);
/* Up to max_new tokens after the prompt (batch 1, KV cache), stopping after
 * an eos token (which is included). *tokens: malloc'd. */
int lts_hf_generate(lts_hf_model *m, const int64_t *prompt, int64_t n, const int64_t *eos, int n_eos,
                    int64_t max_new, const lts_hf_sampling *s, lts_token_cb cb, void *ctx,
                    int64_t **tokens, int64_t *n_out);

/* ---- LoRA on a model's projections (PEFT's LoRA: W x + scaling · B A x) ----
 * targets: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj, or
 * all-linear. A [r, in] as nn.Linear's initialisation, B [out, r] zeros, so a
 * fresh adapter leaves the outputs as they were; scaling alpha / r (rslora:
 * alpha / sqrt(r)). dt < 0: the weights' dtype. A new init replaces adapters
 * in place; none of these works while merged (but enable/info). */
int lts_hf_lora_init(lts_hf_model *m, int64_t rank, double alpha, const char *const *targets, int n, int dt,
                     int rslora);
typedef struct {
  int64_t rank, adapters;   /* adapters: projections adapted over all layers */
  double alpha, scaling;
  int rslora, enabled, merged;
  double dropout;           /* on the adapters' input, in training mode */
  unsigned targets;         /* bit p: projection p (lts_hf_lora_target_name) */
} lts_lora_info;
int lts_hf_lora_info(lts_hf_model *m, lts_lora_info *info);
const char *lts_hf_lora_target_name(int p);   /* "q_proj" ... for p in 0..6, else NULL */
/* the adapters under PEFT's names (base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight)
 * as malloc'd arrays of malloc'd names and new references */
int lts_hf_lora_state(lts_hf_model *m, char ***names, lts_tensor ***ts, int64_t *n);
/* adapters from tensors under PEFT's names (".default" adapter names
 * accepted), every shape checked against rank before anything changes */
int lts_hf_lora_load_state(lts_hf_model *m, char *const *names, lts_tensor *const *ts, int64_t n, int64_t rank,
                           double alpha, int rslora);
int lts_hf_lora_enable(lts_hf_model *m, int on);
/* PEFT's lora_dropout p in [0, 1]: dropout on each adapter's input while the
 * model is in training mode (the base projections never drop) */
int lts_hf_lora_set_dropout(lts_hf_model *m, double p);
/* training (1) or evaluation (0, the state after loading, as transformers'
 * from_pretrained leaves it) */
int lts_hf_set_training(lts_hf_model *m, int on);
int lts_hf_training(lts_hf_model *m);
/* merge = 1 adds scaling · B A into the weights, 0 takes it out again */
int lts_hf_lora_merge(lts_hf_model *m, int merge);
/* the trainable adapter tensors (A, B per adapted projection) as new references */
int lts_hf_lora_parameters(lts_hf_model *m, lts_tensor ***ts, int64_t *n);

/* ==== TorchScript modules (shim/jit.cpp) ==== */
typedef struct lts_jit lts_jit;
/* device NULL: where the archive says */
int lts_jit_load(const char *path, const char *device, lts_jit **out);
void lts_jit_free(lts_jit *j);                  /* NULL ok */
int lts_jit_ref(lts_jit *j, lts_jit **out);
int64_t lts_live_jit(void);
/* frees the module now; every later call on it fails */
int lts_jit_unload(lts_jit *j);
/* runs a method (NULL: forward) on tensors; the result (a tensor, or
 * tuples/lists of tensors, flattened) as a malloc'd array of new references.
 * with_lora: forward with the registered LoRA layers' deltas added to their
 * weights (gradients reach the LoRA tensors) */
int lts_jit_run(lts_jit *j, const char *method, lts_tensor *const *in, int n, int with_lora, lts_tensor ***outs,
                int64_t *nout);
typedef enum { LTS_JIT_METHODS, LTS_JIT_PARAMETERS, LTS_JIT_BUFFERS, LTS_JIT_TENSORS } lts_jit_names_kind;
int lts_jit_names(lts_jit *j, lts_jit_names_kind what, char ***names, int64_t *n);
/* a parameter or buffer by dotted name (the module's own tensor) */
int lts_jit_tensor(lts_jit *j, const char *name, int buffers_only, lts_tensor **out);
int lts_jit_update(lts_jit *j, const char *name, lts_tensor *value);   /* copies, same shape */
int lts_jit_to(lts_jit *j, const char *device);
void lts_jit_device(lts_jit *j, char *buf, size_t n);
/* a LoRA layer (LTS_M_LORA) for the linear submodule at layer ("fc1", "block.proj") */
int lts_jit_register_lora(lts_jit *j, const char *layer, lts_module *lora);
/* forward on in, giving the outputs of the named submodules (called at the
 * top level of forward) in outs[0..nn) */
int lts_jit_intermediates(lts_jit *j, lts_tensor *const *in, int n, const char *const *names, int nn, lts_tensor **outs);
int lts_jit_info(lts_jit *j, int64_t *params, int64_t *buffers, int64_t *values, int64_t *methods, int *training);

/* Beam search (greedy, deterministic) of num_beams beams; returns the best
 * hypothesis' new tokens (ending in eos when it finished). */
int lts_hf_beam_search(lts_hf_model *m, const int64_t *prompt, int64_t n, const int64_t *eos, int n_eos,
                       int64_t max_new, int64_t beams, double length_penalty, int64_t **tokens, int64_t *n_out);

#ifdef __cplusplus
}
#endif
#endif
