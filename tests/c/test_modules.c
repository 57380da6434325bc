/* test_modules.c - sections 5 and 6: modules, optimizers, schedulers, losses,
 * autograd, checked against values computed from the modules' own weights. */
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

static lt_value T1(float *v, int64_t n) { return ok("tensor_create", 1, F32S(v, n)); }
static lt_value shaped(float *v, int64_t n, int64_t d0, int64_t d1) {
  lt_value t = T1(v, n);
  int64_t s[2] = {d0, d1};
  lt_value r = ok("tensor_reshape", 2, t, I64S(s, 2));
  lt_value_clear(&t);
  return r;
}

static lt_value param(lt_value module, int i) {
  lt_value ps = ok("torch_module_parameters", 1, module);
  lt_value p = ps.u.list.items[i];
  ps.u.list.items[i] = lt_nil();
  lt_value_clear(&ps);
  return p;
}

static void test_linear_and_mlp(void) {
  lt_value lin = ok("torch_linear", 2, lt_int(3), lt_int(2));
  float xv[6] = {1, 2, 3, -1, 0.5f, 2};
  lt_value x = shaped(xv, 6, 2, 3);
  lt_value y = ok("torch_linear_forward", 2, lin, x);
  lt_value w = param(lin, 0), b = param(lin, 1);
  double W[6], B[2], Y[4];
  values_of(w, W, 6);
  values_of(b, B, 2);
  values_of(y, Y, 4);
  for (int r = 0; r < 2; r++)
    for (int o = 0; o < 2; o++) {
      double want = B[o];
      for (int i = 0; i < 3; i++) want += xv[r * 3 + i] * W[o * 3 + i];
      CHECK_NEAR(Y[r * 2 + o], want, 1e-5);
    }
  lt_value y2 = ok("torch_forward", 2, lin, x); /* generic forward = the same */
  double Y2[4];
  values_of(y2, Y2, 4);
  CHECK(memcmp(Y, Y2, sizeof Y) == 0);
  lt_value desc = lt_nil();
  char *s = lt_handle_repr(lin.u.h);
  CHECK_STR(s, "linear(in=3, out=2, bias=True)");
  free(s);
  fails("torch_linear_forward", "must be a linear", 2, keep(ok("torch_layer_norm", 1, I64S((int64_t[]){3}, 1))), x);
  lt_value nobias = ok("torch_linear", 3, lt_int(3), lt_int(2), lt_bool(0));
  lt_value ps = ok("torch_module_parameters", 1, nobias);
  CHECK(ps.u.list.n == 1);
  lt_value_clear(&ps);
  fails("torch_linear", "positive", 2, lt_int(0), lt_int(2));
  fails("torch_forward", NULL, 2, lin, keep(ok("tensor_ones", 1, I64S((int64_t[]){2, 5}, 2)))); /* 5 != 3 */

  lt_value mlp = ok("torch_model_create", 3, lt_int(3), lt_int(4), lt_int(2));
  ps = ok("torch_module_parameters", 1, mlp);
  CHECK(ps.u.list.n == 4);
  lt_value_clear(&ps);
  lt_value ym = ok("torch_model_forward", 2, mlp, x);
  CHECK(lts_numel((lts_tensor *)ym.u.h.ptr) == 4);
  lt_value tr = ok("torch_module_train", 2, mlp, lt_bool(0));
  CHECK(!lts_module_is_training((lts_module *)mlp.u.h.ptr));
  lt_value vals[] = {lin, x, y, w, b, y2, desc, nobias, mlp, ym, tr};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) lt_value_clear(&vals[i]);
}

static void test_embedding_norm(void) {
  lt_value e = ok("torch_embedding_create", 2, lt_int(5), lt_int(3));
  int64_t ids[2] = {4, 1};
  lt_value out = ok("torch_embedding_forward", 2, e, I64S(ids, 2));
  lt_value w = param(e, 0);
  double W[15], O[6];
  values_of(w, W, 15);
  values_of(out, O, 6);
  for (int k = 0; k < 3; k++) {
    CHECK(O[k] == W[4 * 3 + k]);
    CHECK(O[3 + k] == W[1 * 3 + k]);
  }
  int64_t bad[1] = {5};
  fails("torch_embedding_forward", "out of range", 2, e, I64S(bad, 1));
  float fl[1] = {1};
  fails("torch_embedding_forward", "integers", 2, e, F32S(fl, 1));

  lt_value ln = ok("torch_layer_norm_create", 1, I64S((int64_t[]){4}, 1));
  float xv[4] = {1, 2, 3, 6};
  lt_value x = T1(xv, 4);
  lt_value y = ok("torch_layer_norm_forward", 2, ln, x);
  double Y[4];
  values_of(y, Y, 4);
  double mean = 3, var = (4 + 1 + 0 + 9) / 4.0;
  for (int i = 0; i < 4; i++) CHECK_NEAR(Y[i], (xv[i] - mean) / sqrt(var + 1e-5), 1e-5);
  lt_value vals[] = {e, out, w, ln, x, y};
  for (size_t i = 0; i < 6; i++) lt_value_clear(&vals[i]);
}

