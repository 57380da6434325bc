/* test_jit.c - section 13: a TorchScript archive saved by PyTorch 1.13
 * (tests/data/jit/mlp.pt, tests/tools/gen_jit_golden.py): PyTorch's outputs,
 * names, tensors, updates, submodule outputs, LoRA on a linear submodule
 * (equal to the merged weight; gradients reach the adapter), devices, unload;
 * the outputs of nested submodules of tests/data/jit/nested.pt against
 * PyTorch's forward hooks (tests/data/jit/nested.json). */
#include <json.h>
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"
#include "lt_test.h"

static int64_t doubles(json_object *g, const char *key, double *out) {
  json_object *a = json_object_object_get(g, key);
  int64_t n = a ? (int64_t)json_object_array_length(a) : 0;
  for (int64_t i = 0; i < n; i++) out[i] = json_object_get_double(json_object_array_get_idx(a, (size_t)i));
  return n;
}

static int has(lt_value list, const char *s) {
  for (int64_t i = 0; list.kind == LT_LIST && i < list.u.list.n; i++)
    if (strcmp(list.u.list.items[i].u.str.s, s) == 0) return 1;
  return 0;
}

/* an encoder of three blocks in a ModuleList, and a head: submodules at any
 * depth, a parent together with its child, in any order */
