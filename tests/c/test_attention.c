/* test_attention.c - section 7: torch_flash_attention* and
 * torch_scaled_dot_product_attention against plain softmax attention written
 * here with tensor primitives in float64 (softmax(q·kᵀ·scale + bias)·v, the
 * bias built in C from the mask semantics): outputs and gradients of q, k, v
 * (and of a float mask) within 1e-5 on float32 inputs, with no mask, causal
 * (Lq = Lk and Lq != Lk), key padding, int, float and 4-d masks, 3-d inputs,
 * lengths that are not multiples of the block size and rows with every key
 * masked; dropout (the kept weights, determinism, finite-difference
 * gradients); the flash module against multihead_attention with the same
 * weights; memory held by the flash path; errors naming the primitive. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

#define NEG (-1e30) /* "masked" in the reference: exp gives exactly 0 */

static lt_value H(lts_tensor *t) { return lt_handle_value(LT_H_TENSOR, t); }
static lts_tensor *TT(lt_value v) { return v.kind == LT_HANDLE ? (lts_tensor *)v.u.h.ptr : NULL; }
static void clr(lt_value *v) { lt_value_clear(v); }

static lt_value from_doubles(const double *d, const int64_t *dims, int nd, lt_dtype dt) {
  lts_tensor *t = NULL;
  if (lts_from_copy(d, LT_F64, dims, nd, dt, &t)) {
    fprintf(stderr, "from_copy: %s\n", lts_last_error());
    return lt_nil();
  }
  return H(t);
}

static lt_value randn(const int64_t *dims, int nd, const char *dtype) {
  return ok("tensor_randn", 2, I64S((int64_t *)dims, nd), S(dtype));
}

/* a fresh leaf holding base's values, requiring grad */
static lt_value leaf(lt_value base) {
  lt_value c = ok("tensor_detach", 1, base);
  lt_value d = ok("tensor_clone", 1, c);
  lt_value r = ok("tensor_requires_grad", 2, d, lt_bool(1));
  clr(&c);
  clr(&d);
  return r;
}

static int64_t numel(lt_value t) { return t.kind == LT_HANDLE ? lts_numel((lts_tensor *)t.u.h.ptr) : 0; }

/* max |a - b| over all values, and max |b| */
static double max_diff(lt_value a, lt_value b, double *bmax) {
  int64_t n = numel(b);
  if (a.kind != LT_HANDLE || b.kind != LT_HANDLE || numel(a) != n) {
    if (bmax) *bmax = 0;
    return INFINITY;
  }
  double *x = malloc(sizeof(double) * (size_t)(n ? n : 1)), *y = malloc(sizeof(double) * (size_t)(n ? n : 1));
  values_of(a, x, n);
  values_of(b, y, n);
  double m = 0, mb = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs(x[i] - y[i]);
    if (!(d <= m)) m = d; /* NaN wins */
    if (fabs(y[i]) > mb) mb = fabs(y[i]);
  }
  free(x);
  free(y);
  if (bmax) *bmax = mb;
  return m;
}

static double worst_out, worst_grad;

/* |got - want| <= tol·max(1, max|want|) */
static void check_close(const char *what, const char *path, lt_value got, lt_value want, double tol, int is_grad) {
  double bmax;
  double d = max_diff(got, want, &bmax);
  double lim = tol * (bmax > 1 ? bmax : 1);
  double rel = d / (bmax > 1 ? bmax : 1);
  if (is_grad) { if (rel > worst_grad || rel != rel) worst_grad = rel; }
  else if (rel > worst_out || rel != rel) worst_out = rel;
  if (d <= lim) lt_test_passed++;
  else {
    lt_test_failed++;
    fprintf(stderr, "%s [%s]: max diff %.3g (max |ref| %.3g)\n", what, path, d, bmax);
  }
}

/* ---- one case ---- */
enum { M_NONE, M_PAD, M_INT2D, M_FLOAT3D, M_BOOL4D, M_FLOAT_GRAD };

typedef struct {
  const char *name;
  int B, H, Lq, Lk, D, Dv;
  int three_d;   /* q k v as [B*H, L, D] */
  int mask;      /* M_* */
  int causal;
  int dead;      /* make some rows attend to no key */
  double scale;  /* 0: default */
  int qb, kb;    /* flash blocks (0: default) */
} Case;

