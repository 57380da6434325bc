/* test_tensor_math.c - section 2: arithmetic, math, activations, against
 * values computed by hand with libm. */
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

static float xs[4] = {0.25f, 0.5f, 0.75f, 0.9f};

static lt_value vec(void) { return ok("tensor_create", 1, F32S(xs, 4)); }

static void check_unary(const char *name, double (*f)(double), double tol) {
  lt_value x = vec();
  lt_value y = ok(name, 1, x);
  double v[4];
  CHECK(values_of(y, v, 4) == 4);
  for (int i = 0; i < 4; i++) {
    double want = f((double)xs[i]);
    if (fabs(v[i] - want) > tol * (1 + fabs(want))) {
      lt_test_failed++;
      fprintf(stderr, "%s(%g) = %.9g, expected %.9g\n", name, xs[i], v[i], want);
    } else {
      lt_test_passed++;
    }
  }
  lt_value_clear(&y);
  lt_value_clear(&x);
}

static double d_neg(double x) { return -x; }
static double d_recip(double x) { return 1 / x; }
static double d_rsqrt(double x) { return 1 / sqrt(x); }
static double d_relu(double x) { return x > 0 ? x : 0; }
static double d_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double d_gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2))); }
static double d_silu(double x) { return x / (1 + exp(-x)); }
static double d_round(double x) { return nearbyint(x); }

static void test_unary(void) {
  struct { const char *n; double (*f)(double); } u[] = {
      {"tensor_abs", fabs}, {"tensor_acos", acos}, {"tensor_asin", asin}, {"tensor_atan", atan},
      {"tensor_ceil", ceil}, {"tensor_cos", cos}, {"tensor_cosh", cosh}, {"tensor_exp", exp},
      {"tensor_floor", floor}, {"tensor_log", log}, {"tensor_log10", log10}, {"tensor_log2", log2},
      {"tensor_neg", d_neg}, {"tensor_reciprocal", d_recip}, {"tensor_round", d_round},
      {"tensor_rsqrt", d_rsqrt}, {"tensor_sin", sin}, {"tensor_sinh", sinh}, {"tensor_sqrt", sqrt},
      {"tensor_tan", tan}, {"tensor_relu", d_relu}, {"torch_relu", d_relu}, {"tensor_sigmoid", d_sigmoid},
      {"tensor_tanh", tanh}, {"tensor_gelu", d_gelu}, {"tensor_silu", d_silu},
  };
  for (size_t i = 0; i < sizeof u / sizeof *u; i++) check_unary(u[i].n, u[i].f, 2e-6);
}

static void test_binary(void) {
  float a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
  lt_value ta = ok("tensor_create", 1, F32S(a, 3)), tb = ok("tensor_create", 1, F32S(b, 3));
  double v[3];
  struct { const char *n; double r0, r2; } cases[] = {
      {"tensor_add", 5, 9}, {"torch_add", 5, 9}, {"tensor_sub", -3, -3}, {"torch_sub", -3, -3},
      {"tensor_mul", 4, 18}, {"torch_mul", 4, 18}, {"tensor_div", 0.25, 0.5}, {"tensor_pow", 1, 729},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    lt_value r = ok(cases[i].n, 2, ta, tb);
    values_of(r, v, 3);
    CHECK_NEAR(v[0], cases[i].r0, 1e-6);
    CHECK_NEAR(v[2], cases[i].r2, 1e-3);
    lt_value_clear(&r);
  }
  /* numbers on either side */
  lt_value r = ok("tensor_sub", 2, lt_int(10), ta);
  values_of(r, v, 3);
  CHECK(v[0] == 9 && v[2] == 7);
  lt_value_clear(&r);
  r = ok("tensor_div", 2, lt_int(6), ta);
  values_of(r, v, 3);
  CHECK_NEAR(v[1], 3, 1e-6);
  lt_value_clear(&r);
  r = ok("tensor_add_scalar", 2, ta, lt_float(0.5));
  values_of(r, v, 3);
  CHECK(v[0] == 1.5);
  lt_value_clear(&r);
  r = ok("tensor_mul_scalar", 2, ta, lt_int(3));
  values_of(r, v, 3);
  CHECK(v[2] == 9);
  lt_value_clear(&r);
  r = ok("tensor_div_scalar", 2, ta, lt_int(4));
  values_of(r, v, 3);
  CHECK(v[0] == 0.25);
  lt_value_clear(&r);
  r = ok("tensor_pow", 2, ta, lt_int(2));
  values_of(r, v, 3);
  CHECK(v[2] == 9);
  lt_value_clear(&r);
  fails("tensor_add", "two numbers", 2, lt_int(1), lt_int(2));
  /* broadcasting mismatch is a clean error */
  float c[2] = {1, 2};
  lt_value tc = ok("tensor_create", 1, F32S(c, 2));
  fails("tensor_add", NULL, 2, ta, tc);
  lt_value_clear(&tc);
  /* integer tensors stay integer with integer scalars */
  int64_t ints[2] = {3, 4};
  lt_value ti = ok("tensor_create", 1, I64S(ints, 2));
  r = ok("tensor_mul", 2, ti, lt_int(2));
  lt_value dt = ok("tensor_dtype", 1, r);
  CHECK_STR(dt.u.str.s, "int64");
  lt_value_clear(&dt);
  lt_value_clear(&r);
  lt_value_clear(&ti);
  lt_value_clear(&ta);
  lt_value_clear(&tb);
}

