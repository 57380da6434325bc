/* test_training_golden.c - the same MLP and transformer block, trained from
 * the same weights and data as Python PyTorch (tests/data/train_golden.txt,
 * made by tests/tools/gen_training_golden.py), must give the same loss
 * trajectory within 1e-4 relative, for SGD (momentum, weight decay), Adam,
 * AdamW and SGD with a cosine schedule. */
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

#define MAXP 32

typedef struct {
  char kind[16], loss[8];
  int64_t dims[3];
  char *names[MAXP];
  lts_tensor *params[MAXP];
  int nparams;
  lts_tensor *x, *y;
} golden_model;

static double *read_values(char *s, int64_t *n) {
  int64_t cap = 1024;
  double *v = (double *)malloc(sizeof(double) * cap);
  *n = 0;
  char *end;
  for (;;) {
    double d = strtod(s, &end);
    if (end == s) break;
    if (*n == cap) v = (double *)realloc(v, sizeof(double) * (cap *= 2));
    v[(*n)++] = d;
    s = end;
  }
  return v;
}

/* "name d0 d1 : values" -> tensor of dtype dt */
static lts_tensor *read_tensor(char *spec, lt_dtype dt, char *name_out) {
  char *colon = strchr(spec, ':');
  *colon = 0;
  int64_t dims[8];
  int nd = 0;
  char *tok = strtok(spec, " ");
  if (name_out) { strcpy(name_out, tok); tok = strtok(NULL, " "); }
  for (; tok; tok = strtok(NULL, " "))
    if (strcmp(tok, "-") != 0) dims[nd++] = strtoll(tok, NULL, 10);
  int64_t n;
  double *v = read_values(colon + 1, &n);
  lts_tensor *t = NULL;
  lts_from_copy(v, LT_F64, dims, nd, dt, &t);
  free(v);
  return t;
}

static lt_value make_model(golden_model *g) {
  lt_value m = strcmp(g->kind, "mlp") == 0
                   ? ok("torch_model", 3, lt_int(g->dims[0]), lt_int(g->dims[1]), lt_int(g->dims[2]))
                   : ok("torch_transformer_block", 3, lt_int(g->dims[0]), lt_int(g->dims[1]), lt_int(g->dims[2]));
  CHECK(lts_module_load_state((lts_module *)m.u.h.ptr, g->names, g->params, g->nparams) == 0);
  return m;
}

static double opt_arg(const char *opts, const char *key, double dflt) {
  char pat[64];
  snprintf(pat, sizeof pat, "%s=", key);
  const char *p = strstr(opts, pat);
  return p ? strtod(p + strlen(pat), NULL) : dflt;
}

static void run(golden_model *g, char *line) {
  char *colon = strchr(line, ':');
  *colon = 0;
  char opt_name[16];
  sscanf(line + 4, "%15s", opt_name);
  const char *opts = line + 4;
  int64_t nsteps;
  double *want = read_values(colon + 1, &nsteps);
  lt_value model = make_model(g);
  double lr = opt_arg(opts, "lr", 0.01), wd = opt_arg(opts, "weight_decay", -1);
  lt_value opt;
  if (strcmp(opt_name, "sgd") == 0)
    opt = ok("torch_sgd_optimizer", 3, lt_float(lr), lt_float(opt_arg(opts, "momentum", 0)), lt_float(wd < 0 ? 0 : wd));
  else if (strcmp(opt_name, "adam") == 0)
    opt = ok("torch_adam_optimizer", 1, lt_float(lr));
  else
    opt = ok("torch_adamw_optimizer", 2, lt_float(lr), lt_float(wd < 0 ? 0.01 : wd));
  lt_value count = ok("torch_optimizer_add_params", 2, opt, model);
  CHECK(count.kind == LT_INT && count.u.i == g->nparams);
  lt_value sched = lt_nil();
  if (strstr(opts, "schedule=cosine")) {
    lt_value cfg = lt_dict_new(4);
    lt_dict_put(&cfg, "total_steps", lt_int((int64_t)opt_arg(opts, "total_steps", 20)));
    lt_dict_put(&cfg, "min_lr", lt_float(opt_arg(opts, "min_lr", 0)));
    sched = ok("torch_lr_scheduler", 3, opt, S("cosine"), cfg);
    lt_value_clear(&cfg);
  }
  lt_value x = lt_handle_value(LT_H_TENSOR, g->x), y = lt_handle_value(LT_H_TENSOR, g->y);
  double worst = 0;
  for (int64_t s = 0; s < nsteps; s++) {
    lt_value z = ok("torch_optimizer_zero_grad", 1, opt);
    lt_value out = ok("torch_forward", 2, model, x);
    lt_value loss = strcmp(g->loss, "ce") == 0 ? ok("torch_cross_entropy", 2, out, y) : ok("torch_mse_loss", 2, out, y);
    lt_value b = ok("torch_backward", 1, loss);
    lt_value st = ok("torch_optimizer_step", 1, opt);
    if (sched.kind != LT_NIL) {
      lt_value r = ok("torch_scheduler_step", 1, sched);
      lt_value_clear(&r);
    }
    double got = num_of(loss), rel = fabs(got - want[s]) / fabs(want[s]);
    if (rel > worst) worst = rel;
    if (rel > 1e-4) {
      lt_test_failed++;
      fprintf(stderr, "%s %s step %lld: loss %.9g, PyTorch %.9g\n", g->kind, opts, (long long)s + 1, got, want[s]);
    } else {
      lt_test_passed++;
    }
    lt_value vals[] = {z, out, loss, b, st};
    for (int i = 0; i < 5; i++) lt_value_clear(&vals[i]);
  }
  printf("%-5s %-60s 20 steps, worst relative difference %.2e\n", g->kind, opts, worst);
  lt_value_clear(&sched);
  lt_value_clear(&count);
  lt_value_clear(&opt);
  lt_value_clear(&model);
  free(want);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  FILE *f = fopen(test_data("train_golden.txt"), "r");
  CHECK(f != NULL);
  if (!f) return test_summary("test_training_golden");
  static char line[1 << 20];
  golden_model g;
  memset(&g, 0, sizeof g);
  int runs = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (strncmp(line, "MODEL ", 6) == 0) {
      memset(&g, 0, sizeof g);
      sscanf(line + 6, "%15s %lld %lld %lld %7s", g.kind, (long long *)&g.dims[0], (long long *)&g.dims[1],
             (long long *)&g.dims[2], g.loss);
    } else if (strncmp(line, "PARAM ", 6) == 0) {
      char name[128];
      g.params[g.nparams] = read_tensor(line + 6, LT_F32, name);
      g.names[g.nparams++] = strdup(name);
    } else if (strncmp(line, "INPUT ", 6) == 0) {
      g.x = read_tensor(line + 6, LT_F32, NULL);
    } else if (strncmp(line, "TARGET ", 7) == 0) {
      int is_int = strncmp(line + 7, "int", 3) == 0;
      g.y = read_tensor(line + 7 + (is_int ? 4 : 6), is_int ? LT_I64 : LT_F32, NULL);
    } else if (strncmp(line, "RUN ", 4) == 0) {
      run(&g, line);
      runs++;
    } else if (strcmp(line, "END") == 0) {
      for (int i = 0; i < g.nparams; i++) { lts_tensor_free(g.params[i]); free(g.names[i]); }
      lts_tensor_free(g.x);
      lts_tensor_free(g.y);
    }
  }
  fclose(f);
  CHECK(runs == 8);
  return test_summary("test_training_golden");
}