static void nested(void) {
  const char *path = test_data("jit/nested.pt");
  json_object *g = json_object_from_file(test_data("jit/nested.json"));
  CHECK(g != NULL);
  if (!g) return;
  double xin[12], yout[4], want[12];
  doubles(g, "input", xin);
  doubles(g, "output", yout);
  int64_t shape[2] = {2, 6};
  lt_value m = ok("torch_jit_load", 1, S(path));
  lt_value flat = ok("tensor_create", 1, F64S(xin, 12));
  lt_value x = ok("tensor_reshape", 2, keep(ok("tensor_to_dtype", 2, flat, S("float32"))), I64S(shape, 2));
  const char *names[5] = {"encoder.blocks.2.norm", "head", "encoder.blocks.1.fc", "encoder", "encoder.blocks.1"};
  lt_value want_names = L(5, S(names[0]), S(names[1]), S(names[2]), S(names[3]), S(names[4]));
  lt_value st = ok("torch_jit_model_get_intermediate_states", 3, m, x, want_names);
  json_object *inter = json_object_object_get(g, "intermediates");
  for (int i = 0; i < 5; i++) {
    const lt_value *v = lt_dict_get(&st, names[i]);
    int64_t n = doubles(inter, names[i], want);
    double d = v ? diff_values(*v, want, n) : 1;
    if (d > 1e-5) fprintf(stderr, "nested %s: differs from PyTorch's hook by %g\n", names[i], d);
    CHECK(n == 12 || n == 4);
    CHECK(d <= 1e-5);
  }
  lt_value y = ok("torch_jit_model_forward", 2, m, x);
  CHECK(diff_values(y, yout, 4) <= 1e-5);
  fails("torch_jit_model_get_intermediate_states", "calls no submodule encoder.blocks.7", 3, m, x,
        keep(L(1, S("encoder.blocks.7"))));
  fails("torch_jit_model_get_intermediate_states", "calls no submodule encoder.blocks", 3, m, x,
        keep(L(1, S("encoder.blocks"))));  /* a ModuleList is never called */
  lt_value_clear(&y);
  lt_value_clear(&st);
  lt_value_clear(&want_names);
  lt_value_clear(&x);
  lt_value_clear(&flat);
  lt_value_clear(&m);
  json_object_put(g);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  char path[4096];
  snprintf(path, sizeof path, "%s", test_data("jit/mlp.pt"));
  json_object *g = json_object_from_file(test_data("jit/golden.json"));
  CHECK(g != NULL);
  if (!g) return test_summary("test_jit");
  double xin[8], yout[6], h[16], w1[32];
  doubles(g, "input", xin);
  doubles(g, "output", yout);
  doubles(g, "fc1_output", h);
  doubles(g, "fc1_weight", w1);
  json_object_put(g);

  lt_value m = ok("torch_jit_load", 2, S(path), S("cpu"));
  float xf[8];
  for (int i = 0; i < 8; i++) xf[i] = (float)xin[i];
  int64_t xs[2] = {2, 4};
  lt_value x = keep(ok("tensor_reshape", 2, keep(ok("tensor_create", 1, F32S(xf, 8))), I64S(xs, 2)));
  lt_value y = ok("torch_jit_model_forward", 2, m, x);
  CHECK(diff_values(y, yout, 6) <= 1e-6);
  lt_value y2 = ok("torch_jit_model_forward", 2, m, keep(Lr(1, x)));
  CHECK(diff_values(y2, yout, 6) <= 1e-6);

  lt_value meth = ok("torch_jit_model_list_methods", 1, m);
  CHECK(has(meth, "forward") && has(meth, "hidden"));
  lt_value pn = ok("torch_jit_model_list_parameter_names", 1, m);
  CHECK(pn.kind == LT_LIST && pn.u.list.n == 4 && has(pn, "fc1.weight") && has(pn, "fc2.bias"));
  lt_value bn = ok("torch_jit_model_list_buffers", 1, m);
  CHECK(bn.kind == LT_LIST && bn.u.list.n == 1 && has(bn, "scale"));
  lt_value tn = ok("torch_jit_model_list_tensor_names", 1, m);
  CHECK(tn.kind == LT_LIST && tn.u.list.n == 5);
  lt_value w = ok("torch_jit_model_get_tensor", 2, m, S("fc1.weight"));
  CHECK(diff_values(w, w1, 32) <= 1e-7);
  lt_value shape = ok("torch_jit_model_get_tensor_shape", 2, m, S("fc1.weight"));
  CHECK(shape.kind == LT_BUFFER && shape.u.buf.len == 2 && ((int64_t *)shape.u.buf.data)[0] == 8);
  lt_value sc = ok("torch_jit_model_get_buffer", 2, m, S("scale"));
  double scale[3] = {1.0, 2.0, 0.5};
  CHECK(diff_values(sc, scale, 3) == 0);
  fails("torch_jit_model_get_buffer", "no buffer fc1.weight", 2, m, S("fc1.weight"));
  lt_value info = ok("torch_jit_model_info", 1, m);
  const lt_value *v = lt_dict_get(&info, "values");
  CHECK(v && v->u.i == 8 * 4 + 8 + 3 * 8 + 3 + 3);
  v = lt_dict_get(&info, "training");
  CHECK(v && v->kind == LT_BOOL && v->u.b == 0);

  /* the outputs of fc1 inside forward */
  lt_value st = ok("torch_jit_model_get_intermediate_states", 3, m, x, keep(L(1, S("fc1"))));
  const lt_value *h1 = lt_dict_get(&st, "fc1");
  CHECK(h1 && diff_values(*h1, h, 16) <= 1e-6);
  fails("torch_jit_model_get_intermediate_states", "calls no submodule fc3", 3, m, x, keep(L(1, S("fc3"))));

  /* updating the buffer changes forward: scale 2 everywhere */
  float two[3] = {2, 2, 2};
  lt_value r = ok("torch_jit_model_update_weight", 3, m, S("scale"), keep(ok("tensor_create", 1, F32S(two, 3))));
  lt_value_clear(&r);
  double want2[6];
  for (int i = 0; i < 6; i++) want2[i] = yout[i] / scale[i % 3] * 2;
  lt_value y3 = ok("torch_jit_model_forward", 2, m, x);
  CHECK(diff_values(y3, want2, 6) <= 1e-5);
  fails("torch_jit_model_update_weight", "has shape [3]", 3, m, S("scale"), keep(ok("tensor_create", 1, F32S(two, 2))));

  /* LoRA on fc1: forward_with_lora equals fc1.weight + delta; plain forward unchanged */
  lt_value lora = ok("torch_lora_linear", 4, lt_int(4), lt_int(8), lt_int(2), lt_float(4.0));
  int64_t as[2] = {2, 4}, bs[2] = {8, 2};
  lt_value d = lt_dict_new(2);
  lt_dict_put(&d, "lora_A.weight", ok("tensor_randn", 1, I64S(as, 2)));
  lt_dict_put(&d, "lora_B.weight", ok("tensor_randn", 1, I64S(bs, 2)));
  char dir[512];
  CHECK(make_tmpdir(dir, sizeof dir, "jit") == 0);
  r = ok("torch_safetensors_save", 2, d, S(tmp_path("ab.safetensors")));
  lt_value_clear(&r);
  lt_value_clear(&d);
  r = ok("torch_lora_load_adapters", 2, lora, S(tmp_path("ab.safetensors")));
  lt_value_clear(&r);
  r = ok("torch_jit_model_register_lora_hook", 3, m, S("fc1"), lora);
  lt_value_clear(&r);
  fails("torch_jit_model_register_lora_hook", "does not fit", 3, m, S("fc2"), lora);
  lt_value yl = ok("torch_jit_model_forward_with_lora", 2, m, x);
  lt_value yp = ok("torch_jit_model_forward", 2, m, x);
  CHECK(diff_values(yp, want2, 6) <= 1e-5);
  /* gradients reach the adapter */
  lt_value loss = ok("tensor_sum", 1, yl);
  r = ok("torch_backward", 1, loss);
  lt_value_clear(&r);
  lt_value tp = ok("torch_lora_trainable_params", 1, lora);
  lt_value grad = ok("tensor_grad", 1, tp.u.list.items[0]);
  CHECK(grad.kind == LT_HANDLE && num_of(keep(ok("tensor_sum", 1, keep(ok("tensor_abs", 1, grad))))) > 0);
  /* merged by hand: the same output */
  lt_value delta = ok("torch_lora_compute_delta", 1, lora);
  lt_value merged = ok("tensor_add", 2, w, delta);
  lt_value merged_d = ok("tensor_detach", 1, merged);
  r = ok("torch_jit_model_update_weight", 3, m, S("fc1.weight"), merged_d);
  lt_value_clear(&r);
  lt_value ym = ok("torch_jit_model_forward", 2, m, x);
  static double vl[6];
  CHECK(values_of(yl, vl, 6) == 6 && diff_values(ym, vl, 6) <= 1e-5);

  /* devices */
  lt_value dv = ok("torch_jit_model_to_best_device", 1, m);
  CHECK(dv.kind == LT_STRING);
  lt_value_clear(&dv);
  dv = ok("torch_jit_model_to_device", 1, m);
  CHECK(dv.kind == LT_STRING && strcmp(dv.u.str.s, "cpu") == 0);
  lt_value_clear(&dv);
  if (!lts_mps_is_available()) fails("torch_jit_model_to_mps", "MPS is not available", 1, m);

  /* unload: later calls fail, cleanly */
  r = ok("torch_jit_unload", 1, m);
  lt_value_clear(&r);
  fails("torch_jit_model_forward", "unloaded", 2, m, x);
  fails("torch_jit_unload", "unloaded", 1, m);
  fails("torch_jit_load", "", 1, S("/nonexistent/model.pt"));
  fails("torch_jit_model_forward", "TorchScript module", 2, lora, x);
  remove_tmpdir(dir);

  lt_value vals[] = {ym, merged_d, merged, delta, grad, tp, loss, yp, yl, lora, y3, st, info, sc, shape, w, tn, bn, pn, meth, y2, y, m};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) lt_value_clear(&vals[i]);
  nested();
  return test_summary("test_jit");
}