static uint64_t rng = 88172645463325252ULL;
static double urand(void) { /* xorshift, deterministic */
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

typedef struct {
  lt_value out, g[4]; /* grads of q k v mask */
} Res;

static void res_clear(Res *r) {
  clr(&r->out);
  for (int i = 0; i < 4; i++) clr(&r->g[i]);
}

/* loss = sum(out * w); backward; read the grads of the leaves */
static void finish_run(lt_value out, lt_value w, lt_value *leaves, int nleaves, Res *r) {
  lt_value ow = ok("tensor_mul", 2, out, w);
  lt_value loss = ok("tensor_sum", 1, ow);
  lt_value b = ok("torch_backward", 1, loss);
  clr(&b);
  clr(&loss);
  clr(&ow);
  r->out = out;
  for (int i = 0; i < 4; i++) r->g[i] = i < nleaves && leaves[i].kind == LT_HANDLE ? ok("tensor_grad", 1, leaves[i]) : lt_nil();
}

static void run_case(const Case *c) {
  int B = c->B, Hh = c->H, Lq = c->Lq, Lk = c->Lk, D = c->D, Dv = c->Dv;
  int64_t dq4[4] = {B, Hh, Lq, D}, dk4[4] = {B, Hh, Lk, D}, dv4[4] = {B, Hh, Lk, Dv}, do4[4] = {B, Hh, Lq, Dv};
  int64_t dq3[3] = {B * Hh, Lq, D}, dk3[3] = {B * Hh, Lk, D}, dv3[3] = {B * Hh, Lk, Dv}, do3[3] = {B * Hh, Lq, Dv};
  int nd = c->three_d ? 3 : 4;
  lt_value q0 = randn(c->three_d ? dq3 : dq4, nd, "float32"), k0 = randn(c->three_d ? dk3 : dk4, nd, "float32"),
           v0 = randn(c->three_d ? dv3 : dv4, nd, "float32"), w = randn(c->three_d ? do3 : do4, nd, "float32");
  double scale = c->scale > 0 ? c->scale : 1 / sqrt((double)D);

  /* the user's mask and the reference bias [B, H, Lq, Lk] (+ alive rows) */
  size_t full = (size_t)B * Hh * Lq * Lk;
  double *bias = calloc(full, sizeof(double)), *alive = calloc((size_t)B * Hh * Lq, sizeof(double));
  double *um = NULL;
  int64_t mdims[4];
  int mnd = 0;
  lt_dtype mdt = LT_F32;
  switch (c->mask) {
  case M_PAD: mnd = 2; mdims[0] = B; mdims[1] = Lk; mdt = LT_BOOL8; break;
  case M_INT2D: mnd = 2; mdims[0] = Lq; mdims[1] = Lk; mdt = LT_I64; break;
  case M_FLOAT3D: mnd = 3; mdims[0] = B; mdims[1] = Lq; mdims[2] = Lk; mdt = LT_F32; break;
  case M_BOOL4D: mnd = 4; mdims[0] = B; mdims[1] = Hh; mdims[2] = Lq; mdims[3] = Lk; mdt = LT_BOOL8; break;
  case M_FLOAT_GRAD: mnd = 4; mdims[0] = 1; mdims[1] = Hh; mdims[2] = Lq; mdims[3] = Lk; mdt = LT_F32; break;
  default: break;
  }
  int64_t mn = 1;
  for (int i = 0; i < mnd; i++) mn *= mdims[i];
  if (mnd) {
    um = malloc(sizeof(double) * (size_t)mn);
    for (int64_t i = 0; i < mn; i++) {
      switch (c->mask) {
      case M_PAD: { int b = (int)(i / Lk), j = (int)(i % Lk); um[i] = j < Lk - 1 - 3 * b; break; }
      case M_INT2D: case M_BOOL4D: um[i] = urand() < 0.7; break;
      case M_FLOAT3D: um[i] = urand() < 0.2 ? -INFINITY : 2 * urand() - 1; break;
      default: um[i] = 2 * urand() - 1; break;
      }
    }
    if (c->dead) { /* every key masked for some rows */
      if (c->mask == M_PAD) for (int j = 0; j < Lk; j++) um[(size_t)(B - 1) * Lk + j] = 0;
      if (c->mask == M_INT2D) for (int j = 0; j < Lk; j++) um[(size_t)1 * Lk + j] = 0;
      if (c->mask == M_FLOAT3D) for (int j = 0; j < Lk; j++) um[(size_t)2 * Lk + j] = -INFINITY;
      if (c->mask == M_BOOL4D) for (int j = 0; j < Lk; j++) um[((size_t)Hh + 1) * Lq * Lk + (size_t)3 * Lk + j] = 0;
    }
  }
  for (int b = 0; b < B; b++)
    for (int h = 0; h < Hh; h++)
      for (int i = 0; i < Lq; i++) {
        int any = 0;
        for (int j = 0; j < Lk; j++) {
          int keep = 1;
          double add = 0;
          if (c->causal && j > i + (Lk - Lq)) keep = 0;
          switch (c->mask) {
          case M_PAD: keep &= um[(size_t)b * Lk + j] != 0; break;
          case M_INT2D: keep &= um[(size_t)i * Lk + j] != 0; break;
          case M_FLOAT3D: add = um[((size_t)b * Lq + i) * Lk + j]; if (isinf(add)) keep = 0; break;
          case M_BOOL4D: keep &= um[(((size_t)b * Hh + h) * Lq + i) * Lk + j] != 0; break;
          default: break; /* M_FLOAT_GRAD: the leaf itself is added below */
          }
          if (c->mask == M_FLOAT_GRAD) add = 0;
          bias[(((size_t)b * Hh + h) * Lq + i) * Lk + j] = keep ? add : NEG;
          any |= keep;
        }
        alive[((size_t)b * Hh + h) * Lq + i] = any;
      }
  int64_t bd4[4] = {B, Hh, Lq, Lk}, ad4[4] = {B, Hh, Lq, 1}, bd3[3] = {B * Hh, Lq, Lk}, ad3[3] = {B * Hh, Lq, 1};
  lt_value biasT = from_doubles(bias, c->three_d ? bd3 : bd4, nd, LT_F64);
  lt_value aliveT = from_doubles(alive, c->three_d ? ad3 : ad4, nd, LT_F64);
  lt_value mask0 = mnd ? from_doubles(um, mdims, mnd, mdt) : lt_nil();

  lts_flash_set_blocks(c->qb, c->kb);
  Res r[3]; /* reference, flash, sdpa */
  const char *paths[3] = {"reference", "flash", "sdpa"};
  for (int path = 0; path < 3; path++) {
    lt_value L_[4] = {leaf(q0), leaf(k0), leaf(v0), c->mask == M_FLOAT_GRAD ? leaf(mask0) : lt_nil()};
    lt_value maskv = c->mask == M_FLOAT_GRAD ? L_[3] : mask0;
    lt_value out;
    if (path == 0) {
      lt_value q = ok("tensor_to_dtype", 2, L_[0], S("float64")), k = ok("tensor_to_dtype", 2, L_[1], S("float64")),
               v = ok("tensor_to_dtype", 2, L_[2], S("float64"));
      lt_value kt = ok("tensor_transpose", 3, k, lt_int(-2), lt_int(-1));
      lt_value s = ok("tensor_matmul", 2, q, kt);
      lt_value s2 = ok("tensor_mul_scalar", 2, s, lt_float(scale));
      lt_value s3 = ok("tensor_add", 2, s2, biasT);
      lt_value s4 = lt_nil();
      if (c->mask == M_FLOAT_GRAD) {
        lt_value m64 = ok("tensor_to_dtype", 2, L_[3], S("float64"));
        s4 = ok("tensor_add", 2, s3, m64);
        clr(&m64);
      }
      lt_value p = ok("tensor_softmax", 2, s4.kind == LT_NIL ? s3 : s4, lt_int(-1));
      lt_value o = ok("tensor_matmul", 2, p, v);
      out = ok("tensor_mul", 2, o, aliveT);
      lt_value w64 = ok("tensor_to_dtype", 2, w, S("float64"));
      finish_run(out, w64, L_, 4, &r[0]);
      clr(&w64);
      lt_value tmp[] = {q, k, v, kt, s, s2, s3, s4, p, o};
      for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) clr(&tmp[i]);
    } else if (path == 1) {
      if (c->causal && mnd) { /* no primitive takes both: the shim directly */
        lts_tensor *t = NULL;
        int rc = lts_flash_attention(TT(L_[0]), TT(L_[1]), TT(L_[2]),
                                     TT(maskv), scale, 1, 1, 0.0, &t);
        if (rc) { lt_test_failed++; fprintf(stderr, "%s: flash: %s\n", c->name, lts_last_error()); }
        out = rc ? lt_nil() : H(t);
      } else if (mnd) {
        out = ok("torch_flash_attention_masked", 5, L_[0], L_[1], L_[2], lt_float(scale), maskv);
      } else if (c->scale > 0) {
        out = ok("torch_flash_attention", 5, L_[0], L_[1], L_[2], lt_float(c->scale), lt_bool(c->causal));
      } else {
        out = ok("torch_flash_attention", 5, L_[0], L_[1], L_[2], lt_nil(), lt_bool(c->causal));
      }
      finish_run(out, w, L_, 4, &r[1]);
    } else {
      out = ok("torch_scaled_dot_product_attention", 7, L_[0], L_[1], L_[2], maskv, lt_nil(), lt_bool(c->causal),
               c->scale > 0 ? lt_float(c->scale) : lt_nil());
      finish_run(out, w, L_, 4, &r[2]);
    }
    for (int i = 0; i < 4; i++) clr(&L_[i]);
  }
  lts_flash_set_blocks(0, 0);
  static const char *gn[4] = {"grad q", "grad k", "grad v", "grad mask"};
  for (int path = 1; path < 3; path++) {
    char what[160];
    snprintf(what, sizeof what, "%s: output", c->name);
    check_close(what, paths[path], r[path].out, r[0].out, 1e-5, 0);
    for (int i = 0; i < (c->mask == M_FLOAT_GRAD ? 4 : 3); i++) {
      snprintf(what, sizeof what, "%s: %s", c->name, gn[i]);
      check_close(what, paths[path], r[path].g[i], r[0].g[i], 1e-5, 1);
    }
  }
  /* dead rows are exactly zero */
  if (c->dead || (c->causal && Lq > Lk)) {
    int64_t n = numel(r[1].out);
    double *o = malloc(sizeof(double) * (size_t)n);
    values_of(r[1].out, o, n);
    int zeros = 1, seen = 0;
    for (int64_t row = 0; row < (int64_t)B * Hh * Lq; row++)
      if (!alive[row]) {
        seen++;
        for (int d = 0; d < Dv; d++) zeros &= o[row * Dv + d] == 0.0;
      }
    CHECK(seen > 0 && zeros);
    free(o);
  }
  for (int i = 0; i < 3; i++) res_clear(&r[i]);
  clr(&q0); clr(&k0); clr(&v0); clr(&w); clr(&biasT); clr(&aliveT); clr(&mask0);
  free(bias); free(alive); free(um);
}

