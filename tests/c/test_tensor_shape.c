/* test_tensor_shape.c - section 3: shape, indexing, reductions, sampling. */
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

static int64_t s23[2] = {2, 3};

/* [[0 1 2] [3 4 5]] as float32 */
static lt_value m23(void) {
  lt_value r = ok("tensor_arange", 4, lt_int(0), lt_int(6), lt_int(1), S("float32"));
  lt_value m = ok("tensor_reshape", 2, r, I64S(s23, 2));
  lt_value_clear(&r);
  return m;
}

static int shape_is(lt_value t, int nd, int64_t d0, int64_t d1, int64_t d2) {
  int64_t d[8];
  int n = lts_shape((lts_tensor *)t.u.h.ptr, d, 8);
  int64_t want[3] = {d0, d1, d2};
  if (n != nd) return 0;
  for (int i = 0; i < n && i < 3; i++)
    if (d[i] != want[i]) return 0;
  return 1;
}

static void test_shapes(void) {
  lt_value m = m23();
  double v[16];
  int64_t s32[2] = {3, -1};
  lt_value r = ok("torch_reshape", 2, m, I64S(s32, 2));
  CHECK(shape_is(r, 2, 3, 2, 0));
  lt_value_clear(&r);
  r = ok("tensor_transpose", 3, m, lt_int(0), lt_int(1));
  CHECK(shape_is(r, 2, 3, 2, 0));
  values_of(r, v, 6); /* contiguous read follows the logical order */
  CHECK(v[0] == 0 && v[1] == 3 && v[2] == 1);
  lt_value c = ok("tensor_contiguous", 1, r);
  values_of(c, v, 6);
  CHECK(v[1] == 3);
  lt_value_clear(&c);
  lt_value_clear(&r);
  r = ok("torch_transpose", 3, m, lt_int(-1), lt_int(0));
  CHECK(shape_is(r, 2, 3, 2, 0));
  lt_value_clear(&r);
  r = ok("tensor_unsqueeze", 2, m, lt_int(0));
  CHECK(shape_is(r, 3, 1, 2, 3));
  lt_value sq = ok("tensor_squeeze", 1, r);
  CHECK(shape_is(sq, 2, 2, 3, 0));
  lt_value_clear(&sq);
  sq = ok("tensor_squeeze", 2, r, lt_int(0));
  CHECK(shape_is(sq, 2, 2, 3, 0));
  lt_value_clear(&sq);
  lt_value f = ok("tensor_flatten", 1, r);
  CHECK(shape_is(f, 1, 6, 0, 0));
  lt_value_clear(&f);
  f = ok("tensor_flatten", 3, r, lt_int(1), lt_int(2));
  CHECK(shape_is(f, 2, 1, 6, 0));
  lt_value_clear(&f);
  lt_value_clear(&r);
  int64_t e[3] = {4, -1, -1};
  lt_value u = ok("tensor_unsqueeze", 2, m, lt_int(0));
  r = ok("tensor_expand", 2, u, I64S(e, 3));
  CHECK(shape_is(r, 3, 4, 2, 3));
  lt_value_clear(&r);
  lt_value_clear(&u);
  int64_t bad[2] = {4, 4};
  fails("tensor_reshape", "invalid for input of size", 2, m, I64S(bad, 2));

  /* slicing: end exclusive, negatives from the end */
  r = ok("tensor_slice", 4, m, lt_int(1), lt_int(1), lt_int(3));
  CHECK(shape_is(r, 2, 2, 2, 0));
  values_of(r, v, 4);
  CHECK(v[0] == 1 && v[1] == 2 && v[2] == 4 && v[3] == 5);
  lt_value_clear(&r);
  r = ok("tensor_slice", 4, m, lt_int(1), lt_int(-2), lt_int(-1));
  values_of(r, v, 2);
  CHECK(v[0] == 1 && v[1] == 4);
  lt_value_clear(&r);
  r = ok("torch_tensor_slice", 3, m, lt_int(1), lt_int(2)); /* rows 1..1 */
  CHECK(shape_is(r, 2, 1, 3, 0));
  lt_value_clear(&r);
  r = ok("torch_tensor_slice", 4, m, lt_int(0), lt_int(1), lt_int(1));
  CHECK(shape_is(r, 2, 2, 1, 0));
  lt_value_clear(&r);
  r = ok("tensor_select", 3, m, lt_int(0), lt_int(-1));
  values_of(r, v, 3);
  CHECK(v[0] == 3 && v[2] == 5);
  lt_value_clear(&r);
  fails("tensor_select", "out of range", 3, m, lt_int(0), lt_int(2));

  lt_value pair = L(2, m, m);
  r = ok("tensor_cat", 2, pair, lt_int(0));
  CHECK(shape_is(r, 2, 4, 3, 0));
  lt_value_clear(&r);
  r = ok("tensor_cat", 2, pair, lt_int(1));
  CHECK(shape_is(r, 2, 2, 6, 0));
  lt_value_clear(&r);
  r = ok("tensor_stack", 2, pair, lt_int(0));
  CHECK(shape_is(r, 3, 2, 2, 3));
  lt_value_clear(&r);
  free(pair.u.list.items);

  lt_value ones = ok("tensor_ones", 1, I64S((int64_t[]){3, 3}, 2));
  r = ok("tensor_triu", 1, ones);
  values_of(r, v, 9);
  CHECK(v[0] == 1 && v[3] == 0 && v[5] == 1 && v[6] == 0);
  lt_value_clear(&r);
  r = ok("tensor_triu", 2, ones, lt_int(1));
  values_of(r, v, 9);
  CHECK(v[0] == 0 && v[1] == 1);
  lt_value_clear(&r);
  r = ok("tensor_tril", 1, ones);
  values_of(r, v, 9);
  CHECK(v[1] == 0 && v[3] == 1);
  lt_value_clear(&r);
  lt_value_clear(&ones);

  int64_t idx[4] = {2, 0, 1, 1};
  lt_value ti0 = ok("tensor_create", 1, I64S(idx, 4));
  lt_value ti = ok("tensor_reshape", 2, ti0, I64S((int64_t[]){2, 2}, 2));
  r = ok("tensor_gather", 3, m, lt_int(1), ti);
  values_of(r, v, 4);
  CHECK(v[0] == 2 && v[1] == 0 && v[2] == 4 && v[3] == 4);
  lt_value_clear(&r);
  lt_value_clear(&ti);
  lt_value_clear(&ti0);
  r = ok("tensor_cumsum", 2, m, lt_int(1));
  values_of(r, v, 6);
  CHECK(v[2] == 3 && v[5] == 12);
  lt_value_clear(&r);
  lt_value_clear(&m);
}

