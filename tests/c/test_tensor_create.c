/* test_tensor_create.c - section 1: creation, conversion, information. */
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

/* a buffer the tensor may take over, as the adapter offers LispE lists */
static void *take_malloced(void *src, void (**release)(void *)) {
  *release = free;
  return src;
}

static void test_zero_copy(void) {
  float *data = (float *)malloc(sizeof(float) * 4);
  for (int i = 0; i < 4; i++) data[i] = (float)i + 0.5f;
  lt_value arg = F32S(data, 4);
  arg.u.buf.take = take_malloced;
  arg.u.buf.src = data;
  lt_value t = ok("tensor_create", 1, arg);
  CHECK(lts_data_ptr((lts_tensor *)t.u.h.ptr) == data); /* same memory: no copy */
  double v[4];
  CHECK(values_of(t, v, 4) == 4);
  CHECK_NEAR(v[3], 3.5, 0);
  data[0] = 42.0f; /* the tensor sees writes through the shared memory */
  values_of(t, v, 4);
  CHECK_NEAR(v[0], 42.0, 0);
  lt_value_clear(&t); /* frees data through the deleter (ASan checks) */

  /* shared (not takeable) buffer: copied */
  float stack_data[3] = {1, 2, 3};
  lt_value t2 = ok("tensor_create", 1, F32S(stack_data, 3));
  CHECK(lts_data_ptr((lts_tensor *)t2.u.h.ptr) != stack_data);
  stack_data[0] = 9;
  values_of(t2, v, 3);
  CHECK_NEAR(v[0], 1, 0);
  lt_value_clear(&t2);

  /* dtype mismatch: copied and converted */
  int64_t ints[3] = {1, 2, 3};
  lt_value t3 = ok("tensor_create", 2, I64S(ints, 3), S("float32"));
  lt_value dt = ok("tensor_dtype", 1, t3);
  CHECK_STR(dt.u.str.s, "float32");
  lt_value_clear(&dt);
  lt_value_clear(&t3);
}

static void test_nested_and_scalars(void) {
  lt_value rows = L(2, L(3, lt_int(1), lt_int(2), lt_int(3)), L(3, lt_int(4), lt_int(5), lt_int(6)));
  lt_value t = ok("tensor_create", 1, rows);
  lt_value shape = ok("tensor_shape", 1, t);
  CHECK(shape.kind == LT_BUFFER && shape.u.buf.len == 2);
  CHECK(((int64_t *)shape.u.buf.data)[0] == 2 && ((int64_t *)shape.u.buf.data)[1] == 3);
  lt_value dt = ok("tensor_dtype", 1, t);
  CHECK_STR(dt.u.str.s, "int64");
  lt_value back = ok("tensor_to_list", 1, t);
  CHECK(back.kind == LT_LIST && back.u.list.n == 2);
  CHECK(back.u.list.items[1].kind == LT_BUFFER && ((int64_t *)back.u.list.items[1].u.buf.data)[2] == 6);
  lt_value_clear(&back);
  lt_value_clear(&dt);
  lt_value_clear(&shape);
  lt_value_clear(&t);
  lt_value_clear(&rows);

  /* mixed ints and floats -> float32 */
  lt_value mixed = L(2, lt_int(1), lt_float(2.5));
  t = ok("tensor_create", 1, mixed);
  dt = ok("tensor_dtype", 1, t);
  CHECK_STR(dt.u.str.s, "float32");
  lt_value_clear(&dt);
  lt_value_clear(&t);
  lt_value_clear(&mixed);

  /* ragged lists are an error naming the primitive */
  lt_value ragged = L(2, L(2, lt_int(1), lt_int(2)), L(1, lt_int(3)));
  fails("tensor_create", "rectangular", 1, ragged);
  lt_value_clear(&ragged);

  /* a list of tensors is stacked */
  int64_t s2[1] = {2};
  lt_value a = ok("tensor_ones", 1, I64S(s2, 1));
  lt_value b = ok("tensor_zeros", 1, I64S(s2, 1));
  lt_value ab = L(2, a, b);
  t = ok("tensor_create", 1, ab);
  double v[4];
  CHECK(values_of(t, v, 4) == 4);
  CHECK(v[0] == 1 && v[1] == 1 && v[2] == 0 && v[3] == 0);
  lt_value_clear(&t);
  lt_value_clear(&ab);

  /* 0-d from a number reads back as a number */
  t = ok("tensor_create", 1, lt_float(2.5));
  lt_value item = ok("tensor_item", 1, t);
  CHECK(item.kind == LT_FLOAT && item.u.f == 2.5);
  lt_value_clear(&t);
}