static void test_cases(void) {
  const Case cases[] = {
      /* name, B, H, Lq, Lk, D, Dv, 3d, mask, causal, dead, scale, qb, kb */
      {"no mask", 2, 3, 37, 53, 16, 16, 0, M_NONE, 0, 0, 0, 16, 16},
      {"no mask, one block", 2, 2, 9, 11, 8, 8, 0, M_NONE, 0, 0, 0, 0, 0},
      {"no mask, scale 0.3, Dv != D", 1, 2, 40, 29, 12, 20, 0, M_NONE, 0, 0, 0.3, 7, 5},
      {"causal Lq = Lk", 2, 2, 50, 50, 16, 16, 0, M_NONE, 1, 0, 0, 16, 8},
      {"causal Lq < Lk", 2, 2, 21, 50, 16, 16, 0, M_NONE, 1, 0, 0, 8, 16},
      {"causal Lq > Lk (dead rows)", 1, 2, 45, 30, 8, 8, 0, M_NONE, 1, 0, 0, 16, 16},
      {"key padding [B Lk]", 3, 2, 33, 41, 16, 16, 0, M_PAD, 0, 0, 0, 16, 16},
      {"key padding, a batch fully padded", 3, 2, 33, 41, 16, 16, 0, M_PAD, 0, 1, 0, 16, 16},
      {"int mask [Lq Lk] with a dead row", 2, 2, 30, 45, 16, 16, 0, M_INT2D, 0, 1, 0, 16, 16},
      {"float mask [B Lq Lk] with -inf", 2, 3, 31, 47, 16, 16, 0, M_FLOAT3D, 0, 1, 0, 16, 16},
      {"bool mask [B H Lq Lk]", 2, 3, 25, 25, 8, 8, 0, M_BOOL4D, 0, 1, 0, 8, 8},
      {"bool mask + causal", 2, 3, 25, 40, 8, 8, 0, M_BOOL4D, 1, 0, 0, 8, 16},
      {"float mask requiring grad [1 H Lq Lk]", 2, 3, 29, 35, 8, 8, 0, M_FLOAT_GRAD, 0, 0, 0, 16, 16},
      {"float mask requiring grad + causal", 2, 2, 35, 35, 8, 8, 0, M_FLOAT_GRAD, 1, 0, 0, 16, 8},
      {"3-d [B*H L D]", 6, 1, 27, 39, 16, 16, 1, M_NONE, 0, 0, 0, 16, 16},
      {"3-d causal with key padding", 4, 1, 30, 30, 16, 16, 1, M_PAD, 1, 0, 0, 16, 16},
      {"default blocks, L 300 causal", 1, 2, 300, 300, 32, 32, 0, M_NONE, 1, 0, 0, 0, 0},
      {"default blocks, L 300 padding", 2, 2, 300, 270, 32, 32, 0, M_PAD, 0, 0, 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i]);
}