static void test_fill_and_set(void) {
  lt_value m = m23();
  double v[6];
  lt_value mask = ok("tensor_create", 1, keep(L(2, L(3, lt_bool(1), lt_bool(0), lt_bool(0)), L(3, lt_bool(0), lt_bool(0), lt_bool(1)))));
  lt_value r = ok("tensor_masked_fill", 3, m, mask, lt_int(-9));
  values_of(r, v, 6);
  CHECK(v[0] == -9 && v[1] == 1 && v[5] == -9);
  values_of(m, v, 6);
  CHECK(v[0] == 0); /* not in place */
  lt_value_clear(&r);
  r = ok("tensor_masked_fill_", 3, m, mask, lt_float(7.5));
  values_of(m, v, 6);
  CHECK(v[0] == 7.5 && v[5] == 7.5); /* in place */
  CHECK(lts_data_ptr((lts_tensor *)r.u.h.ptr) == lts_data_ptr((lts_tensor *)m.u.h.ptr));
  lt_value_clear(&r);
  lt_value_clear(&mask);

  r = ok("tensor_set_item", 3, m, I64S((int64_t[]){1, -1}, 2), lt_int(42));
  values_of(m, v, 6);
  CHECK(v[5] == 42);
  lt_value_clear(&r);
  lt_value row = ok("tensor_full", 2, I64S((int64_t[]){3}, 1), lt_float(-1));
  r = ok("tensor_set_item", 3, m, I64S((int64_t[]){0}, 1), row);
  values_of(m, v, 6);
  CHECK(v[0] == -1 && v[2] == -1 && v[3] == 3);
  lt_value_clear(&r);
  lt_value_clear(&row);
  fails("tensor_set_item", "out of range", 3, m, I64S((int64_t[]){2, 0}, 2), lt_int(1));
  fails("tensor_set_item", "too many indices", 3, m, I64S((int64_t[]){0, 0, 0}, 3), lt_int(1));
  lt_value_clear(&m);
}