static void test_attention_masks(void) {
  ok("torch_manual_seed", 1, lt_int(3));
  lt_value mha = ok("torch_multi_head_attention", 2, lt_int(8), lt_int(2));
  int64_t s[3] = {2, 4, 8};
  lt_value x = ok("tensor_randn", 1, I64S(s, 3));
  /* key padding: batch 0 keeps 4 keys, batch 1 keeps 2 */
  lt_value mask = ok("tensor_create", 1,
                     keep(L(2, L(4, lt_int(1), lt_int(1), lt_int(1), lt_int(1)), L(4, lt_int(1), lt_int(1), lt_int(0), lt_int(0)))));
  lt_value y = ok("torch_multihead_attention_forward", 3, mha, x, mask);
  /* changing the padded keys/values of batch 1 does not change its output */
  lt_value x2 = ok("tensor_clone", 1, x);
  lt_value noise = ok("tensor_full", 2, I64S((int64_t[]){8}, 1), lt_float(5));
  lt_value r1 = ok("tensor_set_item", 3, x2, I64S((int64_t[]){1, 3}, 2), noise);
  lt_value y2 = ok("torch_attention_forward", 5, mha, x2, x2, x2, mask);
  double A[64], B[64];
  values_of(y, A, 64);
  values_of(y2, B, 64);
  /* batch 1, query rows 0..1 (their queries did not change) */
  for (int i = 32; i < 48; i++) CHECK_NEAR(A[i], B[i], 1e-5);
  /* without the mask they would differ */
  lt_value y3 = ok("torch_attention_forward", 4, mha, x2, x2, x2);
  values_of(y3, B, 64);
  double diff = 0;
  for (int i = 32; i < 48; i++) diff += fabs(A[i] - B[i]);
  CHECK(diff > 1e-3);
  fails("torch_multihead_attention_forward", "does not fit", 3, mha, x, keep(ok("tensor_ones", 1, I64S((int64_t[]){3, 3}, 2))));
  fails("torch_multihead_attention", "multiple", 2, lt_int(8), lt_int(3));

  lt_value block = ok("torch_transformer_block_create", 3, lt_int(8), lt_int(2), lt_int(16));
  lt_value yb = ok("torch_transformer_block_forward", 3, block, x, mask);
  CHECK(lts_numel((lts_tensor *)yb.u.h.ptr) == 64);
  lt_value yb2 = ok("torch_transformer_forward", 2, block, x);
  lt_value vals[] = {mha, x, mask, y, x2, noise, r1, y2, y3, block, yb, yb2};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) lt_value_clear(&vals[i]);
}

static void test_positions(void) {
  lt_value pe = ok("torch_positional_encoding", 2, lt_int(4), lt_int(10));
  lt_value z = ok("tensor_zeros", 1, I64S((int64_t[]){1, 3, 4}, 3));
  lt_value y = ok("torch_positional_forward", 2, pe, z);
  double Y[12];
  values_of(y, Y, 12);
  CHECK_NEAR(Y[0], 0, 1e-7);
  CHECK_NEAR(Y[1], 1, 1e-7);
  CHECK_NEAR(Y[4], sin(1.0), 1e-6);
  CHECK_NEAR(Y[5], cos(1.0), 1e-6);
  CHECK_NEAR(Y[10], sin(2.0 / 100.0), 1e-6); /* pos 2, i = 1: 2 / 10000^(2/4) */
  CHECK_NEAR(Y[11], cos(2.0 / 100.0), 1e-6);
  fails("torch_positional_encoding_forward", "exceeds", 2, pe, keep(ok("tensor_zeros", 1, I64S((int64_t[]){11, 4}, 2))));

  lt_value rope = ok("torch_rotary_embedding", 3, lt_int(4), lt_int(16), lt_int(100));
  lt_value cs = ok("torch_rotary_forward", 2, rope, lt_int(3));
  CHECK(cs.kind == LT_LIST && cs.u.list.n == 2);
  double C[12], Sn[12];
  values_of(cs.u.list.items[0], C, 12);
  values_of(cs.u.list.items[1], Sn, 12);
  /* position 2: freqs [2, 2/10] repeated */
  CHECK_NEAR(C[8], cos(2.0), 1e-6);
  CHECK_NEAR(C[9], cos(0.2), 1e-6);
  CHECK_NEAR(C[10], cos(2.0), 1e-6);
  CHECK_NEAR(Sn[11], sin(0.2), 1e-6);
  float tv[12];
  for (int i = 0; i < 12; i++) tv[i] = (float)(i + 1);
  lt_value t = shaped(tv, 12, 3, 4);
  lt_value r = ok("torch_apply_rotary_pos_emb", 3, t, cs.u.list.items[0], cs.u.list.items[1]);
  double R[12];
  values_of(r, R, 12);
  /* row 2 = [9 10 11 12]: out0 = 9cos2 - 11 sin2 ; out2 = 11 cos2 + 9 sin2 */
  CHECK_NEAR(R[8], 9 * cos(2.0) - 11 * sin(2.0), 1e-5);
  CHECK_NEAR(R[10], 11 * cos(2.0) + 9 * sin(2.0), 1e-5);
  CHECK_NEAR(R[9], 10 * cos(0.2) - 12 * sin(0.2), 1e-5);
  fails("torch_rotary_forward", "exceeds", 2, rope, lt_int(17));
  fails("torch_rotary_embedding", "even", 2, lt_int(3), lt_int(8));
  lt_value vals[] = {pe, z, y, rope, cs, t, r};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) lt_value_clear(&vals[i]);
}