/* ---- dropout ---- */
static lts_tensor *sum_prod(lts_tensor *out, lts_tensor *w) {
  lts_tensor *m = NULL, *s = NULL;
  lts_binary(LTS_B_MUL, out, w, &m);
  lts_reduce(LTS_R_SUM, m, 0, 0, 0, &s);
  lts_tensor_free(m);
  return s;
}

static lts_tensor *fill(lts_fill_kind k, const int64_t *d, int nd, lt_dtype dt) {
  lts_tensor *t = NULL;
  lts_fill(k, d, nd, 0, dt, NULL, &t);
  return t;
}

/* with v = identity, the output is the dropped-out weights themselves:
 * every entry is 0 or P/(1-p); the same seed gives the same masks */
static void test_dropout_weights(void) {
  const int Lq = 20, Lk = 40, D = 8;
  const double p = 0.3;
  int64_t dq[4] = {1, 2, Lq, D}, dk[4] = {1, 2, Lk, D}, dv[4] = {1, 2, Lk, Lk};
  lts_tensor *q = fill(LTS_FILL_RANDN, dq, 4, LT_F64), *k = fill(LTS_FILL_RANDN, dk, 4, LT_F64);
  double *eye = calloc((size_t)2 * Lk * Lk, sizeof(double));
  for (int h = 0; h < 2; h++)
    for (int i = 0; i < Lk; i++) eye[((size_t)h * Lk + i) * Lk + i] = 1;
  lts_tensor *v = NULL;
  lts_from_copy(eye, LT_F64, dv, 4, LT_F64, &v);
  lts_flash_set_blocks(8, 16);
  lts_tensor *P = NULL, *o1 = NULL, *o2 = NULL, *o3 = NULL;
  CHECK(lts_flash_attention(q, k, v, NULL, 0, 0, 0, 0.0, &P) == 0);
  lts_manual_seed(7);
  CHECK(lts_flash_attention(q, k, v, NULL, 0, 0, 0, p, &o1) == 0);
  lts_manual_seed(7);
  CHECK(lts_flash_attention(q, k, v, NULL, 0, 0, 0, p, &o2) == 0);
  CHECK(lts_flash_attention(q, k, v, NULL, 0, 0, 0, p, &o3) == 0);
  size_t n = (size_t)2 * Lq * Lk;
  double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)), *c = malloc(n * sizeof(double)),
         *d = malloc(n * sizeof(double));
  values_of(H(P), a, (int64_t)n);
  values_of(H(o1), b, (int64_t)n);
  values_of(H(o2), c, (int64_t)n);
  values_of(H(o3), d, (int64_t)n);
  int good = 1, same = 1, differs = 0;
  size_t dropped = 0;
  for (size_t i = 0; i < n; i++) {
    if (b[i] == 0) dropped++;
    else good &= fabs(b[i] - a[i] / (1 - p)) <= 1e-12;
    same &= b[i] == c[i];
    differs |= b[i] != d[i];
  }
  double frac = (double)dropped / (double)n;
  printf("dropout p=%.1f: %.3f of the weights dropped\n", p, frac);
  CHECK(good);
  CHECK(frac > 0.25 && frac < 0.35);
  CHECK(same);
  CHECK(differs);
  lts_flash_set_blocks(0, 0);
  free(a); free(b); free(c); free(d); free(eye);
  lts_tensor *all[] = {q, k, v, P, o1, o2, o3};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lts_tensor_free(all[i]);
}

