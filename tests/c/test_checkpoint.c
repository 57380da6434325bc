/* test_checkpoint.c - activation checkpointing (torch_checkpoint_forward) on
 * deep stacks: the same outputs and the same gradients of every parameter
 * (and of the input) as the plain forward, and clearly less memory held
 * between forward and backward (the heap in use, glibc mallinfo2: libtorch's
 * CPU allocator uses malloc). Also a stack of flash attention modules with
 * dropout in training mode: the recomputation in backward must draw the same
 * dropout masks as the forward did. */
#include <malloc.h>
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

static void clr(lt_value *v) { lt_value_clear(v); }


/* mallinfo2 sees glibc's heap only: not under ASan (its own allocator) */

static int64_t numel(lt_value t) { return t.kind == LT_HANDLE ? lts_numel((lts_tensor *)t.u.h.ptr) : 0; }

static void seed(int64_t n) {
  lt_value s = ok("torch_manual_seed", 1, lt_int(n));
  clr(&s);
}

/* every gradient (parameters of each module, then the input) as one array */
typedef struct {
  double *v;
  int64_t n;
} Grads;

static void collect(lt_value *mods, int nmods, lt_value x, Grads *g) {
  int64_t cap = 1 << 20;
  g->v = malloc(sizeof(double) * (size_t)cap);
  g->n = 0;
  for (int m = 0; m <= nmods; m++) {
    lt_value ps = m < nmods ? ok("torch_module_parameters", 1, mods[m]) : L(1, x);
    for (int64_t j = 0; j < ps.u.list.n; j++) {
      lt_value gr = ok("tensor_grad", 1, ps.u.list.items[j]);
      int64_t n = numel(ps.u.list.items[j]);
      if (g->n + n > cap) {
        cap = 2 * (g->n + n);
        g->v = realloc(g->v, sizeof(double) * (size_t)cap);
      }
      if (gr.kind == LT_HANDLE) values_of(gr, g->v + g->n, n);
      else for (int64_t i = 0; i < n; i++) g->v[g->n + i] = NAN; /* no gradient: a failure */
      g->n += n;
      clr(&gr);
    }
    if (m < nmods) clr(&ps);
    else free(ps.u.list.items); /* borrowed x */
  }
}

static void zero_grads(lt_value *mods, int nmods, lt_value x) {
  for (int m = 0; m < nmods; m++) {
    lt_value o = ok("torch_optimizer", 3, mods[m], lt_float(0.1), S("sgd"));
    lt_value z = ok("torch_optimizer_zero_grad", 1, o);
    clr(&z);
    clr(&o);
  }
  lt_value l = L(1, x);
  lt_value o = ok("torch_optimizer", 3, l, lt_float(0.1), S("sgd"));
  lt_value z = ok("torch_optimizer_zero_grad", 1, o);
  clr(&z);
  clr(&o);
  free(l.u.list.items);
}

/* forward through the stack (checkpointed or not); returns the output and
 * the heap held by the forward (measured before backward) */
static lt_value run(lt_value *mods, int nmods, lt_value x, lt_value mask, int checkpoint, int64_t *held) {
  int64_t h0 = heap_in_use();
  lt_value h = ok("tensor_clone", 1, x); /* keeps x's autograd history */
  for (int m = 0; m < nmods; m++) {
    const char *fn = checkpoint ? "torch_checkpoint_forward" : "torch_forward";
    lt_value next = mask.kind == LT_NIL ? ok(fn, 2, mods[m], h) : ok(fn, 3, mods[m], h, mask);
    clr(&h);
    h = next;
  }
  *held = heap_in_use() - h0;
  return h;
}

static void backward(lt_value out, lt_value w) {
  lt_value ow = ok("tensor_mul", 2, out, w), loss = ok("tensor_sum", 1, ow), b = ok("torch_backward", 1, loss);
  clr(&b);
  clr(&loss);
  clr(&ow);
}

static double max_abs_diff(const double *a, const double *b, int64_t n, double *amax) {
  double m = 0, mx = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs(a[i] - b[i]);
    if (!(d <= m)) m = d;
    if (fabs(a[i]) > mx) mx = fabs(a[i]);
  }
  if (amax) *amax = mx;
  return m;
}

static double out_diff(lt_value a, lt_value b) {
  int64_t n = numel(a);
  if (n != numel(b) || n == 0) return INFINITY;
  double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
  values_of(a, x, n);
  values_of(b, y, n);
  double d = max_abs_diff(x, y, n, NULL);
  free(x);
  free(y);
  return d;
}