static void test_training_pieces(void) {
  ok("torch_manual_seed", 1, lt_int(11));
  lt_value m = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(3));
  /* an optimizer made empty really trains what add_params gives it */
  lt_value opt = ok("torch_optimizer_create", 2, S("sgd"), lt_float(0.5));
  lt_value n = ok("torch_optimizer_add_params", 2, opt, m);
  CHECK(n.kind == LT_INT && n.u.i == 4);
  lt_value x = ok("tensor_randn", 1, I64S((int64_t[]){16, 4}, 2));
  int64_t yv[16];
  for (int i = 0; i < 16; i++) yv[i] = i % 3;
  lt_value y = ok("tensor_create", 1, I64S(yv, 16));
  double first = 0, last = 0;
  for (int step = 0; step < 30; step++) {
    lt_value z = ok("torch_optimizer_zero_grad", 1, opt);
    lt_value out = ok("torch_forward", 2, m, x);
    lt_value loss = ok("torch_cross_entropy", 2, out, y);
    lt_value b = ok("torch_backward", 1, loss);
    if (step == 0) {
      /* clip returns the norm before clipping; afterwards the norm is max_norm */
      lt_value norm = ok("torch_clip_grad_norm", 2, opt, lt_float(1e-3));
      lt_value again = ok("torch_clip_grad_norm", 2, m, lt_float(1e9));
      CHECK(norm.u.f > 1e-3);
      CHECK_NEAR(again.u.f, 1e-3, 1e-6);
      /* undo nothing: a tiny step is still a step */
    }
    lt_value st = ok("torch_optimizer_step", 1, opt);
    double l = num_of(loss);
    if (step == 0) first = l;
    last = l;
    lt_value vals[] = {z, out, loss, b, st};
    for (int i = 0; i < 5; i++) lt_value_clear(&vals[i]);
  }
  CHECK(last < first * 0.7);
  fails("torch_optimizer_add_params", "more than one", 2, opt, m); /* same parameters twice */

  /* ignore_index: the ignored rows do not count */
  lt_value out = ok("torch_forward", 2, m, x);
  int64_t yi[16];
  for (int i = 0; i < 16; i++) yi[i] = i < 8 ? i % 3 : -1;
  lt_value yt = ok("tensor_create", 1, I64S(yi, 16));
  lt_value l_ign = ok("torch_cross_entropy", 3, out, yt, lt_int(-1));
  lt_value head = ok("tensor_slice", 4, out, lt_int(0), lt_int(0), lt_int(8));
  lt_value yh = ok("tensor_slice", 4, yt, lt_int(0), lt_int(0), lt_int(8));
  lt_value l_head = ok("torch_crossentropy_loss", 2, head, yh);
  CHECK_NEAR(num_of(l_ign), num_of(l_head), 1e-6);
  fails("torch_loss_crossentropy", "out of range", 2, out, yt); /* -1 without ignore_index */
  /* [B S C] logits with [B S] targets */
  lt_value out3 = ok("tensor_reshape", 2, out, I64S((int64_t[]){4, 4, 3}, 3));
  lt_value y3 = ok("tensor_reshape", 2, yt, I64S((int64_t[]){4, 4}, 2));
  lt_value l3 = ok("torch_cross_entropy", 3, out3, y3, lt_int(-1));
  CHECK_NEAR(num_of(l3), num_of(l_ign), 1e-6);
  lt_value mse = ok("torch_mse_loss", 2, head, head);
  CHECK(num_of(mse) == 0);
  fails("torch_mse_loss", "same shape", 2, head, out);

  /* no grad: results carry no history */
  lt_value prev = ok("torch_set_grad_enabled", 1, lt_bool(0));
  CHECK(prev.kind == LT_BOOL && prev.u.b == 1);
  lt_value ng = ok("torch_forward", 2, m, x);
  CHECK(!lts_has_grad_fn((lts_tensor *)ng.u.h.ptr));
  ok("torch_set_grad_enabled", 1, lt_bool(1));
  fails("torch_backward", "does not require grad", 1, ng);
  lt_value vals[] = {m, opt, n, x, y, out, yt, l_ign, head, yh, l_head, out3, y3, l3, mse, prev, ng};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) lt_value_clear(&vals[i]);
}