/* gradients with dropout (and causal + a float mask) against central
 * differences in float64: each evaluation reseeds, so draws the same masks */
static void test_dropout_gradcheck(void) {
  const int Lq = 13, Lk = 17, D = 4, Dv = 5;
  int64_t dq[4] = {1, 2, Lq, D}, dk[4] = {1, 2, Lk, D}, dv[4] = {1, 2, Lk, Dv}, dw[4] = {1, 2, Lq, Dv}, dm[2] = {Lq, Lk};
  lts_tensor *x[4] = {fill(LTS_FILL_RANDN, dq, 4, LT_F64), fill(LTS_FILL_RANDN, dk, 4, LT_F64),
                      fill(LTS_FILL_RANDN, dv, 4, LT_F64), fill(LTS_FILL_RANDN, dm, 2, LT_F64)};
  lts_tensor *w = fill(LTS_FILL_RANDN, dw, 4, LT_F64);
  for (int i = 0; i < 4; i++) lts_set_requires_grad(x[i], 1);
  lts_flash_set_blocks(4, 8);
  lts_manual_seed(11);
  lts_tensor *out = NULL, *g[4];
  int rc = lts_flash_attention(x[0], x[1], x[2], x[3], 0.7, 1, 1, 0.25, &out);
  CHECK(rc == 0);
  if (rc) { fprintf(stderr, "%s\n", lts_last_error()); return; }
  lts_tensor *loss = sum_prod(out, w);
  CHECK(lts_backward(loss, 0, 0) == 0);
  for (int i = 0; i < 4; i++) lts_grad(x[i], &g[i]);
  lts_tensor_free(loss);
  lts_tensor_free(out);
  lts_set_grad_enabled(0);
  const double eps = 1e-6;
  double worst = 0;
  int bad = 0;
  for (int i = 0; i < 4; i++) {
    double *data = (double *)lts_data_ptr(x[i]);
    int64_t n = lts_numel(x[i]);
    double *gv = malloc(sizeof(double) * (size_t)n);
    values_of(H(g[i]), gv, n);
    for (int64_t e = 0; e < n; e += (n / 9) + 1) {
      double keep = data[e], f[2];
      for (int s = 0; s < 2; s++) {
        data[e] = keep + (s ? -eps : eps);
        lts_manual_seed(11);
        lts_tensor *o = NULL;
        lts_flash_attention(x[0], x[1], x[2], x[3], 0.7, 1, 1, 0.25, &o);
        lts_tensor *l = sum_prod(o, w);
        lts_item_double(l, &f[s]);
        lts_tensor_free(l);
        lts_tensor_free(o);
      }
      data[e] = keep;
      double num = (f[0] - f[1]) / (2 * eps), err = fabs(num - gv[e]) / (1 + fabs(num));
      if (err > worst) worst = err;
      if (err > 1e-6) {
        bad++;
        fprintf(stderr, "dropout gradcheck: input %d entry %lld: analytic %.9g numeric %.9g\n", i, (long long)e, gv[e], num);
      }
    }
    free(gv);
    lts_tensor_free(g[i]);
  }
  lts_set_grad_enabled(1);
  printf("dropout gradcheck (float64, causal, float mask, p=0.25): worst relative error %.2g\n", worst);
  CHECK(bad == 0);
  lts_flash_set_blocks(0, 0);
  for (int i = 0; i < 4; i++) lts_tensor_free(x[i]);
  lts_tensor_free(w);
}

