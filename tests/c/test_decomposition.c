/* test_decomposition.c - section 14: Tucker recovers a tensor of exact
 * multilinear rank, its factors are orthonormal, HOOI is no worse than the
 * HOSVD it starts from; reconstruction equals the einsum; compression ratio
 * and Khatri-Rao by hand; errors. */
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"
#include "lt_test.h"

static double rel_err(lt_value a, lt_value b) {
  static double va[4096], vb[4096];
  int64_t n = values_of(a, va, 4096);
  if (n <= 0 || n > 4096 || values_of(b, vb, 4096) != n) return 1e30;
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    num += (va[i] - vb[i]) * (va[i] - vb[i]);
    den += vb[i] * vb[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

static lt_value randn(int64_t a, int64_t b, int64_t c, int nd) {
  int64_t s[3] = {a, b, c};
  return keep(ok("tensor_randn", 2, I64S(s, nd), S("float64")));
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  lt_value r = ok("torch_manual_seed", 1, lt_int(11));
  lt_value_clear(&r);
  /* X = G ×1 A ×2 B ×3 C has multilinear rank (2, 3, 2) */
  lt_value G = randn(2, 3, 2, 3), A = randn(5, 2, 0, 2), B = randn(6, 3, 0, 2), C = randn(4, 2, 0, 2);
  lt_value X = keep(ok("torch_tucker_reconstruct", 2, G, keep(Lr(3, A, B, C))));
  lt_value E = keep(ok("tensor_einsum", 2, S("abc,ia,jb,kc->ijk"), keep(Lr(4, G, A, B, C))));
  CHECK(rel_err(X, E) <= 1e-12);
  int64_t ranks[3] = {2, 3, 2};
  lt_value res = ok("torch_tucker_decomposition", 2, X, I64S(ranks, 3));
  CHECK(res.kind == LT_LIST && res.u.list.n == 2 && res.u.list.items[1].kind == LT_LIST && res.u.list.items[1].u.list.n == 3);
  if (res.kind == LT_LIST && res.u.list.n == 2) {
    lt_value core = res.u.list.items[0], fs = res.u.list.items[1];
    lt_value back = keep(ok("torch_tucker_reconstruct", 2, core, fs));
    double e = rel_err(back, X);
    printf("Tucker of an exact rank-(2,3,2) tensor: relative error %.3g\n", e);
    CHECK(e <= 1e-10);
    for (int i = 0; i < 3; i++) {
      lt_value U = fs.u.list.items[i];
      lt_value UtU = keep(ok("tensor_matmul", 2, keep(ok("tensor_transpose", 3, U, lt_int(0), lt_int(1))), U));
      double v[9];
      int64_t k = ranks[i], nv = values_of(UtU, v, 9);
      double worst = nv == k * k ? 0 : 1;
      for (int64_t j = 0; j < nv && j < k * k; j++) worst = fmax(worst, fabs(v[j] - (j / k == j % k ? 1.0 : 0.0)));
      CHECK(worst <= 1e-10);
    }
    lt_value shape = keep(ok("tensor_shape", 1, core));
    CHECK(shape.kind == LT_BUFFER && memcmp(shape.u.buf.data, ranks, sizeof ranks) == 0);
  }
  lt_value_clear(&res);

  /* truncation of a random tensor: HOOI no worse than the HOSVD */
  lt_value Y = randn(6, 5, 4, 3);
  int64_t small[3] = {2, 2, 2};
  lt_value h0 = ok("torch_tucker_decomposition", 3, Y, I64S(small, 3), lt_int(0));
  lt_value h1 = ok("torch_tucker_decomposition", 3, Y, I64S(small, 3), lt_int(50));
  double e0 = rel_err(keep(ok("torch_tucker_reconstruct", 2, h0.u.list.items[0], h0.u.list.items[1])), Y);
  double e1 = rel_err(keep(ok("torch_tucker_reconstruct", 2, h1.u.list.items[0], h1.u.list.items[1])), Y);
  printf("rank-(2,2,2) of a random 6x5x4: HOSVD error %.6f, HOOI %.6f\n", e0, e1);
  CHECK(e1 <= e0 + 1e-12 && e1 > 0.1 && e1 < 1);
  lt_value_clear(&h0);
  lt_value_clear(&h1);
  /* float32 in, float32 out */
  int64_t s3[3] = {4, 4, 4};
  lt_value Z = keep(ok("tensor_randn", 1, I64S(s3, 3)));
  lt_value hz = ok("torch_tucker_decomposition", 2, Z, I64S(small, 3));
  lt_value dt = ok("tensor_dtype", 1, hz.u.list.items[0]);
  CHECK(dt.kind == LT_STRING && strcmp(dt.u.str.s, "float32") == 0);
  lt_value_clear(&dt);
  lt_value_clear(&hz);

  /* 120 values / (12 + 10 + 18 + 8) */
  int64_t os[3] = {5, 6, 4}, cs[3] = {2, 3, 2}, f1[2] = {5, 2}, f2[2] = {6, 3}, f3[2] = {4, 2};
  lt_value ratio = ok("torch_tucker_compression_ratio", 3, I64S(os, 3), I64S(cs, 3),
                      keep(L(3, I64S(f1, 2), I64S(f2, 2), I64S(f3, 2))));
  CHECK_NEAR(ratio.u.f, 2.5, 1e-12);

  /* Khatri-Rao by hand */
  float a[4] = {1, 2, 3, 4}, b[6] = {5, 6, 7, 8, 9, 10};
  int64_t as[2] = {2, 2}, bs[2] = {3, 2};
  lt_value ta = keep(ok("tensor_reshape", 2, keep(ok("tensor_create", 1, F32S(a, 4))), I64S(as, 2)));
  lt_value tb = keep(ok("tensor_reshape", 2, keep(ok("tensor_create", 1, F32S(b, 6))), I64S(bs, 2)));
  lt_value kr = keep(ok("torch_khatri_rao_product", 2, ta, tb));
  double want[12] = {5, 12, 7, 16, 9, 20, 15, 24, 21, 32, 27, 40}, got[12];
  CHECK(values_of(kr, got, 12) == 12);
  int same = 1;
  for (int i = 0; i < 12; i++) same &= got[i] == want[i];
  CHECK(same);

  fails("torch_tucker_decomposition", "one rank per dimension", 2, X, I64S(ranks, 2));
  int64_t big[3] = {2, 7, 2};
  fails("torch_tucker_decomposition", "must be in [1, 6]", 2, X, I64S(big, 3));
  fails("torch_tucker_decomposition", "floating point", 2, keep(ok("tensor_ones", 2, I64S(s3, 3), S("int64"))), I64S(small, 3));
  fails("torch_tucker_reconstruct", "needs as many factors", 2, G, keep(Lr(2, A, B)));
  fails("torch_khatri_rao_product", "same number of columns", 2, ta, keep(ok("tensor_ones", 1, I64S(as, 1))));
  int64_t zero[2] = {2, 0};
  fails("torch_tucker_compression_ratio", "positive sizes", 3, I64S(os, 3), I64S(zero, 2), keep(L(1, I64S(f1, 2))));
  return test_summary("test_decomposition");
}
