/* test_repr.c - tensors print exactly as Python PyTorch's repr
 * (tests/data/repr_golden.txt, made by tests/tools/gen_repr_golden.py). */
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

static lts_tensor *build(const char *spec, const char *dtype, const char *shape) {
  int64_t dims[8];
  int nd = 0;
  int64_t n = 1;
  if (strcmp(shape, "-") != 0) {
    const char *p = shape;
    while (*p) {
      dims[nd] = strtoll(p, (char **)&p, 10);
      n *= dims[nd++];
      if (*p == ',') p++;
    }
  }
  double *vals = (double *)malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (strncmp(spec, "explicit:", 9) == 0) {
    const char *p = spec + 9;
    for (int64_t i = 0; i < n; i++) {
      vals[i] = strtod(p, (char **)&p);
      if (*p == ',') p++;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      double x = (double)i;
      if (strcmp(spec, "arange_div7") == 0) x = x / 7 - 2;
      else if (strcmp(spec, "arange_sq") == 0) x = (x - 5) * (x - 5) * (x - 5) / 3;
      vals[i] = x;
    }
  }
  lt_dtype dt;
  lt_dtype_parse(dtype, strlen(dtype), &dt);
  lts_tensor *t = NULL;
  lts_from_copy(vals, LT_F64, dims, nd, dt, &t);
  free(vals);
  return t;
}

int main(void) {
  lt_init();
  FILE *f = fopen(test_data("repr_golden.txt"), "r");
  CHECK(f != NULL);
  if (!f) return test_summary("test_repr");
  char line[8192], spec[512], dtype[32], shape[64];
  int rg, cases = 0;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "CASE %511s %31s %63s %d", spec, dtype, shape, &rg) != 4) continue;
    size_t cap = 1 << 16, len = 0;
    char *expected = (char *)calloc(cap, 1);
    while (fgets(line, sizeof line, f) && strcmp(line, "END\n") != 0) {
      size_t l = strlen(line);
      if (len + l + 1 > cap) expected = (char *)realloc(expected, cap *= 2);
      memcpy(expected + len, line, l + 1);
      len += l;
    }
    if (len && expected[len - 1] == '\n') expected[--len] = 0;
    lts_tensor *t = build(spec, dtype, shape);
    if (rg) lts_set_requires_grad(t, 1);
    lt_handle h = {LT_H_TENSOR, t};
    char *got = lt_handle_repr(h);
    if (strcmp(got, expected) != 0) fprintf(stderr, "case %s %s %s\n", spec, dtype, shape);
    CHECK_STR(got, expected);
    free(got);
    free(expected);
    lts_tensor_free(t);
    cases++;
  }
  fclose(f);
  CHECK(cases >= 20);

  /* autograd history shows as grad_fn, as in PyTorch */
  lts_tensor *x = build("explicit:1,2,3", "float32", "3"), *y = NULL;
  lts_set_requires_grad(x, 1);
  lts_binary(LTS_B_MUL, x, x, &y);
  char *s = lt_handle_repr((lt_handle){LT_H_TENSOR, y});
  CHECK_STR(s, "tensor([1., 4., 9.], grad_fn=<MulBackward0>)");
  free(s);
  lts_tensor_free(x);
  lts_tensor_free(y);
  printf("%d golden reprs compared\n", cases);
  return test_summary("test_repr");
}
