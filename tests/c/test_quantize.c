/* test_quantize.c - section 12: quantized tensors against the affine formula
 * by hand, their printing, conversions out of them; modules with int8
 * weights: memory, outputs within tolerance, saved state; errors. */
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"
#include "lt_test.h"

static int64_t vals(lt_value t, double *out, int64_t max) { return values_of(t, out, max); }

int main(void) {
  CHECK(lt_init() == LT_OK);
  float xs[4] = {0.1f, 0.5f, 1.0f, -0.3f};
  lt_value x = keep(ok("tensor_create", 1, F32S(xs, 4)));

  /* affine: q = round(x / scale) + zero_point, read back as (q - zp) * scale */
  lt_value q = ok("torch_quantize_static", 4, x, lt_float(0.1), lt_int(10), S("quint8"));
  double v[8];
  CHECK(vals(q, v, 8) == 4);
  for (int i = 0; i < 4; i++) CHECK_NEAR(v[i], xs[i], 1e-6);
  lt_value dt = ok("tensor_dtype", 1, q);
  CHECK(dt.kind == LT_STRING && strcmp(dt.u.str.s, "quint8") == 0);
  char *r = lt_tensor_repr(lt_tensor_of(&q));
  CHECK(r && strstr(r, "dtype=torch.quint8") && strstr(r, "quantization_scheme=torch.per_tensor_affine") && strstr(r, "scale=0.1,") &&
        strstr(r, "zero_point=10)") && strstr(r, "0.5000"));
  if (r) printf("%s\n", r);
  free(r);
  lt_value dq = ok("torch_dequantize", 1, q);
  lt_value ddt = ok("tensor_dtype", 1, dq);
  CHECK(strcmp(ddt.u.str.s, "float32") == 0);
  lt_value big = ok("torch_quantize_linear", 3, x, lt_float(0.01), lt_int(0));  /* quint8: -0.3 saturates to 0 */
  CHECK(vals(big, v, 8) == 4 && v[3] == 0 && fabs(v[2] - 1.0) < 1e-6);

  /* dynamic: within half a step of the input */
  int64_t s[2] = {64, 32};
  lt_value rnd = keep(ok("tensor_randn", 1, I64S(s, 2)));
  lt_value qi = ok("torch_quantize_int8", 1, rnd);
  static double a[2048], b[2048];
  CHECK(vals(qi, a, 2048) == 2048 && vals(rnd, b, 2048) == 2048);
  double lo = 0, hi = 0, worst = 0;
  for (int i = 0; i < 2048; i++) {
    lo = fmin(lo, b[i]);
    hi = fmax(hi, b[i]);
    worst = fmax(worst, fabs(a[i] - b[i]));
  }
  printf("int8 dynamic: largest error %.4g, step %.4g\n", worst, (hi - lo) / 255);
  CHECK(worst <= (hi - lo) / 255 / 2 + 1e-6);
  lt_value qd = ok("torch_quantize_dynamic", 2, rnd, S("quint8"));
  lt_value qdt = ok("tensor_dtype", 1, qd);
  CHECK(strcmp(qdt.u.str.s, "quint8") == 0);

  /* per channel: row i uses scale i */
  float m6[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  int64_t sh[2] = {2, 3};
  lt_value m = keep(ok("tensor_reshape", 2, keep(ok("tensor_create", 1, F32S(m6, 6))), I64S(sh, 2)));
  double scales[2] = {0.1, 0.25};
  int64_t zps[2] = {0, 0};
  lt_value pc = ok("torch_quantize_per_channel", 4, m, F64S(scales, 2), I64S(zps, 2), lt_int(0));
  double want[6] = {0.1, 0.2, 0.3, 0.5, 0.5, 0.5};  /* row 1: round(x / 0.25) * 0.25 */
  CHECK(vals(pc, v, 8) == 6);
  for (int i = 0; i < 6; i++) CHECK_NEAR(v[i], want[i], 1e-6);
  r = lt_tensor_repr(lt_tensor_of(&pc));
  CHECK(r && strstr(r, "per_channel_affine") && strstr(r, "axis=0"));
  free(r);
  lt_value one = ok("tensor_select", 3, keep(ok("tensor_select", 3, pc, lt_int(0), lt_int(1))), lt_int(0), lt_int(2));
  CHECK_NEAR(num_of(one), 0.5, 1e-6);
  lt_value item = ok("tensor_item", 1, one);
  CHECK(item.kind == LT_FLOAT && fabs(item.u.f - 0.5) < 1e-6);
  lt_value list = ok("tensor_to_list", 1, pc);
  CHECK(list.kind == LT_LIST && list.u.list.n == 2 && list.u.list.items[1].kind == LT_BUFFER &&
        list.u.list.items[1].u.buf.dtype == LT_F32 && fabs(((float *)list.u.list.items[1].u.buf.data)[0] - 0.5) < 1e-6);
  lt_value_clear(&list);
  fails("tensor_zeros", "must be a dtype name", 2, I64S(sh, 2), S("qint8"));

  /* plain conversions */
  lt_value h = ok("torch_quantize_fp16", 1, x), h2 = ok("torch_tensor_to_fp16", 1, x);
  lt_value hdt = ok("tensor_dtype", 1, h2);
  CHECK(strcmp(hdt.u.str.s, "float16") == 0 && vals(h, v, 8) == 4 && fabs(v[1] - 0.5) < 1e-3);
  float sat[4] = {1.4f, -200.0f, 300.0f, 2.6f};
  lt_value i8 = ok("torch_tensor_to_int8", 1, keep(ok("tensor_create", 1, F32S(sat, 4))));
  double want8[4] = {1, -128, 127, 3};
  CHECK(vals(i8, v, 8) == 4 && memcmp(v, want8, sizeof want8) == 0);
  lt_value i8dt = ok("tensor_dtype", 1, i8);
  CHECK(strcmp(i8dt.u.str.s, "int8") == 0);

  /* a module with int8 weights: 4x less weight memory, outputs within 2% */
  lt_value mlp = ok("torch_model", 3, lt_int(784), lt_int(256), lt_int(10));
  int64_t is[2] = {16, 784};
  lt_value in = keep(ok("tensor_randn", 1, I64S(is, 2)));
  lt_value y0 = ok("torch_forward", 2, mlp, in);
  lt_value st0 = ok("torch_state_dict", 1, mlp);
  lt_value fc1 = ok("tensor_clone", 1, *lt_dict_get(&st0, "fc1.weight"));
  lt_value info = ok("torch_model_quantize_dynamic", 1, mlp);
  const lt_value *bb = lt_dict_get(&info, "bytes_before"), *ba = lt_dict_get(&info, "bytes_after");
  CHECK(bb && ba && bb->u.i == (784 * 256 + 256 * 10) * 4 && ba->u.i == 784 * 256 + 256 * 10 + (256 + 10) * 8);
  lt_value y1 = ok("torch_forward", 2, mlp, in);
  static double ya[160], yb[160];
  CHECK(vals(y0, ya, 160) == 160 && vals(y1, yb, 160) == 160);
  double num = 0, den = 0;
  for (int i = 0; i < 160; i++) {
    num += (ya[i] - yb[i]) * (ya[i] - yb[i]);
    den += ya[i] * ya[i];
  }
  printf("int8 MLP 784-256-10: weights %lld -> %lld bytes, output relative error %.4g\n", (long long)bb->u.i, (long long)ba->u.i,
         sqrt(num / den));
  CHECK(sqrt(num / den) < 0.02);
  lt_value st1 = ok("torch_state_dict", 1, mlp);
  const lt_value *f1 = lt_dict_get(&st1, "fc1.weight");
  static double w_a[784 * 256 / 8];
  CHECK(f1 && vals(*f1, w_a, 784 * 256 / 8) == 784 * 256);  /* full shape again, dequantized */
  lt_value mdiff = ok("tensor_max", 1, keep(ok("tensor_abs", 1, keep(ok("tensor_sub", 2, fc1, *f1)))));
  CHECK(num_of(mdiff) < 0.01);
  fails("torch_model_quantize_dynamic", "already quantized", 1, mlp);
  fails("torch_to_device", "quantized module", 2, mlp, S("cuda"));

  /* static: the input rounded with the calibration range */
  lt_value lin = ok("torch_linear", 2, lt_int(32), lt_int(8));
  int64_t cs[2] = {100, 32};
  lt_value cal = keep(ok("tensor_randn", 1, I64S(cs, 2)));
  lt_value ly0 = ok("torch_forward", 2, lin, cal);
  lt_value sinfo = ok("torch_model_quantize_static", 2, lin, keep(Lr(1, cal)));
  lt_value ly1 = ok("torch_forward", 2, lin, cal);
  static double la[800], lb[800];
  CHECK(vals(ly0, la, 800) == 800 && vals(ly1, lb, 800) == 800);
  num = den = 0;
  for (int i = 0; i < 800; i++) {
    num += (la[i] - lb[i]) * (la[i] - lb[i]);
    den += la[i] * la[i];
  }
  printf("static int8 linear 32->8: output relative error %.4g\n", sqrt(num / den));
  CHECK(sqrt(num / den) < 0.03 && num > 0);

  fails("torch_dequantize", "not quantized", 1, x);
  fails("torch_quantize_static", "qint8, quint8 or qint32", 4, x, lt_float(0.1), lt_int(0), S("float32"));
  fails("torch_quantize_static", "scale must be a positive", 4, x, lt_float(0), lt_int(0), S("qint8"));
  fails("torch_quantize_per_channel", "must hold 2 values", 4, m, F64S(scales, 1), I64S(zps, 1), lt_int(0));
  lt_value d = lt_dict_new(1);
  lt_dict_put(&d, "q", ok("tensor_clone", 1, q));
  char dir[512];
  CHECK(make_tmpdir(dir, sizeof dir, "quant") == 0);
  fails("torch_safetensors_save", "dequantize quantized tensors first", 2, d, S(tmp_path("q.safetensors")));
  remove_tmpdir(dir);
  lt_value_clear(&d);
  fails("torch_model_quantize_dynamic", "no linear weights", 1, keep(ok("torch_layer_norm", 1, I64S(s, 1))));

  lt_value all[] = {ly1, sinfo, ly0, lin, mdiff, st1, y1, info, fc1, st0, y0, mlp, i8dt, i8, hdt, h2, h, one, pc, qdt, qd, qi, big, ddt, dq, dt, q};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lt_value_clear(&all[i]);
  return test_summary("test_quantize");
}
