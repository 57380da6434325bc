/* math.c - section 2: arithmetic, math functions, activations. */
#include <stdlib.h>
#include "lt_internal.h"

static int binary(lts_binary_op op, const lt_value *a, const lt_value *b, lt_value *out) {
  lts_tensor *t = NULL;
  int rc;
  if (lt_is_tensor(a) && lt_is_tensor(b)) rc = lts_binary(op, lt_tensor_of(a), lt_tensor_of(b), &t);
  else if (lt_is_tensor(a)) rc = lts_binary_scalar(op, lt_tensor_of(a), lt_as_num(b), 0, &t);
  else if (lt_is_tensor(b)) rc = lts_binary_scalar(op, lt_tensor_of(b), lt_as_num(a), 1, &t);
  else return lt_fail("at least one of the arguments must be a tensor, got two numbers");
  return lt_out_tensor(rc, &t, out);
}

static int p_add(const lt_value *a, lt_value *out) { return binary(LTS_B_ADD, &a[0], &a[1], out); }
static int p_sub(const lt_value *a, lt_value *out) { return binary(LTS_B_SUB, &a[0], &a[1], out); }
static int p_mul(const lt_value *a, lt_value *out) { return binary(LTS_B_MUL, &a[0], &a[1], out); }
static int p_div(const lt_value *a, lt_value *out) { return binary(LTS_B_DIV, &a[0], &a[1], out); }
static int p_pow(const lt_value *a, lt_value *out) { return binary(LTS_B_POW, &a[0], &a[1], out); }
static int p_matmul(const lt_value *a, lt_value *out) { return binary(LTS_B_MATMUL, &a[0], &a[1], out); }

static int p_linear(const lt_value *a, lt_value *out) {
  lts_tensor *t = NULL;
  lts_tensor *bias = lt_present(&a[2]) ? lt_tensor_of(&a[2]) : NULL;
  return lt_out_tensor(lts_linear(lt_tensor_of(&a[0]), lt_tensor_of(&a[1]), bias, &t), &t, out);
}

static int p_einsum(const lt_value *a, lt_value *out) {
  char eq[256];
  if (a[0].u.str.len >= sizeof eq) return lt_fail("argument 1 (equation) is too long");
  lt_read_str(&a[0], eq, sizeof eq);
  int64_t n = a[1].u.list.n;
  lts_tensor **ts = (lts_tensor **)malloc(sizeof(lts_tensor *) * (size_t)n);
  for (int64_t i = 0; i < n; i++) ts[i] = lt_tensor_of(&a[1].u.list.items[i]);
  lts_tensor *t = NULL;
  int rc = lts_einsum(eq, ts, (int)n, &t);
  free(ts);
  return lt_out_tensor(rc, &t, out);
}

static int p_clamp(const lt_value *a, lt_value *out) {
  if (!lt_present(&a[1]) && !lt_present(&a[2])) return lt_fail("at least one of min and max must be given");
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_clamp(lt_tensor_of(&a[0]), lt_as_num(&a[1]), lt_present(&a[1]), lt_as_num(&a[2]),
                                 lt_present(&a[2]), &t), &t, out);
}

static int p_rms_norm(const lt_value *a, lt_value *out) {
  double eps = lt_present(&a[2]) ? lt_as_num(&a[2]) : 1e-6;
  if (eps < 0) return lt_fail("argument 3 (eps) must be non-negative, got %g", eps);
  lts_tensor *t = NULL;
  return lt_out_tensor(lts_rms_norm(lt_tensor_of(&a[0]), lt_tensor_of(&a[1]), eps, &t), &t, out);
}

static int softmax(const lt_value *a, int log, lt_value *out) {
  lts_tensor *t = NULL;
  int64_t dim = lt_present(&a[1]) ? lt_as_int(&a[1]) : -1;
  return lt_out_tensor(lts_softmax(lt_tensor_of(&a[0]), dim, log, &t), &t, out);
}
static int p_softmax(const lt_value *a, lt_value *out) { return softmax(a, 0, out); }
static int p_log_softmax(const lt_value *a, lt_value *out) { return softmax(a, 1, out); }

/* One function per unary op, generated: each is a table row. */
#define UNARY(name, op)                                                  \
  static int p_##name(const lt_value *a, lt_value *out) {                \
    lts_tensor *t = NULL;                                                \
    return lt_out_tensor(lts_unary(op, lt_tensor_of(&a[0]), &t), &t, out); \
  }
