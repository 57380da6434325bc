/* bench_overhead.c - per-call cost of small ops through the primitive table
 * (argument checks + shim + result handle), and zero-copy creation cost.
 * Prints "table <op> <ns/call>" lines; run_bench.sh puts them beside the C++
 * floor and Python. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lispe_torch.h"
#include "lt_shim.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static lt_value buf(void *data, int64_t n, lt_dtype dt) {
  lt_value v;
  memset(&v, 0, sizeof v);
  v.kind = LT_BUFFER;
  v.u.buf.data = data;
  v.u.buf.len = n;
  v.u.buf.dtype = dt;
  return v;
}

static void *take_it(void *src, void (**release)(void *)) {
  *release = free;
  return src;
}

static double time_call(const lt_primitive *p, lt_value *args, int n, int iters) {
  lt_value out;
  for (int i = 0; i < iters / 10; i++) { lt_call(p, args, n, &out); lt_value_clear(&out); }
  double best = 1e300; /* best of 5 rounds, as the C++ floor */
  for (int round = 0; round < 5; round++) {
    double t0 = now_ns();
    for (int i = 0; i < iters; i++) {
      if (lt_call(p, args, n, &out) != LT_OK) { fprintf(stderr, "%s\n", lt_last_error()); exit(1); }
      lt_value_clear(&out);
    }
    double ns = (now_ns() - t0) / iters;
    if (ns < best) best = ns;
  }
  return best;
}

/* create from a fresh takeable buffer of n floats each time (malloc of a big
 * block is a lazy mmap: the cost measured is the hand-over, not the data) */
static double time_take(int64_t n, int iters) {
  const lt_primitive *create = lt_primitive_find("tensor_create");
  double total = 0;
  for (int i = 0; i < iters; i++) {
    float *d = (float *)malloc(sizeof(float) * (size_t)n);
    lt_value a = buf(d, n, LT_F32);
    a.u.buf.take = take_it;
    a.u.buf.src = d;
    lt_value out;
    double t0 = now_ns();
    lt_call(create, &a, 1, &out);
    total += now_ns() - t0;
    if (lts_data_ptr((lts_tensor *)out.u.h.ptr) != d) { fprintf(stderr, "copy happened\n"); exit(1); }
    lt_value_clear(&out); /* frees d through the deleter */
  }
  return total / iters;
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 200000;
  lt_init();
  lt_value one, m, a2[2];
  float x1 = 1.5f, m16[16];
  for (int i = 0; i < 16; i++) m16[i] = (float)i / 16;
  lt_value v1 = buf(&x1, 1, LT_F32);
  lt_call(lt_primitive_find("tensor_create"), &v1, 1, &one);
  int64_t s44[2] = {4, 4};
  lt_value flat, shape = buf(s44, 2, LT_I64), v16 = buf(m16, 16, LT_F32);
  lt_call(lt_primitive_find("tensor_create"), &v16, 1, &flat);
  lt_value rs[2] = {flat, shape};
  lt_call(lt_primitive_find("tensor_reshape"), rs, 2, &m);

  /* LT_BENCH_ONLY=<op>: that op alone, no zero-copy runs (count_instructions.sh) */
  const char *only = getenv("LT_BENCH_ONLY");
#define WANT(op) (!only || !*only || strcmp(only, op) == 0)
  a2[0] = one; a2[1] = one;
  if (WANT("add_1elem"))
    printf("table add_1elem %.0f\n", time_call(lt_primitive_find("tensor_add"), a2, 2, iters));
  a2[0] = m; a2[1] = m;
  if (WANT("matmul_4x4"))
    printf("table matmul_4x4 %.0f\n", time_call(lt_primitive_find("tensor_matmul"), a2, 2, iters));
  if (WANT("create_16"))
    printf("table create_16 %.0f\n", time_call(lt_primitive_find("tensor_create"), &v16, 1, iters));

  if (!only || !*only) {
    /* zero copy: hand-over cost does not grow with the size */
    printf("table take_10 %.0f\n", time_take(10, 2000));
    printf("table take_10M %.0f\n", time_take(10 * 1000 * 1000, 200));
    float *big = (float *)calloc(10 * 1000 * 1000, sizeof(float));
    lt_value shared = buf(big, 10 * 1000 * 1000, LT_F32); /* no take: copied */
    printf("table copy_10M %.0f\n", time_call(lt_primitive_find("tensor_create"), &shared, 1, 10));
    free(big);
  }
  lt_value_clear(&one);
  lt_value_clear(&flat);
  lt_value_clear(&m);
  return 0;
}
