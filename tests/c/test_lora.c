/* test_lora.c - section 11: LoRA layers against the formula computed with
 * plain tensor operations; over an existing linear layer (shared, frozen);
 * training moves only the adapters; merge; adapters saved and loaded. */
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"
#include "lt_test.h"

static lt_value state(lt_value m, const char *name) {
  lt_value d = ok("torch_state_dict", 1, m);
  const lt_value *v = lt_dict_get(&d, name);
  lt_value r = lt_nil();
  if (v && v->kind == LT_HANDLE) {
    lt_handle h;
    lt_handle_retain(v->u.h, &h);
    r = lt_handle_value(h.kind, h.ptr);
  }
  CHECK(r.kind == LT_HANDLE);
  lt_value_clear(&d);
  return r;
}

static lt_value T2(lt_value t) { return keep(ok("tensor_transpose", 3, t, lt_int(0), lt_int(1))); }
static lt_value MM(lt_value a, lt_value b) { return keep(ok("tensor_matmul", 2, a, b)); }
static lt_value ADD(lt_value a, lt_value b) { return keep(ok("tensor_add", 2, a, b)); }
static lt_value MUL(lt_value a, double s) { return keep(ok("tensor_mul", 2, a, lt_float(s))); }

int main(void) {
  CHECK(lt_init() == LT_OK);
  char dir[512];
  CHECK(make_tmpdir(dir, sizeof dir, "lora") == 0);
  int64_t xs[2] = {5, 4};
  lt_value x = keep(ok("tensor_randn", 1, I64S(xs, 2)));

  /* a fresh layer is its base linear layer (B = 0) */
  lt_value l = ok("torch_lora_linear", 4, lt_int(4), lt_int(3), lt_int(2), lt_float(4.0));
  lt_value W = state(l, "weight"), b = state(l, "bias");
  lt_value base = ADD(MM(x, T2(W)), b);
  lt_value y0 = ok("torch_lora_forward", 2, l, x);
  CHECK(diff_tensors(y0, base) <= 1e-6);
  lt_value tp = ok("torch_lora_trainable_params", 1, l);
  CHECK(tp.kind == LT_LIST && tp.u.list.n == 2);
  lt_value params = ok("torch_module_parameters", 1, l);
  CHECK(params.kind == LT_LIST && params.u.list.n == 2);  /* W and b are frozen buffers */

  /* chosen adapters: y = x Wᵀ + b + (alpha/r) (x Aᵀ) Bᵀ */
  int64_t as[2] = {2, 4}, bs[2] = {3, 2};
  lt_value A = keep(ok("tensor_randn", 1, I64S(as, 2))), B = keep(ok("tensor_randn", 1, I64S(bs, 2)));
  lt_value d = lt_dict_new(2);
  lt_dict_put(&d, "lora_A.weight", ok("tensor_clone", 1, A));
  lt_dict_put(&d, "lora_B.weight", ok("tensor_clone", 1, B));
  lt_value r = ok("torch_safetensors_save", 2, d, S(tmp_path("ab.safetensors")));
  lt_value_clear(&r);
  lt_value_clear(&d);
  r = ok("torch_lora_load_adapters", 2, l, S(tmp_path("ab.safetensors")));
  lt_value_clear(&r);
  lt_value want = ADD(base, MUL(MM(MM(x, T2(A)), T2(B)), 2.0));
  lt_value y1 = ok("torch_lora_forward", 2, l, x);
  CHECK(diff_tensors(y1, want) <= 1e-5);
  lt_value delta = ok("torch_lora_compute_delta", 1, l);
  CHECK(diff_tensors(delta, MUL(MM(B, A), 2.0)) <= 1e-5);
  lt_value mag = ok("torch_lora_get_adaptation_magnitude", 1, l);
  double want_mag = num_of(keep(ok("tensor_norm", 1, delta))) / num_of(keep(ok("tensor_norm", 1, W)));
  CHECK_NEAR(mag.u.f, want_mag, 1e-6);

  /* save, load into another layer of the same shape, same outputs */
  r = ok("torch_lora_save_adapters", 2, l, S(tmp_path("adapters.safetensors")));
  lt_value_clear(&r);
  lt_value l2 = ok("torch_lora_linear", 4, lt_int(4), lt_int(3), lt_int(2), lt_float(4.0));
  r = ok("torch_lora_load_adapters", 2, l2, S(tmp_path("adapters.safetensors")));
  lt_value_clear(&r);
  lt_value A2 = state(l2, "lora_A");
  CHECK(diff_tensors(A2, A) == 0);
  lt_value_clear(&A2);
  lt_value l3 = ok("torch_lora_linear", 4, lt_int(4), lt_int(3), lt_int(3), lt_float(4.0));
  fails("torch_lora_load_adapters", "do not fit", 2, l3, S(tmp_path("adapters.safetensors")));

  /* merge: the same outputs from W alone */
  lt_value mr = ok("torch_lora_merge_weights", 1, l);
  lt_value y2 = ok("torch_lora_forward", 2, l, x);
  CHECK(diff_tensors(y2, want) <= 1e-5);
  fails("torch_lora_merge_weights", "already merged", 1, l);
  fails("torch_lora_load_adapters", "merged", 2, l, S(tmp_path("adapters.safetensors")));
  lt_value_clear(&mr);

  /* over an existing linear layer: same outputs at first, training moves the
   * adapters only, and a merge shows in the linear layer itself */
  lt_value lin = ok("torch_linear", 2, lt_int(4), lt_int(3));
  lt_value lw = state(lin, "weight");
  lt_value lw0 = ok("tensor_clone", 1, lw);
  lt_value lo = ok("torch_lora_apply_to_linear", 3, lin, lt_int(2), lt_float(2.0));
  CHECK(diff_tensors(keep(ok("torch_lora_forward", 2, lo, x)), keep(ok("torch_forward", 2, lin, x))) <= 1e-6);
  int64_t ts[2] = {5, 3};
  lt_value target = keep(ok("tensor_randn", 1, I64S(ts, 2)));
  lt_value opt = ok("torch_optimizer", 3, keep(ok("torch_lora_trainable_params", 1, lo)), lt_float(0.05), S("adam"));
  double first = 0, last = 0;
  for (int step = 0; step < 60; step++) {
    lt_value y = ok("torch_lora_forward", 2, lo, x);
    lt_value loss = ok("torch_mse_loss", 2, y, target);
    if (step == 0) first = num_of(loss);
    last = num_of(loss);
    lt_value z = ok("torch_optimizer_zero_grad", 1, opt), bw = ok("torch_backward", 1, loss), s = ok("torch_optimizer_step", 1, opt);
    lt_value_clear(&z);
    lt_value_clear(&bw);
    lt_value_clear(&s);
    lt_value_clear(&loss);
    lt_value_clear(&y);
  }
  printf("LoRA layer, 60 Adam steps: MSE %.4f -> %.4f\n", first, last);
  CHECK(last < first * 0.8);
  CHECK(diff_tensors(lw, lw0) == 0);
  lt_value before = ok("torch_lora_forward", 2, lo, x);
  lt_value m2 = ok("torch_lora_merge_weights", 1, lo);
  lt_value_clear(&m2);
  CHECK(diff_tensors(keep(ok("torch_forward", 2, lin, x)), before) <= 1e-5);

  /* autograd on where it is off */
  r = ok("torch_set_grad_enabled", 1, lt_bool(0));
  lt_value_clear(&r);
  lt_value g = ok("torch_lora_forward_with_gradients", 3, l2, x, lt_bool(1));
  lt_value plain = ok("torch_lora_forward", 2, l2, x);
  lt_value gr = ok("tensor_requires_grad", 1, g), pr = ok("tensor_requires_grad", 1, plain);
  CHECK(lt_as_bool(&gr) && !lt_as_bool(&pr));
  r = ok("torch_set_grad_enabled", 1, lt_bool(1));
  lt_value_clear(&r);

  fails("torch_lora_linear", "rank", 4, lt_int(4), lt_int(3), lt_int(0), lt_float(1.0));
  fails("torch_lora_linear", "exceeds", 4, lt_int(4), lt_int(3), lt_int(5), lt_float(1.0));
  fails("torch_lora_apply_to_linear", "not a linear layer", 3, keep(ok("torch_embedding", 2, lt_int(5), lt_int(4))), lt_int(2),
        lt_float(1.0));
  fails("torch_lora_forward", "must be a LoRA layer", 2, lin, x);

  lt_value vals[] = {gr, pr, g, plain, before, opt, lo, lw0, lw, lin, y2, l3, l2, mag, delta, y1, params, tp, y0, b, W, l};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) lt_value_clear(&vals[i]);
  remove_tmpdir(dir);
  return test_summary("test_lora");
}