static double sched_at(const char *type, lt_value cfg, int steps, double lr) {
  lt_value lin = ok("torch_linear", 2, lt_int(2), lt_int(2));
  lt_value opt = ok("torch_optimizer", 3, lin, lt_float(lr), S("sgd"));
  lt_value s = ok("torch_lr_scheduler", 3, opt, S(type), cfg);
  for (int i = 0; i < steps; i++) {
    lt_value r = ok("torch_scheduler_step", 1, s);
    lt_value_clear(&r);
  }
  lt_value got = ok("torch_scheduler_get_lr", 1, s);
  double v = got.u.f;
  lt_value vals[] = {lin, opt, s, got};
  for (int i = 0; i < 4; i++) lt_value_clear(&vals[i]);
  return v;
}

static void test_schedulers(void) {
  const double pi = 3.14159265358979323846;
  lt_value cfg = lt_dict_new(8);
  lt_dict_put(&cfg, "total_steps", lt_int(100));
  lt_dict_put(&cfg, "warmup_steps", lt_int(10));
  lt_dict_put(&cfg, "min_lr", lt_float(0.01));
  lt_dict_put(&cfg, "gamma", lt_float(0.5));
  lt_dict_put(&cfg, "step_size", lt_int(30));
  CHECK_NEAR(sched_at("step", cfg, 65, 1.0), 0.25, 1e-12);
  CHECK_NEAR(sched_at("exponential", cfg, 3, 1.0), 0.125, 1e-12);
  CHECK_NEAR(sched_at("cosine", cfg, 50, 1.0), 0.01 + 0.99 * 0.5, 1e-12);
  CHECK_NEAR(sched_at("cosine", cfg, 150, 1.0), 0.01, 1e-12);
  CHECK_NEAR(sched_at("linear", cfg, 25, 1.0), 1 - 0.99 * 0.25, 1e-12);
  CHECK_NEAR(sched_at("linear_warmup_cosine", cfg, 0, 1.0), 0, 1e-12);
  CHECK_NEAR(sched_at("linear_warmup_cosine", cfg, 5, 1.0), 0.5, 1e-12);
  CHECK_NEAR(sched_at("linear_warmup_cosine", cfg, 55, 1.0), 0.01 + 0.99 * 0.5 * (1 + cos(pi * 0.5)), 1e-12);
  lt_value lin = ok("torch_linear", 2, lt_int(2), lt_int(2));
  lt_value opt = ok("torch_optimizer", 3, lin, lt_float(0.1), S("adamw"));
  fails("torch_lr_scheduler", "must be one of", 3, opt, S("triangle"), cfg);
  lt_value bad = lt_dict_new(1);
  lt_dict_put(&bad, "total_steps", S("many"));
  fails("torch_lr_scheduler", "must be a number", 3, opt, S("cosine"), bad);
  lt_value s = ok("torch_lr_scheduler", 2, opt, S("exponential"));
  lt_value set = ok("torch_scheduler_set_lr", 2, s, lt_float(0.2));
  lt_value st = ok("torch_scheduler_step", 1, s);
  CHECK_NEAR(st.u.f, 0.2 * 0.1, 1e-12); /* default gamma 0.1 from the new rate */
  lt_value vals[] = {cfg, lin, opt, s, set, st};
  for (int i = 0; i < 6; i++) lt_value_clear(&vals[i]);
  free(bad.u.dict.keys[0]);
  free(bad.u.dict.keys);
  free(bad.u.dict.vals);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  int64_t t0 = lts_live_tensors(), m0 = lts_live_modules();
  test_linear_and_mlp();
  test_embedding_norm();
  test_attention_masks();
  test_positions();
  test_training_pieces();
  test_schedulers();
  (void)t0;
  (void)m0;
  return test_summary("test_modules");
}
