/* modules.c - section 6: modules, forward, parameters, train mode,
 * activation checkpointing; handle kinds for modules/optimizers/schedulers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hf/hf_internal.h"
#include "lt_internal.h"
#include "lt_sched.h"

static void module_release(void *p) { lts_module_free((lts_module *)p); }
static int module_retain(void *p, void **out) { return lts_module_ref((lts_module *)p, (lts_module **)out); }
static void optimizer_release(void *p) { lts_optimizer_free((lts_optimizer *)p); }
static int optimizer_retain(void *p, void **out) { return lts_optimizer_ref((lts_optimizer *)p, (lts_optimizer **)out); }

void lt_nn_kinds_init(void) {
  static const lt_handle_ops mod = {"module", "a module", module_release, module_retain};
  static const lt_handle_ops opt = {"optimizer", "an optimizer", optimizer_release, optimizer_retain};
  static const lt_handle_ops sch = {"scheduler", "a scheduler", lt_sched_release, lt_sched_retain};
  lt_handle_register(LT_H_MODULE, &mod);
  lt_handle_register(LT_H_OPTIMIZER, &opt);
  lt_handle_register(LT_H_SCHEDULER, &sch);
}

/* Places a new module on the optional device/dtype arguments. */
static int finish(int rc, lts_module **m, const lt_value *device, const lt_value *dtype, lt_value *out) {
  if (rc) return lt_fail_shim();
  char dev[64];
  const char *d = lt_read_device(device, dev, sizeof dev);
  int dt = lt_present(dtype) ? (int)lt_read_dtype(dtype, LT_F32) : -1;
  if ((d || dt >= 0) && lts_module_to(*m, dt, d)) {
    lts_module_free(*m);
    return lt_fail_shim();
  }
  *out = lt_handle_value(LT_H_MODULE, *m);
  return LT_OK;
}

static int positive(const lt_value *v, int argi, const char *name, int64_t *out) {
  *out = lt_as_int(v);
  if (*out <= 0) return lt_fail("argument %d (%s) must be a positive integer, got %lld", argi, name, (long long)*out);
  return LT_OK;
}

#define POS(i, name, var) \
  int64_t var;            \
  if (positive(&a[i], i + 1, name, &var) != LT_OK) return LT_ERROR

static int p_model(const lt_value *a, lt_value *out) {
  POS(0, "in", in); POS(1, "hidden", hidden); POS(2, "out", o);
  lts_module *m = NULL;
  return finish(lts_mlp_new(in, hidden, o, &m), &m, &a[3], &a[4], out);
}

static int p_linear(const lt_value *a, lt_value *out) {
  POS(0, "in", in); POS(1, "out", o);
  lts_module *m = NULL;
  int bias = lt_present(&a[2]) ? lt_as_bool(&a[2]) : 1;
  return finish(lts_linear_new(in, o, bias, &m), &m, &a[3], &a[4], out);
}

static int p_embedding(const lt_value *a, lt_value *out) {
  POS(0, "n", n); POS(1, "dim", dim);
  lts_module *m = NULL;
  return finish(lts_embedding_new(n, dim, &m), &m, &a[2], &a[3], out);
}

static int p_layer_norm(const lt_value *a, lt_value *out) {
  int64_t dims[LTS_MAX_DIMS];
  int nd;
  if (lt_read_ints(&a[0], 1, "shape", dims, LTS_MAX_DIMS, &nd) != LT_OK) return LT_ERROR;
  for (int i = 0; i < nd; i++)
    if (dims[i] <= 0) return lt_fail("argument 1 (shape) must hold positive sizes");
  if (nd == 0) return lt_fail("argument 1 (shape) must not be empty");
  double eps = lt_present(&a[1]) ? lt_as_num(&a[1]) : 1e-5;
  lts_module *m = NULL;
  return finish(lts_layer_norm_new(dims, nd, eps, &m), &m, &a[2], &a[3], out);
}