/* ---- the module ---- */
static void copy_state(lt_value from, lt_value to) {
  char **names;
  lts_tensor **ts;
  int64_t n;
  CHECK(lts_module_state((lts_module *)from.u.h.ptr, &names, &ts, &n) == 0);
  int rc = lts_module_load_state((lts_module *)to.u.h.ptr, names, ts, n);
  if (rc) fprintf(stderr, "load_state: %s\n", lts_last_error());
  CHECK(rc == 0);
  for (int64_t i = 0; i < n; i++) {
    free(names[i]);
    lts_tensor_free(ts[i]);
  }
  free(names);
  free(ts);
}

/* outputs and parameter gradients of two modules on the same loss */
static void same_module_grads(const char *what, lt_value m1, lt_value o1, lt_value m2, lt_value o2, lt_value w) {
  lt_value os[2] = {o1, o2}, ms[2] = {m1, m2}, ps[2];
  check_close(what, "output", o2, o1, 1e-5, 0);
  for (int i = 0; i < 2; i++) {
    lt_value ow = ok("tensor_mul", 2, os[i], w), loss = ok("tensor_sum", 1, ow), b = ok("torch_backward", 1, loss);
    clr(&b); clr(&loss); clr(&ow);
    ps[i] = ok("torch_module_parameters", 1, ms[i]);
  }
  CHECK(ps[0].kind == LT_LIST && ps[1].kind == LT_LIST && ps[0].u.list.n == ps[1].u.list.n);
  for (int64_t j = 0; ps[0].kind == LT_LIST && j < ps[0].u.list.n && j < ps[1].u.list.n; j++) {
    lt_value g1 = ok("tensor_grad", 1, ps[0].u.list.items[j]), g2 = ok("tensor_grad", 1, ps[1].u.list.items[j]);
    char w2[160];
    snprintf(w2, sizeof w2, "%s: parameter %lld", what, (long long)j);
    check_close(w2, "grad", g2, g1, 1e-5, 1);
    clr(&g1); clr(&g2);
  }
  clr(&ps[0]); clr(&ps[1]);
}

static void seed(int64_t n) {
  lt_value s = ok("torch_manual_seed", 1, lt_int(n));
  clr(&s);
}

static void zero_grads(lt_value m) {
  lt_value o = ok("torch_optimizer", 3, m, lt_float(0.1), S("sgd"));
  lt_value z = ok("torch_optimizer_zero_grad", 1, o);
  clr(&z);
  clr(&o);
}