/* plain then checkpointed on the same modules and the same input */
static void compare(const char *name, lt_value *mods, int nmods, lt_value x, lt_value mask, lt_value w, int dropout_seed,
                    double min_ratio) {
  int64_t held[2];
  Grads g[2];
  lt_value out[2];
  for (int ck = 0; ck < 2; ck++) {
    if (dropout_seed) seed(dropout_seed);
    out[ck] = run(mods, nmods, x, mask, ck, &held[ck]);
    backward(out[ck], w);
    collect(mods, nmods, x, &g[ck]);
    zero_grads(mods, nmods, x);
  }
  double amax, gd = g[0].n == g[1].n ? max_abs_diff(g[0].v, g[1].v, g[0].n, &amax) : INFINITY;
  double od = out_diff(out[0], out[1]);
  printf("%s: %lld gradient values, max |diff| %.3g (max |grad| %.3g), outputs max |diff| %.3g\n", name,
         (long long)g[0].n, gd, amax, od);
  printf("%s: heap held between forward and backward: plain %.2f MiB, checkpointed %.2f MiB (%.1f%%)\n", name,
         held[0] / 1048576.0, held[1] / 1048576.0, 100.0 * (double)held[1] / (double)held[0]);
  CHECK(g[0].n > 0 && g[0].n == g[1].n);
  CHECK(gd <= 1e-6);
  CHECK(od <= 1e-6);
  if (min_ratio > 0 && heap_measurable()) CHECK((double)held[1] < min_ratio * (double)held[0]);
  else if (min_ratio > 0) printf("%s: heap not measurable with mallinfo2 here (sanitizer allocator): memory check skipped\n", name);
  for (int ck = 0; ck < 2; ck++) {
    free(g[ck].v);
    clr(&out[ck]);
  }
}

static lt_value leaf_randn(const int64_t *d, int nd) {
  lt_value t = ok("tensor_randn", 1, I64S((int64_t *)d, nd));
  lt_value r = ok("tensor_requires_grad", 2, t, lt_bool(1));
  clr(&t);
  return r;
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  seed(42);
  int64_t live0 = lts_live_tensors();

  /* 16 transformer blocks (embed 64, 4 heads, ffn 256) on [4, 128, 64], with
   * a key padding mask */
  enum { NB = 16 };
  lt_value blocks[NB];
  for (int i = 0; i < NB; i++) blocks[i] = ok("torch_transformer_block", 3, lt_int(64), lt_int(4), lt_int(256));
  int64_t dx[3] = {4, 128, 64}, dm[2] = {4, 128};
  lt_value x = leaf_randn(dx, 3), w = ok("tensor_randn", 1, I64S(dx, 3));
  uint8_t pad[4 * 128];
  for (int i = 0; i < 4 * 128; i++) pad[i] = (i % 128) < 128 - 16 * (i / 128);
  lts_tensor *mt = NULL;
  lts_from_copy(pad, LT_BOOL8, dm, 2, LT_BOOL8, &mt);
  lt_value mask = lt_handle_value(LT_H_TENSOR, mt);
  compare("16 transformer blocks", blocks, NB, x, lt_nil(), w, 0, 0.5);
  compare("16 transformer blocks, key padding mask", blocks, NB, x, mask, w, 0, 0.5);
  for (int i = 0; i < NB; i++) clr(&blocks[i]);
  clr(&x); clr(&w); clr(&mask);

  /* 24 MLPs (linear 128 -> 512, relu, linear 512 -> 128) on [256, 128] */
  enum { NM = 24 };
  lt_value mlps[NM];
  for (int i = 0; i < NM; i++) mlps[i] = ok("torch_model", 3, lt_int(128), lt_int(512), lt_int(128));
  int64_t dy[2] = {256, 128};
  x = leaf_randn(dy, 2);
  w = ok("tensor_randn", 1, I64S(dy, 2));
  compare("24 MLPs (linear, relu, linear)", mlps, NM, x, lt_nil(), w, 0, 0.5);
  for (int i = 0; i < NM; i++) clr(&mlps[i]);
  clr(&x); clr(&w);

  /* flash attention modules with dropout, in training mode */
  enum { NF = 4 };
  lt_value fl[NF];
  for (int i = 0; i < NF; i++) fl[i] = ok("torch_flash_attention_create", 3, lt_int(32), lt_int(4), lt_float(0.3));
  int64_t dz[3] = {2, 40, 32};
  x = leaf_randn(dz, 3);
  w = ok("tensor_randn", 1, I64S(dz, 3));
  compare("4 flash attention modules, dropout 0.3", fl, NF, x, lt_nil(), w, 77, 0);
  for (int i = 0; i < NF; i++) clr(&fl[i]);
  clr(&x); clr(&w);

  CHECK(lts_live_tensors() == live0);
  return test_summary("test_checkpoint");
}