static int p_mha(const lt_value *a, lt_value *out) {
  POS(0, "embed", e); POS(1, "heads", h);
  lts_module *m = NULL;
  return finish(lts_mha_new(e, h, &m), &m, &a[2], &a[3], out);
}

static int p_block(const lt_value *a, lt_value *out) {
  POS(0, "embed", e); POS(1, "heads", h); POS(2, "ffn", f);
  lts_module *m = NULL;
  return finish(lts_block_new(e, h, f, &m), &m, &a[3], &a[4], out);
}

static int p_posenc(const lt_value *a, lt_value *out) {
  POS(0, "d_model", d); POS(1, "max_len", len);
  lts_module *m = NULL;
  return finish(lts_posenc_new(d, len, &m), &m, &a[2], &a[3], out);
}

static int p_rotary(const lt_value *a, lt_value *out) {
  POS(0, "dim", d); POS(1, "max_seq_len", len);
  double base = lt_present(&a[2]) ? lt_as_num(&a[2]) : 10000.0;
  if (base <= 1) return lt_fail("argument 3 (base) must be greater than 1, got %g", base);
  lts_module *m = NULL;
  return finish(lts_rotary_new(d, len, base, &m), &m, &a[3], &a[4], out);
}

/* forward of a module of an expected kind (or any kind when want < 0) */
static int forward_kind(const lt_value *a, int want, const lt_value *mask, lt_value *out) {
  lts_module *m = lt_module_of(&a[0]);
  if (want >= 0 && (int)lts_module_kind_of(m) != want)
    return lt_fail("argument 1 must be a %s module, got a %s", lts_module_kind_name((lts_module_kind)want),
                   lts_module_kind_name(lts_module_kind_of(m)));
  lts_tensor *x = NULL, *t = NULL;
  int made = 0;
  if (lt_is_tensor(&a[1])) x = lt_tensor_of(&a[1]);
  else {
    /* numeric lists are accepted as input: converted (ids stay int64) */
    if (lt_tensor_from_value(&a[1], -1, NULL, &x) != LT_OK) return LT_ERROR;
    made = 1;
  }
  int rc = lts_module_forward(m, x, mask && lt_present(mask) ? lt_tensor_of(mask) : NULL, &t);
  if (made) lts_tensor_free(x);
  return lt_out_tensor(rc, &t, out);
}

static int p_forward(const lt_value *a, lt_value *out) { return forward_kind(a, -1, &a[2], out); }
static int p_linear_forward(const lt_value *a, lt_value *out) { return forward_kind(a, LTS_M_LINEAR, NULL, out); }
static int p_embedding_forward(const lt_value *a, lt_value *out) { return forward_kind(a, LTS_M_EMBEDDING, NULL, out); }
static int p_layer_norm_forward(const lt_value *a, lt_value *out) { return forward_kind(a, LTS_M_LAYER_NORM, NULL, out); }
static int p_mha_self(const lt_value *a, lt_value *out) { return forward_kind(a, LTS_M_MHA, &a[2], out); }
static int p_block_forward(const lt_value *a, lt_value *out) { return forward_kind(a, LTS_M_BLOCK, &a[2], out); }
static int p_posenc_forward(const lt_value *a, lt_value *out) { return forward_kind(a, LTS_M_POSENC, NULL, out); }

static int p_attention_forward(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  lts_tensor *mask = lt_present(&a[4]) ? lt_tensor_of(&a[4]) : NULL;
  return lt_out_tensor(lts_attention_forward(lt_module_of(&a[0]), lt_tensor_of(&a[1]), lt_tensor_of(&a[2]),
                                             lt_tensor_of(&a[3]), mask, &t), &t, out);
}