static void test_fills(void) {
  int64_t shape[2] = {2, 3};
  lt_value z = ok("tensor_zeros", 1, I64S(shape, 2));
  double v[6];
  CHECK(values_of(z, v, 6) == 6 && v[5] == 0);
  lt_value n = ok("tensor_size", 1, z);
  CHECK(n.kind == LT_INT && n.u.i == 6);
  lt_value_clear(&z);

  lt_value f = ok("tensor_full", 2, I64S(shape, 2), lt_float(1.5));
  values_of(f, v, 6);
  CHECK(v[0] == 1.5 && v[5] == 1.5);
  lt_value fl = ok("tensor_full_like", 2, f, lt_int(7));
  values_of(fl, v, 6);
  CHECK(v[3] == 7);
  lt_value dt = ok("tensor_dtype", 1, fl);
  CHECK_STR(dt.u.str.s, "float32");
  lt_value_clear(&dt);
  lt_value_clear(&fl);
  lt_value_clear(&f);

  lt_value fi = ok("tensor_full", 2, I64S(shape, 2), lt_int(3));
  dt = ok("tensor_dtype", 1, fi);
  CHECK_STR(dt.u.str.s, "int64");
  lt_value_clear(&dt);
  lt_value_clear(&fi);

  lt_value d = ok("tensor_ones", 2, I64S(shape, 2), S("float64"));
  dt = ok("tensor_dtype", 1, d);
  CHECK_STR(dt.u.str.s, "float64");
  lt_value_clear(&dt);
  lt_value_clear(&d);

  /* seeded random numbers repeat */
  int64_t s5[1] = {5};
  lt_value_clear(&(lt_value){0});
  ok("torch_manual_seed", 1, lt_int(123));
  lt_value r1 = ok("tensor_randn", 1, I64S(s5, 1));
  ok("torch_manual_seed", 1, lt_int(123));
  lt_value r2 = ok("tensor_randn", 1, I64S(s5, 1));
  double a[5], b[5];
  values_of(r1, a, 5);
  values_of(r2, b, 5);
  CHECK(memcmp(a, b, sizeof a) == 0);
  lt_value_clear(&r1);
  lt_value_clear(&r2);

  lt_value u = ok("tensor_rand", 1, I64S(s5, 1));
  values_of(u, a, 5);
  for (int i = 0; i < 5; i++) CHECK(a[i] >= 0 && a[i] < 1);
  lt_value_clear(&u);

  lt_value ri = ok("tensor_randint", 3, lt_int(3), lt_int(6), I64S(s5, 1));
  values_of(ri, a, 5);
  for (int i = 0; i < 5; i++) CHECK(a[i] >= 3 && a[i] < 6 && a[i] == floor(a[i]));
  lt_value_clear(&ri);
  fails("tensor_randint", "high", 3, lt_int(3), lt_int(3), I64S(s5, 1));

  lt_value ar = ok("tensor_arange", 3, lt_int(0), lt_int(10), lt_int(3));
  CHECK(values_of(ar, a, 5) == 4 && a[0] == 0 && a[3] == 9);
  dt = ok("tensor_dtype", 1, ar);
  CHECK_STR(dt.u.str.s, "int64");
  lt_value_clear(&dt);
  lt_value_clear(&ar);
  ar = ok("tensor_arange", 3, lt_float(0), lt_int(1), lt_float(0.25));
  CHECK(values_of(ar, a, 5) == 4 && a[3] == 0.75);
  lt_value_clear(&ar);
  fails("tensor_arange", "step", 3, lt_int(0), lt_int(10), lt_int(0));

  int64_t neg[2] = {2, -1};
  fails("tensor_zeros", "negative", 1, I64S(neg, 2));
  fails("tensor_zeros", "dtype", 2, I64S(shape, 2), S("float33"));
  fails("tensor_zeros", "device", 3, I64S(shape, 2), S("float32"), S("gpu7"));
}

static void test_info_and_grad(void) {
  float x[3] = {1, 2, 3};
  lt_value t = ok("tensor_create", 1, F32S(x, 3));
  lt_value rg = ok("tensor_requires_grad", 1, t);
  CHECK(rg.kind == LT_BOOL && rg.u.b == 0);
  lt_value same = ok("tensor_requires_grad", 2, t, lt_bool(1));
  CHECK(same.kind == LT_HANDLE && lts_requires_grad((lts_tensor *)same.u.h.ptr));
  lt_value g = ok("tensor_grad", 1, t);
  CHECK(g.kind == LT_NIL);
  lt_value det = ok("tensor_detach", 1, t);
  CHECK(!lts_requires_grad((lts_tensor *)det.u.h.ptr));
  lt_value cl = ok("tensor_clone", 1, t);
  CHECK(lts_data_ptr((lts_tensor *)cl.u.h.ptr) != lts_data_ptr((lts_tensor *)t.u.h.ptr));
  lt_value dev = ok("tensor_device", 1, t);
  CHECK_STR(dev.u.str.s, "cpu");
  lt_value conv = ok("tensor_to_dtype", 2, t, S("int32"));
  lt_value dt = ok("tensor_dtype", 1, conv);
  CHECK_STR(dt.u.str.s, "int32");
  lt_value lst = ok("tensor_to_list", 1, conv); /* int32 reads back as integers */
  CHECK(lst.kind == LT_BUFFER && lst.u.buf.dtype == LT_I64 && ((int64_t *)lst.u.buf.data)[2] == 3);
  lt_value back = ok("tensor_to_list", 1, t);
  CHECK(back.kind == LT_BUFFER && back.u.buf.dtype == LT_F32 && ((float *)back.u.buf.data)[1] == 2);
  fails("tensor_item", "exactly one element", 1, t);
  lt_value vals[] = {rg, same, g, det, cl, dev, conv, dt, lst, back, t};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) lt_value_clear(&vals[i]);
}

static void test_in_memory(void) {
  lt_value before = ok("tensor_in_memory", 0);
  int64_t s[1] = {3};
  lt_value t = ok("tensor_zeros", 1, I64S(s, 1));
  lt_value during = ok("tensor_in_memory", 0);
  CHECK(during.u.i == before.u.i + 1);
  lt_value_clear(&t);
  lt_value after = ok("tensor_in_memory", 0);
  CHECK(after.u.i == before.u.i);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  test_zero_copy();
  test_nested_and_scalars();
  test_fills();
  test_info_and_grad();
  test_in_memory();
  return test_summary("test_tensor_create");
}