static void test_reductions(void) {
  lt_value m = m23();
  double v[6];
  lt_value s = ok("tensor_sum", 1, m);
  CHECK(lts_dim((lts_tensor *)s.u.h.ptr) == 0); /* 0-dim, reads as a number */
  CHECK(num_of(s) == 15);
  lt_value_clear(&s);
  s = ok("tensor_sum", 2, m, lt_int(0));
  values_of(s, v, 3);
  CHECK(v[0] == 3 && v[2] == 7);
  lt_value_clear(&s);
  s = ok("tensor_sum", 3, m, lt_int(1), lt_bool(1));
  CHECK(shape_is(s, 2, 2, 1, 0));
  lt_value_clear(&s);
  s = ok("tensor_mean", 1, m);
  CHECK(num_of(s) == 2.5);
  lt_value_clear(&s);
  s = ok("tensor_mean_dim", 2, m, lt_int(1));
  values_of(s, v, 2);
  CHECK(v[0] == 1 && v[1] == 4);
  lt_value_clear(&s);
  s = ok("tensor_std", 1, m);
  CHECK_NEAR(num_of(s), sqrt(17.5 / 5), 1e-6);
  lt_value_clear(&s);
  s = ok("tensor_std", 2, m, lt_int(1));
  values_of(s, v, 2);
  CHECK_NEAR(v[0], 1, 1e-6);
  lt_value_clear(&s);
  s = ok("tensor_max", 1, m);
  CHECK(num_of(s) == 5);
  lt_value_clear(&s);
  s = ok("tensor_max", 2, m, lt_int(0));
  values_of(s, v, 3);
  CHECK(v[0] == 3);
  lt_value_clear(&s);
  s = ok("tensor_min", 1, m);
  CHECK(num_of(s) == 0);
  lt_value_clear(&s);
  s = ok("tensor_argmax", 1, m);
  CHECK(num_of(s) == 5);
  lt_value_clear(&s);
  s = ok("tensor_argmax", 2, m, lt_int(1));
  values_of(s, v, 2);
  CHECK(v[0] == 2 && v[1] == 2);
  lt_value_clear(&s);
  s = ok("tensor_argmin", 3, m, lt_int(0), lt_bool(1));
  CHECK(shape_is(s, 2, 1, 3, 0));
  lt_value_clear(&s);
  s = ok("tensor_norm", 1, m);
  CHECK_NEAR(num_of(s), sqrt(55), 1e-5);
  lt_value_clear(&s);
  s = ok("torch_norm", 3, m, lt_int(1), lt_int(1));
  values_of(s, v, 2);
  CHECK(v[0] == 3 && v[1] == 12);
  lt_value_clear(&s);

  /* gradients flow through reductions */
  lt_value x = ok("tensor_ones", 1, I64S((int64_t[]){3}, 1));
  lt_value_clear(&(lt_value){0});
  lt_value same = ok("tensor_requires_grad", 2, x, lt_bool(1));
  lt_value sq = ok("tensor_mul", 2, x, x);
  s = ok("tensor_sum", 1, sq);
  CHECK(lts_has_grad_fn((lts_tensor *)s.u.h.ptr));
  lt_value vals[] = {same, sq, s, x, m};
  for (int i = 0; i < 5; i++) lt_value_clear(&vals[i]);
}