static int p_rotary_forward(const lt_value *a, lt_value *out) {
  char dev[64];
  int64_t len = lt_as_int(&a[1]);
  if (len < 0) return lt_fail("argument 2 (seq_len) must be non-negative, got %lld", (long long)len);
  lts_tensor *c = NULL, *s = NULL;
  if (lts_rotary_forward(lt_module_of(&a[0]), len, lt_read_device(&a[2], dev, sizeof dev), &c, &s)) return lt_fail_shim();
  *out = lt_list_new(2);
  out->u.list.items[0] = lt_handle_value(LT_H_TENSOR, c);
  out->u.list.items[1] = lt_handle_value(LT_H_TENSOR, s);
  return LT_OK;
}

static int p_apply_rotary(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_apply_rotary(lt_tensor_of(&a[0]), lt_tensor_of(&a[1]), lt_tensor_of(&a[2]), &t), &t, out);
}

static int p_parameters(const lt_value *a, lt_value *out) {
  lts_tensor **ts;
  int64_t n;
  if (lts_module_parameters(lt_module_of(&a[0]), &ts, &n)) return lt_fail_shim();
  *out = lt_tensor_list(ts, n);
  return LT_OK;
}

/* a module, or a Hugging Face model (whose LoRA dropout it switches) */
static int p_train(const lt_value *a, lt_value *out) {
  int flag = lt_present(&a[1]) ? lt_as_bool(&a[1]) : 1;
  if (a[0].kind == LT_HANDLE && a[0].u.h.kind == LT_H_MODULE) {
    if (lts_module_train(lt_module_of(&a[0]), flag)) return lt_fail_shim();
  } else if ((a[0].kind == LT_HANDLE && a[0].u.h.kind == LT_H_HF_MODEL) || a[0].kind == LT_STRING) {
    lt_hf *h;
    if (lt_hf_model_arg(&a[0], 1, &h) != LT_OK) return LT_ERROR;
    lts_hf_set_training(h->m, flag);
  } else {
    return lt_fail("argument 1 (module) must be a module or a Hugging Face model, got %s", lt_kind_name(&a[0]));
  }
  *out = lt_bool(flag);
  return LT_OK;
}

static int p_checkpoint_create(const lt_value *a, lt_value *out) {
  lts_module *m = NULL;
  if (lts_module_share(lt_module_of(&a[0]), &m)) return lt_fail_shim();
  lts_module_set_checkpointing(m, 1);
  *out = lt_handle_value(LT_H_MODULE, m);
  return LT_OK;
}

static int set_checkpointing(const lt_value *a, int on, lt_value *out) {
  lts_module_set_checkpointing(lt_module_of(&a[0]), on);
  lts_module *m = NULL;
  lts_module_ref(lt_module_of(&a[0]), &m);
  *out = lt_handle_value(LT_H_MODULE, m);
  return LT_OK;
}
static int p_checkpoint_enable(const lt_value *a, lt_value *out) { return set_checkpointing(a, 1, out); }
static int p_checkpoint_disable(const lt_value *a, lt_value *out) { return set_checkpointing(a, 0, out); }

static int p_checkpoint_forward(const lt_value *a, lt_value *out) {
  lts_module *m = NULL;
  if (lts_module_share(lt_module_of(&a[0]), &m)) return lt_fail_shim();
  lts_module_set_checkpointing(m, 1);
  lt_value args[3] = {lt_handle_value(LT_H_MODULE, m), a[1], a[2]};
  int rc = forward_kind(args, -1, &a[2], out);
  lts_module_free(m);
  return rc;
}