UNARY(abs, LTS_U_ABS) UNARY(acos, LTS_U_ACOS) UNARY(asin, LTS_U_ASIN) UNARY(atan, LTS_U_ATAN)
UNARY(ceil, LTS_U_CEIL) UNARY(cos, LTS_U_COS) UNARY(cosh, LTS_U_COSH) UNARY(exp, LTS_U_EXP)
UNARY(floor, LTS_U_FLOOR) UNARY(log, LTS_U_LOG) UNARY(log10, LTS_U_LOG10) UNARY(log2, LTS_U_LOG2)
UNARY(neg, LTS_U_NEG) UNARY(reciprocal, LTS_U_RECIPROCAL) UNARY(round, LTS_U_ROUND)
UNARY(rsqrt, LTS_U_RSQRT) UNARY(sin, LTS_U_SIN) UNARY(sinh, LTS_U_SINH) UNARY(sqrt, LTS_U_SQRT)
UNARY(tan, LTS_U_TAN) UNARY(relu, LTS_U_RELU) UNARY(sigmoid, LTS_U_SIGMOID) UNARY(tanh, LTS_U_TANH)
UNARY(gelu, LTS_U_GELU) UNARY(silu, LTS_U_SILU)

/* the name written out, so that a search for it finds its row */
#define UROW(name, fn, doc) {name, NULL, "tensor:tensor", doc, p_##fn}

const lt_row lt_rows_tensor_math[] = {
    {"tensor_add", NULL, "a:tnum b:tnum", "a + b (broadcasting; either may be a number)", p_add},
    {"torch_add", "tensor_add", NULL, NULL, NULL},
    {"tensor_sub", NULL, "a:tnum b:tnum", "a - b", p_sub},
    {"torch_sub", "tensor_sub", NULL, NULL, NULL},
    {"tensor_mul", NULL, "a:tnum b:tnum", "a * b (elementwise)", p_mul},
    {"torch_mul", "tensor_mul", NULL, NULL, NULL},
    {"tensor_div", NULL, "a:tnum b:tnum", "a / b (true division)", p_div},
    {"tensor_add_scalar", NULL, "tensor:tensor scalar:num", "tensor + scalar", p_add},
    {"tensor_mul_scalar", NULL, "tensor:tensor scalar:num", "tensor * scalar", p_mul},
    {"tensor_div_scalar", NULL, "tensor:tensor scalar:num", "tensor / scalar", p_div},
    {"tensor_matmul", NULL, "a:tensor b:tensor", "matrix product (batched, broadcasting)", p_matmul},
    {"torch_matmul", "tensor_matmul", NULL, NULL, NULL},
    {"tensor_linear", NULL, "x:tensor weight:tensor ?bias:tensor", "x · weightᵀ + bias", p_linear},
    {"tensor_einsum", NULL, "equation:str tensors:tensors", "Einstein summation", p_einsum},
    {"tensor_pow", NULL, "tensor:tensor exponent:tnum", "elementwise power", p_pow},
    {"tensor_clamp", NULL, "tensor:tensor ?min:num ?max:num", "values limited to [min, max] (either may be nil)", p_clamp},
    {"tensor_rms_norm", NULL, "x:tensor weight:tensor ?eps:num",
     "RMS normalisation over the last dimension, as Llama (eps 1e-6)", p_rms_norm},
    UROW("tensor_abs", abs, "absolute value"),
    UROW("tensor_acos", acos, "arc cosine"),
    UROW("tensor_asin", asin, "arc sine"),
    UROW("tensor_atan", atan, "arc tangent"),
    UROW("tensor_ceil", ceil, "ceiling"),
    UROW("tensor_cos", cos, "cosine"),
    UROW("tensor_cosh", cosh, "hyperbolic cosine"),
    UROW("tensor_exp", exp, "exponential"),
    UROW("tensor_floor", floor, "floor"),
    UROW("tensor_log", log, "natural logarithm"),
    UROW("tensor_log10", log10, "base-10 logarithm"),
    UROW("tensor_log2", log2, "base-2 logarithm"),
    UROW("tensor_neg", neg, "negation"),
    UROW("tensor_reciprocal", reciprocal, "1/x"),
    UROW("tensor_round", round, "round half to even"),
    UROW("tensor_rsqrt", rsqrt, "1/sqrt(x)"),
    UROW("tensor_sin", sin, "sine"),
    UROW("tensor_sinh", sinh, "hyperbolic sine"),
    UROW("tensor_sqrt", sqrt, "square root"),
    UROW("tensor_tan", tan, "tangent"),
    UROW("tensor_relu", relu, "max(x, 0)"),
    {"torch_relu", "tensor_relu", NULL, NULL, NULL},
    UROW("tensor_sigmoid", sigmoid, "logistic sigmoid"),
    UROW("tensor_tanh", tanh, "hyperbolic tangent"),
    UROW("tensor_gelu", gelu, "GELU (erf form)"),
    UROW("tensor_silu", silu, "x * sigmoid(x)"),
    {"tensor_softmax", NULL, "tensor:tensor ?dim:int", "softmax along dim (default -1)", p_softmax},
    {"tensor_log_softmax", NULL, "tensor:tensor ?dim:int", "log-softmax along dim (default -1)", p_log_softmax},
    {NULL, NULL, NULL, NULL, NULL},
};