static void test_sampling(void) {
  float x[5] = {0.1f, 0.7f, 0.3f, 0.9f, 0.5f};
  lt_value t = ok("tensor_create", 1, F32S(x, 5));
  double v[5];
  lt_value r = ok("torch_topk", 2, t, lt_int(2));
  CHECK(r.kind == LT_LIST && r.u.list.n == 2);
  values_of(r.u.list.items[0], v, 2);
  CHECK_NEAR(v[0], 0.9, 1e-6);
  CHECK_NEAR(v[1], 0.7, 1e-6);
  values_of(r.u.list.items[1], v, 2);
  CHECK(v[0] == 3 && v[1] == 1);
  lt_value_clear(&r);
  r = ok("torch_topk", 4, t, lt_int(1), lt_int(0), lt_bool(0));
  values_of(r.u.list.items[1], v, 1);
  CHECK(v[0] == 0);
  lt_value_clear(&r);
  fails("torch_topk", "out of range", 2, t, lt_int(9));
  r = ok("torch_sort", 1, t);
  values_of(r.u.list.items[1], v, 5);
  CHECK(v[0] == 0 && v[1] == 2 && v[4] == 3);
  lt_value_clear(&r);
  r = ok("torch_sort", 3, t, lt_int(0), lt_bool(1));
  values_of(r.u.list.items[0], v, 5);
  CHECK_NEAR(v[0], 0.9, 1e-6);
  lt_value_clear(&r);

  /* multinomial follows the probabilities: a zero-probability index never comes */
  float p[4] = {0.0f, 0.5f, 0.0f, 0.5f};
  lt_value probs = ok("tensor_create", 1, F32S(p, 4));
  ok("torch_manual_seed", 1, lt_int(7));
  lt_value draws = ok("tensor_multinomial", 3, probs, lt_int(200), lt_bool(1));
  double d[200];
  CHECK(values_of(draws, d, 200) == 200);
  int ones = 0, bad = 0;
  for (int i = 0; i < 200; i++) {
    if (d[i] == 1) ones++;
    if (d[i] == 0 || d[i] == 2) bad++;
  }
  CHECK(bad == 0);
  CHECK(ones > 60 && ones < 140);
  lt_value_clear(&draws);
  fails("torch_multinomial", "without replacement", 2, probs, lt_int(3)); /* 3 from 2 nonzero */
  lt_value_clear(&probs);
  lt_value_clear(&t);
}

static void test_at(void) {
  lt_value m = m23();
  lt_value out;
  int64_t idx[2] = {1, -1};
  CHECK(lt_tensor_at(m.u.h, idx, 2, &out) == LT_OK && out.kind == LT_FLOAT && out.u.f == 5);
  CHECK(lt_tensor_at(m.u.h, idx, 1, &out) == LT_OK && out.kind == LT_HANDLE);
  lt_value_clear(&out);
  int64_t bad[2] = {2, 0};
  CHECK(lt_tensor_at(m.u.h, bad, 2, &out) == LT_ERROR && strstr(lt_last_error(), "out of range"));
  lt_value_clear(&m);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  int64_t base = lts_live_tensors();
  void (*tests[])(void) = {test_shapes, test_fill_and_set, test_reductions, test_sampling, test_at};
  for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
    int64_t before = lts_live_tensors();
    tests[i]();
    if (lts_live_tensors() != before) fprintf(stderr, "test %zu leaked %lld tensors\n", i, (long long)(lts_live_tensors() - before));
  }
  CHECK(lts_live_tensors() == base);
  return test_summary("test_tensor_shape");
}