#define DEV "?device:device ?dtype:dtype"
const lt_row lt_rows_modules[] = {
    {"torch_model", NULL, "in:int hidden:int out:int " DEV, "MLP in -> hidden -> relu -> out (parameters fc1.*, fc2.*)", p_model},
    {"torch_model_create", "torch_model", NULL, NULL, NULL},
    {"torch_forward", NULL, "module:module input:any ?mask:tensor",
     "forward of any module kind (attention kinds and blocks take an optional mask)", p_forward},
    {"torch_model_forward", "torch_forward", NULL, NULL, NULL},
    {"torch_linear", NULL, "in:int out:int ?bias:bool " DEV, "linear layer x·Wᵀ + b (nn.Linear initialisation)", p_linear},
    {"torch_linear_forward", NULL, "linear:module input:any", "forward of a linear layer", p_linear_forward},
    {"torch_embedding", NULL, "n:int dim:int " DEV, "embedding table of n vectors of dim (N(0,1) initialisation)", p_embedding},
    {"torch_embedding_create", "torch_embedding", NULL, NULL, NULL},
    {"torch_embedding_forward", NULL, "embedding:module ids:any", "vectors of the ids (ids out of range are an error)", p_embedding_forward},
    {"torch_layer_norm", NULL, "shape:ints ?eps:num " DEV, "layer normalisation over the last dimensions (eps 1e-5)", p_layer_norm},
    {"torch_layer_norm_create", "torch_layer_norm", NULL, NULL, NULL},
    {"torch_layer_norm_forward", NULL, "norm:module input:tensor", "forward of a layer norm", p_layer_norm_forward},
    {"torch_multihead_attention", NULL, "embed:int heads:int " DEV,
     "multi-head attention with q/k/v/out projections", p_mha},
    {"torch_multi_head_attention", "torch_multihead_attention", NULL, NULL, NULL},
    {"torch_attention_forward", NULL, "attention:module query:tensor key:tensor value:tensor ?mask:tensor",
     "attention of query over key/value; mask: bool/int true=attend or float added; [Lq Lk], [B Lk], [B Lq Lk] or [B H Lq Lk]",
     p_attention_forward},
    {"torch_multihead_attention_forward", NULL, "attention:module input:tensor ?mask:tensor", "self-attention", p_mha_self},
    {"torch_transformer_block", NULL, "embed:int heads:int ffn:int " DEV,
     "post-norm encoder block: norm1(x + attn(x)), norm2(x + ffn(x)) with ReLU", p_block},
    {"torch_transformer_block_create", "torch_transformer_block", NULL, NULL, NULL},
    {"torch_transformer_forward", NULL, "block:module input:tensor ?mask:tensor", "forward of a transformer block", p_block_forward},
    {"torch_transformer_block_forward", "torch_transformer_forward", NULL, NULL, NULL},
    {"torch_positional_encoding", NULL, "d_model:int max_len:int " DEV, "sinusoidal positional encoding", p_posenc},
    {"torch_positional_forward", NULL, "encoding:module input:tensor", "input + positions [seq, d_model]", p_posenc_forward},
    {"torch_positional_encoding_forward", "torch_positional_forward", NULL, NULL, NULL},
    {"torch_rotary_embedding", NULL, "dim:int max_seq_len:int ?base:num " DEV, "rotary position embedding (base 10000)", p_rotary},
    {"torch_rotary_forward", NULL, "rotary:module seq_len:int ?device:device", "(cos sin), each [seq_len, dim]", p_rotary_forward},
    {"torch_apply_rotary_pos_emb", NULL, "tensor:tensor cos:tensor sin:tensor",
     "t·cos + rotate_half(t)·sin (Llama convention)", p_apply_rotary},
    {"torch_module_parameters", NULL, "module:module", "list of the trainable parameter tensors", p_parameters},
    {"torch_module_train", NULL, "module:any ?flag:bool",
     "training (true) or evaluation (false) mode of a module or of a Hugging Face model (loaded in evaluation mode; "
     "training turns on its LoRA dropout)",
     p_train},
    {"torch_checkpoint_create", NULL, "module:module",
     "the same module (same weights) whose forward recomputes activations in backward", p_checkpoint_create},
    {"torch_checkpoint_enable", NULL, "module:module", "turns activation checkpointing on", p_checkpoint_enable},
    {"torch_checkpoint_disable", NULL, "module:module", "turns activation checkpointing off", p_checkpoint_disable},
    {"torch_checkpoint_forward", NULL, "module:module input:any ?mask:tensor",
     "forward with activation checkpointing (same gradients, less activation memory)", p_checkpoint_forward},
    {NULL, NULL, NULL, NULL, NULL},
};