static void test_linalg(void) {
  /* [[1 2] [3 4]] x [[5 6] [7 8]] = [[19 22] [43 50]] */
  float m1[4] = {1, 2, 3, 4}, m2[4] = {5, 6, 7, 8};
  int64_t s22[2] = {2, 2};
  lt_value a0 = ok("tensor_create", 1, F32S(m1, 4)), b0 = ok("tensor_create", 1, F32S(m2, 4));
  lt_value a = ok("tensor_reshape", 2, a0, I64S(s22, 2)), b = ok("tensor_reshape", 2, b0, I64S(s22, 2));
  double v[4];
  lt_value m = ok("tensor_matmul", 2, a, b);
  values_of(m, v, 4);
  CHECK(v[0] == 19 && v[1] == 22 && v[2] == 43 && v[3] == 50);
  lt_value_clear(&m);
  m = ok("torch_matmul", 2, a, b);
  values_of(m, v, 4);
  CHECK(v[3] == 50);
  lt_value_clear(&m);
  /* linear: x·wᵀ + bias */
  float bias[2] = {1, -1};
  lt_value tb = ok("tensor_create", 1, F32S(bias, 2));
  lt_value l = ok("tensor_linear", 3, a, b, tb);
  values_of(l, v, 4); /* [[1*5+2*6+1, 1*7+2*8-1], [3*5+4*6+1, 3*7+4*8-1]] */
  CHECK(v[0] == 18 && v[1] == 22 && v[2] == 40 && v[3] == 52);
  lt_value_clear(&l);
  l = ok("tensor_linear", 2, a, b);
  values_of(l, v, 4);
  CHECK(v[0] == 17);
  lt_value_clear(&l);
  /* einsum transposes */
  lt_value ts = L(1, a);
  lt_value e = ok("tensor_einsum", 2, S("ij->ji"), ts);
  values_of(e, v, 4);
  CHECK(v[0] == 1 && v[1] == 3 && v[2] == 2 && v[3] == 4);
  lt_value_clear(&e);
  free(ts.u.list.items);
  lt_value ts2 = L(2, a, b);
  e = ok("tensor_einsum", 2, S("ij,jk->ik"), ts2);
  values_of(e, v, 4);
  CHECK(v[0] == 19 && v[3] == 50);
  lt_value_clear(&e);
  fails("tensor_einsum", NULL, 2, S("ij,jk->ikq"), ts2);
  free(ts2.u.list.items);
  fails("tensor_matmul", "size mismatch", 2, a, a0); /* 2x2 by 4 */
  lt_value vals[] = {a0, b0, a, b, tb};
  for (int i = 0; i < 5; i++) lt_value_clear(&vals[i]);
}

static void test_norms(void) {
  float x[4] = {-2, -0.5f, 0.5f, 3};
  lt_value t = ok("tensor_create", 1, F32S(x, 4));
  double v[4];
  lt_value c = ok("tensor_clamp", 3, t, lt_int(-1), lt_int(1));
  values_of(c, v, 4);
  CHECK(v[0] == -1 && v[1] == -0.5 && v[3] == 1);
  lt_value_clear(&c);
  c = ok("tensor_clamp", 3, t, lt_nil(), lt_int(0));
  values_of(c, v, 4);
  CHECK(v[0] == -2 && v[3] == 0);
  lt_value_clear(&c);
  fails("tensor_clamp", "min and max", 1, t);

  /* rms_norm: x / sqrt(mean(x^2) + eps) * w */
  float w[4] = {1, 2, 1, 0.5f};
  lt_value tw = ok("tensor_create", 1, F32S(w, 4));
  lt_value r = ok("tensor_rms_norm", 2, t, tw);
  values_of(r, v, 4);
  double ms = (4 + 0.25 + 0.25 + 9) / 4.0, inv = 1 / sqrt(ms + 1e-6);
  CHECK_NEAR(v[0], -2 * inv, 1e-6);
  CHECK_NEAR(v[1], -0.5 * inv * 2, 1e-6);
  CHECK_NEAR(v[3], 3 * inv * 0.5, 1e-6);
  lt_value_clear(&r);
  r = ok("tensor_rms_norm", 3, t, tw, lt_float(0.5));
  values_of(r, v, 4);
  CHECK_NEAR(v[0], -2 / sqrt(ms + 0.5), 1e-6);
  lt_value_clear(&r);

  /* softmax and log_softmax */
  lt_value s = ok("tensor_softmax", 2, t, lt_int(0));
  values_of(s, v, 4);
  double z = exp(-2) + exp(-0.5) + exp(0.5) + exp(3);
  CHECK_NEAR(v[3], exp(3) / z, 1e-6);
  CHECK_NEAR(v[0] + v[1] + v[2] + v[3], 1, 1e-6);
  lt_value_clear(&s);
  s = ok("tensor_log_softmax", 2, t, lt_int(-1));
  values_of(s, v, 4);
  CHECK_NEAR(v[0], -2 - log(z), 1e-5);
  lt_value_clear(&s);
  fails("tensor_softmax", "Dimension out of range", 2, t, lt_int(3));
  lt_value_clear(&tw);
  lt_value_clear(&t);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  test_unary();
  test_binary();
  test_linalg();
  test_norms();
  return test_summary("test_tensor_math");
}