static void test_module(void) {
  lt_value fa = ok("torch_flash_attention_create", 2, lt_int(16), lt_int(4));
  lt_value mha = ok("torch_multihead_attention", 2, lt_int(16), lt_int(4));
  copy_state(mha, fa);
  char desc[128];
  lts_module_describe((lts_module *)fa.u.h.ptr, desc, sizeof desc);
  CHECK_STR(desc, "flash_attention(embed=16, heads=4, dropout=0, bias=True)");
  int64_t dx[3] = {2, 19, 16}, dkv[3] = {2, 23, 16}, dw[3] = {2, 19, 16};
  lts_flash_set_blocks(8, 8);
  lt_value x = randn(dx, 3, "float32"), kv = randn(dkv, 3, "float32"), w = randn(dw, 3, "float32");
  /* cross attention */
  lt_value a = ok("torch_attention_forward", 4, mha, x, kv, kv), b = ok("torch_flash_attention_forward", 4, fa, x, kv, kv);
  same_module_grads("module cross attention", mha, a, fa, b, w);
  clr(&a); clr(&b);
  zero_grads(mha); zero_grads(fa);
  /* with a key padding mask */
  uint8_t pad[2 * 23];
  for (int i = 0; i < 2 * 23; i++) pad[i] = (i % 23) < (i < 23 ? 23 : 17);
  int64_t dm[2] = {2, 23};
  lts_tensor *mt = NULL;
  lts_from_copy(pad, LT_BOOL8, dm, 2, LT_BOOL8, &mt);
  lt_value mask = H(mt);
  a = ok("torch_attention_forward", 5, mha, x, kv, kv, mask);
  b = ok("torch_flash_attention_with_mask", 5, fa, x, kv, kv, mask);
  same_module_grads("module with mask", mha, a, fa, b, w);
  clr(&a); clr(&b);
  zero_grads(mha); zero_grads(fa);
  /* self attention through torch_forward, and checkpointed */
  a = ok("torch_forward", 2, mha, x);
  b = ok("torch_forward", 2, fa, x);
  same_module_grads("module self attention", mha, a, fa, b, w);
  clr(&a); clr(&b);
  zero_grads(mha); zero_grads(fa);
  lt_value fc = ok("torch_flash_attention_create", 2, lt_int(16), lt_int(4));
  copy_state(mha, fc);
  a = ok("torch_forward", 2, fa, x);
  b = ok("torch_checkpoint_forward", 2, fc, x);
  same_module_grads("flash module checkpointed", fa, a, fc, b, w);
  clr(&a); clr(&b); clr(&fc);
  zero_grads(fa);
  /* unbatched [L E] */
  lt_value x0 = ok("tensor_select", 3, x, lt_int(0), lt_int(0));
  a = ok("torch_forward", 2, mha, x0);
  b = ok("torch_forward", 2, fa, x0);
  check_close("module unbatched", "output", b, a, 1e-5, 0);
  clr(&a); clr(&b); clr(&x0);
  /* dropout: off when not training, different when training, reproducible */
  a = ok("torch_flash_attention_forward", 4, fa, x, kv, kv);
  b = ok("torch_flash_attention_with_dropout", 6, fa, x, kv, kv, lt_float(0.5), lt_bool(0));
  check_close("with_dropout training=false", "output", b, a, 0, 0);
  clr(&b);
  seed(3);
  b = ok("torch_flash_attention_with_dropout", 6, fa, x, kv, kv, lt_float(0.5), lt_bool(1));
  CHECK(max_diff(b, a, NULL) > 1e-3);
  seed(3);
  lt_value c = ok("torch_flash_attention_with_dropout", 6, fa, x, kv, kv, lt_float(0.5), lt_bool(1));
  CHECK(max_diff(c, b, NULL) == 0);
  clr(&b); clr(&c);
  /* a module with dropout: eval mode equals mha, training mode does not */
  lt_value fd = ok("torch_flash_attention_create", 3, lt_int(16), lt_int(4), lt_float(0.2));
  copy_state(mha, fd);
  lt_value t = ok("torch_module_train", 2, fd, lt_bool(0));
  clr(&t);
  b = ok("torch_flash_attention_forward", 4, fd, x, kv, kv);
  check_close("dropout module in eval mode", "output", b, a, 1e-6, 0);
  clr(&b);
  t = ok("torch_module_train", 2, fd, lt_bool(1));
  clr(&t);
  b = ok("torch_flash_attention_forward", 4, fd, x, kv, kv);
  CHECK(max_diff(b, a, NULL) > 1e-3);
  clr(&b); clr(&a); clr(&fd);
  /* no bias; a device/dtype */
  lt_value nb = ok("torch_flash_attention_create", 4, lt_int(16), lt_int(2), lt_float(0), lt_bool(0));
  lt_value ps = ok("torch_module_parameters", 1, nb);
  CHECK(ps.kind == LT_LIST && ps.u.list.n == 4);
  clr(&ps);
  a = ok("torch_forward", 2, nb, x);
  clr(&a);
  lts_module_describe((lts_module *)nb.u.h.ptr, desc, sizeof desc);
  CHECK_STR(desc, "flash_attention(embed=16, heads=2, dropout=0, bias=False)");
  clr(&nb);
  lt_value f64 = ok("torch_flash_attention_create", 6, lt_int(8), lt_int(2), lt_nil(), lt_nil(), S("cpu"), S("float64"));
  ps = ok("torch_module_parameters", 1, f64);
  lt_value dt = ps.kind == LT_LIST ? ok("tensor_dtype", 1, ps.u.list.items[0]) : lt_nil();
  CHECK(dt.kind == LT_STRING && strncmp(dt.u.str.s, "float64", dt.u.str.len) == 0);
  clr(&dt); clr(&ps); clr(&f64);
  lts_flash_set_blocks(0, 0);
  clr(&mask); clr(&x); clr(&kv); clr(&w); clr(&fa); clr(&mha);
}

/* ---- memory held between forward and backward ---- */

/* mallinfo2 sees glibc's heap only: not under ASan (its own allocator) */

static void test_memory_held(void) {
  const int L = 2048, Hh = 2, D = 32;
  int64_t d[4] = {1, Hh, L, D};
  lt_value q = randn(d, 4, "float32"), k = randn(d, 4, "float32"), v = randn(d, 4, "float32");
  lt_value lq = leaf(q), lk = leaf(k), lv = leaf(v);
  int64_t out_bytes = (int64_t)Hh * L * D * 4;
  int64_t h0 = heap_in_use();
  lt_value o = ok("torch_flash_attention", 5, lq, lk, lv, lt_nil(), lt_bool(1));
  int64_t flash = heap_in_use() - h0 - out_bytes;
  clr(&o);
  h0 = heap_in_use();
  lt_value kt = ok("tensor_transpose", 3, lk, lt_int(-2), lt_int(-1));
  lt_value s = ok("tensor_matmul", 2, lq, kt);
  lt_value s2 = ok("tensor_mul_scalar", 2, s, lt_float(1 / sqrt((double)D)));
  lt_value p = ok("tensor_softmax", 2, s2, lt_int(-1));
  clr(&kt); clr(&s); clr(&s2);
  o = ok("tensor_matmul", 2, p, lv);
  clr(&p);
  int64_t plain = heap_in_use() - h0 - out_bytes;
  clr(&o);
  printf("held between forward and backward at L=%d, heads %d: flash %lld bytes, plain %lld bytes\n", L, Hh,
         (long long)flash, (long long)plain);
  if (heap_measurable()) {
    CHECK(flash < (int64_t)1 << 20);             /* O(L): the logsumexp, 16 KiB here */
    CHECK(plain >= (int64_t)Hh * L * L * 4);     /* at least one [L L] tensor */
  } else {
    printf("heap not measurable with mallinfo2 here (sanitizer allocator): memory checks skipped\n");
  }
  clr(&q); clr(&k); clr(&v); clr(&lq); clr(&lk); clr(&lv);
}

