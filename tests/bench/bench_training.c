/* bench_training.c - training steps per second through the primitive table:
 * MLP 784-256-10 (batch 64, Adam) and a transformer block (d 128, 4 heads,
 * ffn 512, batch 8, seq 64, Adam, MSE). Prints "table <model> <steps/s>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lispe_torch.h"
#include "lt_shim.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static lt_value call(const char *name, int n, lt_value *args) {
  lt_value out;
  if (lt_call(lt_primitive_find(name), args, n, &out) != LT_OK) {
    fprintf(stderr, "%s\n", lt_last_error());
    exit(1);
  }
  return out;
}

static lt_value ints(int64_t *d, int n) {
  lt_value v;
  memset(&v, 0, sizeof v);
  v.kind = LT_BUFFER;
  v.u.buf.data = d;
  v.u.buf.len = n;
  v.u.buf.dtype = LT_I64;
  return v;
}

/* LT_BENCH_ONLY=mlp|block: that model alone (count_instructions.sh) */
static int want(const char *model) {
  const char *only = getenv("LT_BENCH_ONLY");
  return !only || !*only || strcmp(only, model) == 0;
}

static double train(lt_value model, lt_value x, lt_value y, int ce, int steps) {
  lt_value a[3] = {model, lt_float(1e-3), {0}};
  a[2].kind = LT_STRING;
  a[2].u.str.s = "adam";
  a[2].u.str.len = 4;
  lt_value opt = call("torch_optimizer", 3, a);
  /* steps in 10 rounds after 3 warm-up steps, the best round's rate (as
   * every runner): load comes in bursts and only ever slows a round down */
  int per = steps / 10 > 0 ? steps / 10 : 1;
  double rate = 0, t0 = 0;
  for (int s = 0, done = 0; s < 3 + 10 * per; s++) {
    if (s >= 3 && (s - 3) % per == 0) t0 = now();
    lt_value z = call("torch_optimizer_zero_grad", 1, &opt);
    lt_value fa[2] = {model, x};
    lt_value out = call("torch_forward", 2, fa);
    lt_value la[2] = {out, y};
    lt_value loss = call(ce ? "torch_cross_entropy" : "torch_mse_loss", 2, la);
    lt_value b = call("torch_backward", 1, &loss);
    lt_value st = call("torch_optimizer_step", 1, &opt);
    lt_value v[] = {z, out, loss, b, st};
    for (int i = 0; i < 5; i++) lt_value_clear(&v[i]);
    if (s >= 3 && ++done == per) {
      double r = per / (now() - t0);
      if (r > rate) rate = r;
      done = 0;
    }
  }
  lt_value_clear(&opt);
  return rate;
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 200;
  int threads = argc > 2 ? atoi(argv[2]) : 0;
  lt_init();
  if (threads > 0) lts_set_num_threads(threads);
  lts_manual_seed(0);
  int64_t d[3];
  lt_value a[3];
  a[0] = lt_int(784); a[1] = lt_int(256); a[2] = lt_int(10);
  lt_value mlp = call("torch_model", 3, a);
  d[0] = 64; d[1] = 784;
  a[0] = ints(d, 2);
  lt_value x = call("tensor_randn", 1, a);
  a[0] = lt_int(0); a[1] = lt_int(10); d[0] = 64; a[2] = ints(d, 1);
  lt_value y = call("tensor_randint", 3, a);
  if (want("mlp")) printf("table mlp %.1f\n", train(mlp, x, y, 1, steps));
  lt_value_clear(&x);
  lt_value_clear(&y);
  a[0] = lt_int(128); a[1] = lt_int(4); a[2] = lt_int(512);
  lt_value block = call("torch_transformer_block", 3, a);
  d[0] = 8; d[1] = 64; d[2] = 128;
  a[0] = ints(d, 3);
  x = call("tensor_randn", 1, a);
  y = call("tensor_randn", 1, a);
  if (want("block")) printf("table block %.1f\n", train(block, x, y, 0, steps / 4));
  lt_value v[] = {mlp, block, x, y};
  for (int i = 0; i < 4; i++) lt_value_clear(&v[i]);
  return 0;
}