/* ---- errors ---- */
static void test_errors(void) {
  int64_t dq[4] = {2, 3, 5, 8}, dk8[4] = {2, 3, 6, 8}, dk4[4] = {2, 3, 6, 4}, dv7[4] = {2, 3, 7, 8}, d2[2] = {5, 8},
          dmb[2] = {3, 3}, dm4[4] = {3, 2, 5, 6}, dx[3] = {2, 5, 16}, dxb[3] = {2, 5, 12};
  lt_value q = randn(dq, 4, "float32"), k = randn(dk8, 4, "float32"), v = randn(dk8, 4, "float32");
  lt_value k4 = randn(dk4, 4, "float32"), v7 = randn(dv7, 4, "float32"), t2 = randn(d2, 2, "float32");
  lt_value k64 = randn(dk8, 4, "float64"), bad = randn(dmb, 2, "float32"), bad4 = randn(dm4, 4, "float32");
  lt_value qi = ok("tensor_ones", 2, I64S(dq, 4), S("int64")), ki = ok("tensor_ones", 2, I64S(dk8, 4), S("int64"));
  fails("torch_flash_attention", "head dimension", 3, q, k4, v);
  fails("torch_flash_attention", "sequence length", 3, q, k, v7);
  fails("torch_flash_attention", "[batch, heads, seq, head_dim]", 3, t2, t2, t2);
  fails("torch_flash_attention", "floating", 3, qi, ki, ki);
  fails("torch_flash_attention", "same dtype", 3, q, k64, v);
  fails("torch_flash_attention", "scale", 4, q, k, v, lt_float(-1));
  fails("torch_flash_attention_masked", "scale", 5, q, k, v, lt_float(0), bad);
  fails("torch_flash_attention_masked", "does not fit", 5, q, k, v, lt_float(0.5), bad);
  fails("torch_flash_attention_masked", "does not fit", 5, q, k, v, lt_float(0.5), bad4);
  fails("torch_scaled_dot_product_attention", "does not fit", 4, q, k, v, bad);
  fails("torch_scaled_dot_product_attention", "dropout_p", 5, q, k, v, lt_nil(), lt_float(1.0));
  fails("torch_scaled_dot_product_attention", "scale", 7, q, k, v, lt_nil(), lt_nil(), lt_nil(), lt_float(0));
  fails("torch_scaled_dot_product_attention", "head dimension", 3, q, k4, v);
  fails("torch_flash_attention_create", "multiple", 2, lt_int(10), lt_int(3));
  fails("torch_flash_attention_create", "heads", 2, lt_int(8), lt_int(0));
  fails("torch_flash_attention_create", "dropout", 3, lt_int(8), lt_int(2), lt_float(1.5));
  lt_value fa = ok("torch_flash_attention_create", 2, lt_int(16), lt_int(4));
  lt_value mha = ok("torch_multihead_attention", 2, lt_int(16), lt_int(4));
  lt_value x = randn(dx, 3, "float32"), xb = randn(dxb, 3, "float32");
  fails("torch_flash_attention_forward", "flash_attention module", 4, mha, x, x, x);
  fails("torch_flash_attention_forward", "[batch, seq, 16]", 4, fa, xb, xb, xb);
  fails("torch_flash_attention_with_mask", "does not fit", 5, fa, x, x, x, bad);
  fails("torch_flash_attention_with_dropout", "argument 5 (p)", 6, fa, x, x, x, lt_float(1.2), lt_bool(1));
  fails("torch_flash_attention_with_dropout", "flash_attention module", 6, mha, x, x, x, lt_float(0.1), lt_bool(1));
  lt_value all[] = {q, k, v, k4, v7, t2, k64, bad, bad4, qi, ki, fa, mha, x, xb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) clr(&all[i]);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  lt_value s = ok("torch_manual_seed", 1, lt_int(1234));
  clr(&s);
  int64_t live0 = lts_live_tensors();
  /* the flash path as it runs by default (libtorch's memory-efficient kernel
   * where >= 2.1 has one for the call), then always the chunked path */
  for (int fused = 1; fused >= 0; fused--) {
    lts_flash_set_fused(fused);
    worst_out = worst_grad = 0;
    test_cases();
    printf("flash (%s) and sdpa vs reference: worst output error %.2g, worst gradient error %.2g (relative to max(1, |ref|))\n",
           fused ? "default" : "chunked only", worst_out, worst_grad);
  }
  lts_flash_set_fused(1);
  test_dropout_weights();
  test_dropout_gradcheck();
  test_module();
  test_memory_held();
  test_errors();
  CHECK(lts_live_tensors() == live0);
  return test_summary("test_attention");
}
