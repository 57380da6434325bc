/* test_persistence.c - section 8: torch_save_model / torch_load_model (both
 * argument orders, one-argument rebuild, every module kind), state
 * dictionaries, strict loading that leaves the module untouched on error,
 * checkpoints that resume training exactly (adam, sgd with momentum, adamw),
 * and atomic writes. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lt_internal.h"
#include "lt_test.h"

static char tmpdir[256];



static void drop(lt_value v) { lt_value_clear(&v); }

static lts_tensor *T(const lt_value *v) { return (lts_tensor *)v->u.h.ptr; }

static int same_tensor(lts_tensor *a, lts_tensor *b) {
  if (lts_dtype(a) != lts_dtype(b) || lts_dim(a) != lts_dim(b) || lts_numel(a) != lts_numel(b)) return 0;
  int64_t da[16], db[16];
  int nd = lts_shape(a, da, 16);
  lts_shape(b, db, 16);
  for (int i = 0; i < nd; i++)
    if (da[i] != db[i]) return 0;
  lts_tensor *ca = NULL, *cb = NULL;
  lts_cpu_contiguous(a, &ca);
  lts_cpu_contiguous(b, &cb);
  int same = memcmp(lts_data_ptr(ca), lts_data_ptr(cb), (size_t)lts_numel(a) * lt_dtype_size(lts_dtype(a))) == 0;
  lts_tensor_free(ca);
  lts_tensor_free(cb);
  return same;
}

/* a copy of the module's state: dictionary of cloned tensors */
static lt_value snapshot(lt_value m) {
  lt_value sd = ok("torch_state_dict", 1, m);
  for (int64_t i = 0; i < sd.u.dict.n; i++) {
    lts_tensor *c = NULL;
    lts_unary(LTS_U_CLONE, T(&sd.u.dict.vals[i]), &c);
    lts_tensor_free(T(&sd.u.dict.vals[i]));
    sd.u.dict.vals[i].u.h.ptr = c;
  }
  return sd;
}

/* the module's state equals the snapshot */
static int same_state(lt_value m, const lt_value *snap) {
  lt_value sd = ok("torch_state_dict", 1, m);
  int same = sd.kind == LT_DICT && sd.u.dict.n == snap->u.dict.n;
  for (int64_t i = 0; same && i < sd.u.dict.n; i++) {
    const lt_value *o = lt_dict_get(snap, sd.u.dict.keys[i]);
    same = o && same_tensor(T(&sd.u.dict.vals[i]), T(o));
  }
  lt_value_clear(&sd);
  return same;
}

static lt_value tensor_of(const double *v, const int64_t *dims, int nd) {
  lts_tensor *t = NULL;
  lts_from_copy(v, LT_F64, dims, nd, LT_F32, &t);
  return lt_handle_value(LT_H_TENSOR, t);
}

/* fixed training data: x [16, 4], y [16, 2] */
static lt_value X, Y;
static void make_data(void) {
  double x[64], y[32];
  for (int i = 0; i < 16; i++) {
    for (int j = 0; j < 4; j++) x[i * 4 + j] = sin(0.7 * i + 1.3 * j);
    y[i * 2] = x[i * 4] - 0.5 * x[i * 4 + 1] + 0.25;
    y[i * 2 + 1] = x[i * 4 + 2] * x[i * 4 + 3];
  }
  X = tensor_of(x, (int64_t[]){16, 4}, 2);
  Y = tensor_of(y, (int64_t[]){16, 2}, 2);
}

static double train_step(lt_value model, lt_value opt) {
  drop(ok("torch_optimizer_zero_grad", 1, opt));
  lt_value pred = ok("torch_forward", 2, model, X);
  lt_value loss = ok("torch_mse_loss", 2, pred, Y);
  double l = num_of(loss);
  drop(ok("torch_backward", 1, loss));
  drop(ok("torch_optimizer_step", 1, opt));
  lt_value_clear(&pred);
  lt_value_clear(&loss);
  return l;
}

static lt_value make_optimizer(const char *kind, lt_value model) {
  if (!strcmp(kind, "sgd")) { /* with momentum: a state to restore */
    lt_value o = ok("torch_sgd_optimizer", 2, lt_float(0.05), lt_float(0.9));
    drop(ok("torch_optimizer_add_params", 2, o, model));
    return o;
  }
  return ok("torch_optimizer", 3, model, lt_float(0.01), S(kind));
}

static lt_value output_of(lt_value model) { return ok("torch_forward", 2, model, X); }

static int same_output(lt_value a, lt_value b) {
  lt_value x = output_of(a), y = output_of(b);
  int same = same_tensor(T(&x), T(&y));
  lt_value_clear(&x);
  lt_value_clear(&y);
  return same;
}

/* ---- checkpoints resume training exactly ---- */
static void test_resume(const char *kind) {
  double full[10], resumed[10];
  drop(ok("torch_manual_seed", 1, lt_int(1)));
  lt_value m = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value o = make_optimizer(kind, m);
  for (int i = 0; i < 10; i++) full[i] = train_step(m, o);
  lt_value_clear(&o);
  lt_value_clear(&m);

  drop(ok("torch_manual_seed", 1, lt_int(1)));
  m = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  o = make_optimizer(kind, m);
  for (int i = 0; i < 5; i++) resumed[i] = train_step(m, o);
  char name[64];
  snprintf(name, sizeof name, "ckpt_%s.pt", kind);
  const char *path = tmp_path(name);
  lt_value r = ok("torch_save_checkpoint", 4, m, o, lt_int(5), S(path));
  CHECK(r.kind == LT_BOOL && r.u.b);
  lt_value saved = snapshot(m);
  lt_value_clear(&o);
  lt_value_clear(&m);

  /* a new model and a new optimizer, initialised differently */
  drop(ok("torch_manual_seed", 1, lt_int(99)));
  lt_value m2 = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value o2 = make_optimizer(kind, m2);
  CHECK(!same_state(m2, &saved));
  lt_value info = ok("torch_load_checkpoint", 3, S(path), m2, o2);
  CHECK(info.kind == LT_DICT);
  const lt_value *ep = lt_dict_get(&info, "epoch");
  CHECK(ep && ep->kind == LT_INT && ep->u.i == 5);
  const lt_value *ok_ = lt_dict_get(&info, "optimizer_kind");
  CHECK(ok_ && ok_->kind == LT_STRING && strncmp(ok_->u.str.s, kind, ok_->u.str.len) == 0 &&
        strlen(kind) == ok_->u.str.len);
  CHECK(lt_dict_get(&info, "model_state_dict") == NULL); /* a module was given */
  CHECK(same_state(m2, &saved));
  for (int i = 5; i < 10; i++) resumed[i] = train_step(m2, o2);
  int exact = 1;
  for (int i = 5; i < 10; i++) {
    CHECK_NEAR(resumed[i], full[i], 1e-7);
    exact &= resumed[i] == full[i];
  }
  for (int i = 0; i < 5; i++) CHECK(resumed[i] == full[i]);
  printf("resume %-5s: losses 6-10 %s (%.9g %.9g %.9g %.9g %.9g)\n", kind, exact ? "identical" : "within 1e-7",
         resumed[5], resumed[6], resumed[7], resumed[8], resumed[9]);

  /* the same without the optimizer state would differ (the test has teeth) */
  if (!strcmp(kind, "adam")) {
    drop(ok("torch_manual_seed", 1, lt_int(99)));
    lt_value m3 = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
    lt_value o3 = make_optimizer(kind, m3);
    drop(ok("torch_load_checkpoint", 2, S(path), m3));
    double l5 = train_step(m3, o3), l6 = train_step(m3, o3);
    CHECK(l5 == full[5]); /* same weights: same first loss */
    CHECK(l6 != full[6]); /* but a fresh Adam state */
    lt_value_clear(&o3);
    lt_value_clear(&m3);
  }
  lt_value_clear(&info);
  lt_value_clear(&saved);
  lt_value_clear(&o2);
  lt_value_clear(&m2);
}

static void test_checkpoint_details(void) {
  drop(ok("torch_manual_seed", 1, lt_int(3)));
  lt_value m = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value o = make_optimizer("adam", m);
  train_step(m, o);
  const char *path = tmp_path("details.pt");
  drop(ok("torch_save_checkpoint", 4, m, o, lt_int(42), S(path)));
  lt_value saved = snapshot(m);

  /* without a module: what the file holds, and the weights as a dictionary */
  lt_value info = ok("torch_load_checkpoint", 1, S(path));
  const lt_value *ep = lt_dict_get(&info, "epoch"), *mk = lt_dict_get(&info, "model_kind"),
                 *sd = lt_dict_get(&info, "model_state_dict");
  CHECK(ep && ep->kind == LT_INT && ep->u.i == 42);
  CHECK(mk && mk->kind == LT_STRING && mk->u.str.len == 3 && !memcmp(mk->u.str.s, "mlp", 3));
  CHECK(sd && sd->kind == LT_DICT && sd->u.dict.n == 4);
  if (sd && sd->kind == LT_DICT)
    for (int64_t i = 0; i < sd->u.dict.n; i++) {
      const lt_value *w = lt_dict_get(&saved, sd->u.dict.keys[i]);
      CHECK(w && same_tensor(T(w), T(&sd->u.dict.vals[i])));
      CHECK(!lts_requires_grad(T(&sd->u.dict.vals[i])));
    }
  /* ... which torch_load_state_dict takes */
  drop(ok("torch_manual_seed", 1, lt_int(7)));
  lt_value m2 = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  if (sd) drop(ok("torch_load_state_dict", 2, m2, *sd));
  CHECK(same_state(m2, &saved));
  lt_value_clear(&info);

  /* the optimizer's hyper-parameters come back (as PyTorch's load_state_dict) */
  lt_value o2 = ok("torch_optimizer", 3, m2, lt_float(0.5), S("adam"));
  CHECK(lts_optimizer_get_lr(lt_optimizer_of(&o2)) == 0.5);
  drop(ok("torch_load_checkpoint", 3, S(path), m2, o2));
  CHECK_NEAR(lts_optimizer_get_lr(lt_optimizer_of(&o2)), 0.01, 1e-15);

  /* the weights of a checkpoint through torch_load_model */
  drop(ok("torch_manual_seed", 1, lt_int(8)));
  lt_value m3 = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value r = ok("torch_load_model", 2, S(path), m3);
  CHECK(r.kind == LT_HANDLE && r.u.h.ptr == m3.u.h.ptr);
  CHECK(same_state(m3, &saved));
  lt_value_clear(&r);
  fails("torch_load_model", "checkpoint", 1, S(path));

  /* mismatches: an error, and neither the module nor the optimizer changes */
  drop(ok("torch_manual_seed", 1, lt_int(9)));
  lt_value other = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value before = snapshot(other);
  lt_value lin = ok("torch_linear", 2, lt_int(4), lt_int(2));
  lt_value lin_before = snapshot(lin);
  fails("torch_load_checkpoint", "not of a linear", 2, S(path), lin);
  CHECK(same_state(lin, &lin_before));
  lt_value wide = ok("torch_model", 3, lt_int(4), lt_int(9), lt_int(2));
  lt_value wide_before = snapshot(wide);
  fails("torch_load_checkpoint", "shape mismatch", 2, S(path), wide);
  CHECK(same_state(wide, &wide_before));
  /* module fits, optimizer does not: the module is not touched either */
  lt_value sgd = make_optimizer("sgd", other);
  fails("torch_load_checkpoint", "another kind of optimizer", 3, S(path), other, sgd);
  CHECK(same_state(other, &before));
  lt_value few = ok("torch_optimizer", 3, lin, lt_float(0.3), S("adam")); /* 2 tensors, the file has 4 */
  fails("torch_load_checkpoint", "tensors in the checkpoint", 3, S(path), other, few);
  CHECK(same_state(other, &before));
  CHECK(lts_optimizer_get_lr(lt_optimizer_of(&few)) == 0.3);
  /* a file that is not a checkpoint */
  lt_value d = ok("torch_state_dict", 1, other);
  drop(ok("torch_safetensors_save", 2, d, S(tmp_path("not_a_checkpoint.pt"))));
  fails("torch_load_checkpoint", "cannot read the checkpoint", 2, S(tmp_path("not_a_checkpoint.pt")), other);
  fails("torch_load_checkpoint", "cannot read the checkpoint", 1, S(tmp_path("missing.pt")));
  CHECK(same_state(other, &before));
  /* a checkpoint with no optimizer asked for one: ok; negative epochs refused */
  fails("torch_save_checkpoint", "non-negative", 4, m, o, lt_int(-1), S(tmp_path("neg.pt")));
  lt_value_clear(&d);

  /* atomic: a failed write leaves the old checkpoint as it was */
  size_t l0, l1;
  unsigned char *b0 = (unsigned char *)slurp(path, &l0);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(mkdir(tmp, 0700) == 0);
  fails("torch_save_checkpoint", NULL, 4, m2, o2, lt_int(43), S(path));
  unsigned char *b1 = (unsigned char *)slurp(path, &l1);
  CHECK(b0 && b1 && l0 == l1 && memcmp(b0, b1, l0) == 0);
  rmdir(tmp); /* (libtorch's writer may have removed it already) */
  fails("torch_save_checkpoint", NULL, 4, m2, o2, lt_int(43), S(tmp_path("no/such/dir/c.pt")));
  lt_value info2 = ok("torch_load_checkpoint", 1, S(path));
  ep = lt_dict_get(&info2, "epoch");
  CHECK(ep && ep->u.i == 42);
  free(b0);
  free(b1);
  lt_value_clear(&info2);

  lt_value_clear(&few);
  lt_value_clear(&sgd);
  lt_value_clear(&wide_before);
  lt_value_clear(&wide);
  lt_value_clear(&lin_before);
  lt_value_clear(&lin);
  lt_value_clear(&before);
  lt_value_clear(&other);
  lt_value_clear(&m3);
  lt_value_clear(&o2);
  lt_value_clear(&m2);
  lt_value_clear(&saved);
  lt_value_clear(&o);
  lt_value_clear(&m);
}

/* ---- torch_save_model / torch_load_model ---- */
static void test_models(void) {
  drop(ok("torch_manual_seed", 1, lt_int(11)));
  lt_value m = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value r = ok("torch_save_model", 2, m, S(tmp_path("mlp.safetensors")));
  CHECK(r.kind == LT_BOOL && r.u.b);
  drop(ok("torch_save_model", 2, S(tmp_path("mlp2.safetensors")), m)); /* path first */
  size_t l1, l2;
  unsigned char *f1 = (unsigned char *)slurp(tmp_path("mlp.safetensors"), &l1), *f2 = (unsigned char *)slurp(tmp_path("mlp2.safetensors"), &l2);
  CHECK(f1 && f2 && l1 == l2 && memcmp(f1, f2, l1) == 0);
  free(f1);
  free(f2);

  /* (torch_load_model path module) */
  drop(ok("torch_manual_seed", 1, lt_int(12)));
  lt_value a = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  CHECK(!same_output(a, m));
  lt_value ra = ok("torch_load_model", 2, S(tmp_path("mlp.safetensors")), a);
  CHECK(ra.kind == LT_HANDLE && ra.u.h.kind == LT_H_MODULE && ra.u.h.ptr == a.u.h.ptr);
  CHECK(same_output(a, m));
  /* (torch_load_model module path) */
  drop(ok("torch_manual_seed", 1, lt_int(13)));
  lt_value b = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  drop(ok("torch_load_model", 2, b, S(tmp_path("mlp.safetensors"))));
  CHECK(same_output(b, m));
  /* (torch_load_model path): the module is rebuilt */
  lt_value c = ok("torch_load_model", 1, S(tmp_path("mlp.safetensors")));
  CHECK(c.kind == LT_HANDLE && c.u.h.kind == LT_H_MODULE);
  if (c.kind == LT_HANDLE) {
    CHECK(same_output(c, m));
    char d1[128], d2[128];
    lts_module_describe(lt_module_of(&c), d1, sizeof d1);
    lts_module_describe(lt_module_of(&m), d2, sizeof d2);
    CHECK_STR(d1, d2);
  }
  /* the file is plain safetensors with the PyTorch names */
  lt_value st = ok("torch_safetensors_load", 1, S(tmp_path("mlp.safetensors")));
  CHECK(st.kind == LT_DICT && st.u.dict.n == 4 && lt_dict_get(&st, "fc1.weight") && lt_dict_get(&st, "fc2.bias"));
  lt_value meta = ok("torch_safetensors_metadata", 1, S(tmp_path("mlp.safetensors")));
  const lt_value *kind = lt_dict_get(&meta, "lispe_torch.module");
  CHECK(kind && kind->kind == LT_STRING && kind->u.str.len == 3 && !memcmp(kind->u.str.s, "mlp", 3));

  /* wrong arguments */
  fails("torch_load_model", "either order", 2, S("a"), S("b"));
  fails("torch_load_model", "either order", 2, m, m);
  fails("torch_save_model", "either order", 2, X, S("x"));
  fails("torch_load_model", "only a path", 1, m);
  fails("torch_load_model", "No such file", 2, S(tmp_path("missing.safetensors")), m);

  /* another kind or shape: an error, the module untouched */
  lt_value lin = ok("torch_linear", 2, lt_int(4), lt_int(2));
  drop(ok("torch_save_model", 2, lin, S(tmp_path("linear.safetensors"))));
  lt_value snap = snapshot(a);
  fails("torch_load_model", "not of a mlp", 2, S(tmp_path("linear.safetensors")), a);
  CHECK(same_state(a, &snap));
  lt_value big = ok("torch_linear", 2, lt_int(4), lt_int(3));
  lt_value big_snap = snapshot(big);
  fails("torch_load_model", "shape mismatch", 2, S(tmp_path("linear.safetensors")), big);
  CHECK(same_state(big, &big_snap));
  /* a safetensors file from elsewhere (no module kind recorded): names checked */
  lt_value sd = ok("torch_state_dict", 1, lin);
  drop(ok("torch_safetensors_save", 2, sd, S(tmp_path("plain.safetensors"))));
  fails("torch_load_model", "unexpected key", 2, S(tmp_path("plain.safetensors")), a);
  CHECK(same_state(a, &snap));
  fails("torch_load_model", "not written by torch_save_model", 1, S(tmp_path("plain.safetensors")));
  lt_value lin2 = ok("torch_linear", 2, lt_int(4), lt_int(2));
  drop(ok("torch_load_model", 2, S(tmp_path("plain.safetensors")), lin2));
  CHECK(same_output(lin2, lin));

  /* atomic: a failed save leaves the old file */
  size_t l0, l3;
  unsigned char *b0 = (unsigned char *)slurp(tmp_path("mlp.safetensors"), &l0);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", tmp_path("mlp.safetensors"));
  CHECK(mkdir(tmp, 0700) == 0);
  fails("torch_save_model", "left unchanged", 2, a, S(tmp_path("mlp.safetensors")));
  unsigned char *b3 = (unsigned char *)slurp(tmp_path("mlp.safetensors"), &l3);
  CHECK(b0 && b3 && l0 == l3 && memcmp(b0, b3, l0) == 0);
  CHECK(rmdir(tmp) == 0);
  free(b0);
  free(b3);

  lt_value_clear(&lin2);
  lt_value_clear(&sd);
  lt_value_clear(&big_snap);
  lt_value_clear(&big);
  lt_value_clear(&snap);
  lt_value_clear(&lin);
  lt_value_clear(&meta);
  lt_value_clear(&st);
  lt_value_clear(&c);
  lt_value_clear(&b);
  lt_value_clear(&ra);
  lt_value_clear(&a);
  lt_value_clear(&r);
  lt_value_clear(&m);
}

/* random values in every tensor of the module (norm weights start at 1,
 * positional tables are fixed: make every tensor differ from another's) */
static void perturb(lt_value m) {
  char **names;
  lts_tensor **ts;
  int64_t n;
  lts_module_state(lt_module_of(&m), &names, &ts, &n);
  for (int64_t i = 0; i < n; i++) {
    int64_t dims[16];
    int nd = lts_shape(ts[i], dims, 16);
    lts_tensor *r = NULL;
    lts_fill(LTS_FILL_RAND, dims, nd, 0, lts_dtype(ts[i]), NULL, &r);
    lts_tensor_free(ts[i]);
    ts[i] = r;
  }
  CHECK(lts_module_load_state(lt_module_of(&m), names, ts, n) == 0);
  for (int64_t i = 0; i < n; i++) {
    lts_tensor_free(ts[i]);
    free(names[i]);
  }
  free(names);
  free(ts);
}

/* every module kind: save, load into a fresh one, rebuild from the file */
static void test_every_kind(void) {
  struct {
    const char *name;
    int n;
    lt_value args[3];
  } kinds[] = {
      {"torch_linear", 2, {lt_int(3), lt_int(2)}},
      {"torch_linear", 3, {lt_int(3), lt_int(2), lt_bool(0)}},
      {"torch_model", 3, {lt_int(3), lt_int(5), lt_int(2)}},
      {"torch_embedding", 2, {lt_int(10), lt_int(4)}},
      {"torch_layer_norm", 1, {lt_nil()}},
      {"torch_multihead_attention", 2, {lt_int(8), lt_int(2)}},
      {"torch_transformer_block", 3, {lt_int(8), lt_int(2), lt_int(16)}},
      {"torch_positional_encoding", 2, {lt_int(8), lt_int(10)}},
      {"torch_rotary_embedding", 2, {lt_int(8), lt_int(16)}},
      {"torch_flash_attention_create", 3, {lt_int(8), lt_int(2), lt_float(0.25)}},
  };
  int64_t shape[2] = {2, 4};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    if (!strcmp(kinds[k].name, "torch_layer_norm")) kinds[k].args[0] = I64S(shape, 2);
    lt_value mk[2];
    for (int s = 0; s < 2; s++) {
      drop(ok("torch_manual_seed", 1, lt_int(20 + s)));
      lt_value *a = kinds[k].args;
      mk[s] = kinds[k].n == 1 ? ok(kinds[k].name, 1, a[0])
              : kinds[k].n == 2 ? ok(kinds[k].name, 2, a[0], a[1])
                                : ok(kinds[k].name, 3, a[0], a[1], a[2]);
    }
    if (mk[0].kind != LT_HANDLE || mk[1].kind != LT_HANDLE) continue;
    /* perturb the second so that every tensor differs (norm weights start at 1) */
    perturb(mk[1]);
    lt_value snap0 = snapshot(mk[0]);
    CHECK(!same_state(mk[1], &snap0));
    char file[64];
    snprintf(file, sizeof file, "kind%zu.safetensors", k);
    drop(ok("torch_save_model", 2, mk[0], S(tmp_path(file))));
    drop(ok("torch_load_model", 2, S(tmp_path(file)), mk[1]));
    int same = same_state(mk[1], &snap0);
    if (!same) fprintf(stderr, "%s: loaded state differs\n", kinds[k].name);
    CHECK(same);
    /* the same through a checkpoint (nested archives for nested modules) */
    lt_value o = ok("torch_optimizer", 3, mk[0], lt_float(0.1), S("sgd"));
    snprintf(file, sizeof file, "kind%zu.pt", k);
    drop(ok("torch_save_checkpoint", 4, mk[0], o, lt_int(1), S(tmp_path(file))));
    lt_value mk2 = kinds[k].n == 1 ? ok(kinds[k].name, 1, kinds[k].args[0])
                   : kinds[k].n == 2 ? ok(kinds[k].name, 2, kinds[k].args[0], kinds[k].args[1])
                                     : ok(kinds[k].name, 3, kinds[k].args[0], kinds[k].args[1], kinds[k].args[2]);
    perturb(mk2);
    CHECK(!same_state(mk2, &snap0));
    lt_value info = ok("torch_load_checkpoint", 3, S(tmp_path(file)), mk2, o);
    same = same_state(mk2, &snap0);
    if (!same) fprintf(stderr, "%s: state loaded from a checkpoint differs\n", kinds[k].name);
    CHECK(same);
    lt_value_clear(&info);
    lt_value_clear(&mk2);
    lt_value_clear(&o);
    snprintf(file, sizeof file, "kind%zu.safetensors", k);
    lt_value rebuilt = ok("torch_load_model", 1, S(tmp_path(file)));
    if (rebuilt.kind == LT_HANDLE) {
      CHECK(same_state(rebuilt, &snap0));
      char d1[256], d2[256];
      lts_module_describe(lt_module_of(&rebuilt), d1, sizeof d1);
      lts_module_describe(lt_module_of(&mk[0]), d2, sizeof d2);
      CHECK_STR(d1, d2);
    }
    lt_value_clear(&rebuilt);
    lt_value_clear(&snap0);
    lt_value_clear(&mk[0]);
    lt_value_clear(&mk[1]);
  }
  /* a float64 module is rebuilt in float64 */
  lt_value m64 = ok("torch_linear", 5, lt_int(3), lt_int(2), lt_bool(1), lt_nil(), S("float64"));
  drop(ok("torch_save_model", 2, m64, S(tmp_path("f64.safetensors"))));
  lt_value r64 = ok("torch_load_model", 1, S(tmp_path("f64.safetensors")));
  lt_value sd = ok("torch_state_dict", 1, r64);
  CHECK(sd.kind == LT_DICT && sd.u.dict.n == 2 && lts_dtype(T(&sd.u.dict.vals[0])) == LT_F64);
  lt_value snap = snapshot(m64);
  CHECK(same_state(r64, &snap));
  lt_value_clear(&snap);
  lt_value_clear(&sd);
  lt_value_clear(&r64);
  lt_value_clear(&m64);
}

/* ---- state dictionaries ---- */
static void test_state_dict(void) {
  drop(ok("torch_manual_seed", 1, lt_int(30)));
  lt_value m = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value sd = ok("torch_state_dict", 1, m);
  static const char *keys[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
  CHECK(sd.kind == LT_DICT && sd.u.dict.n == 4);
  lt_value params = ok("torch_module_parameters", 1, m);
  for (int i = 0; i < 4 && sd.kind == LT_DICT && sd.u.dict.n == 4; i++) {
    CHECK_STR(sd.u.dict.keys[i], keys[i]);
    CHECK(same_tensor(T(&sd.u.dict.vals[i]), T(&params.u.list.items[i])));
    CHECK(!lts_requires_grad(T(&sd.u.dict.vals[i]))); /* detached */
    CHECK(lts_requires_grad(T(&params.u.list.items[i])));
  }
  int64_t d44[2] = {8, 4};
  int nd;
  int64_t dims[4];
  nd = lts_shape(T(lt_dict_get(&sd, "fc1.weight")), dims, 4);
  CHECK(nd == 2 && dims[0] == d44[0] && dims[1] == d44[1]);
  /* the tensors share the module's storage: in-place edits show */
  int64_t idx[1] = {0};
  lts_set_item(T(lt_dict_get(&sd, "fc1.bias")), idx, 1, NULL, 42.0);
  lt_value p0 = ok("torch_module_parameters", 1, m);
  double v[8];
  values_of(p0.u.list.items[1], v, 8);
  CHECK(v[0] == 42.0);
  lt_value_clear(&p0);

  /* load_state_dict: a round trip into another model */
  drop(ok("torch_manual_seed", 1, lt_int(31)));
  lt_value m2 = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value r = ok("torch_load_state_dict", 2, m2, sd);
  CHECK(r.kind == LT_HANDLE && r.u.h.ptr == m2.u.h.ptr);
  CHECK(same_output(m2, m));
  lt_value_clear(&r);

  /* strict: missing, unknown, shape, non-tensor; the module untouched */
  drop(ok("torch_manual_seed", 1, lt_int(32)));
  lt_value m3 = ok("torch_model", 3, lt_int(4), lt_int(8), lt_int(2));
  lt_value snap = snapshot(m3);
  lt_value part = lt_dict_new(4);
  for (int i = 0; i < 3; i++) {
    lt_handle h;
    lt_handle_retain(sd.u.dict.vals[i].u.h, &h);
    lt_dict_put(&part, sd.u.dict.keys[i], lt_handle_value(h.kind, h.ptr));
  }
  fails("torch_load_state_dict", "missing key \"fc2.bias\"", 2, m3, part);
  CHECK(same_state(m3, &snap));
  lt_value extra = snapshot(m);
  lts_tensor *z = NULL;
  lts_fill(LTS_FILL_ZEROS, (int64_t[]){2}, 1, 0, LT_F32, NULL, &z);
  lt_dict_put(&extra, "fc3.weight", lt_handle_value(LT_H_TENSOR, z));
  fails("torch_load_state_dict", "unexpected key \"fc3.weight\"", 2, m3, extra);
  CHECK(same_state(m3, &snap));
  lt_value wrong = snapshot(m);
  lts_tensor *w = NULL;
  lts_fill(LTS_FILL_ZEROS, (int64_t[]){2, 8}, 2, 0, LT_F32, NULL, &w);
  lts_tensor_free(T(&wrong.u.dict.vals[3]));
  wrong.u.dict.vals[3].u.h.ptr = w;
  fails("torch_load_state_dict", "shape mismatch for \"fc2.bias\"", 2, m3, wrong);
  CHECK(same_state(m3, &snap));
  lt_value notensor = snapshot(m);
  lt_value_clear(&notensor.u.dict.vals[0]);
  notensor.u.dict.vals[0] = lt_float(1.0);
  fails("torch_load_state_dict", "must map to a tensor", 2, m3, notensor);
  CHECK(same_state(m3, &snap));
  fails("torch_load_state_dict", NULL, 2, m3, S("x"));
  /* a float64 state is converted into the module's dtype */
  lt_value f64 = snapshot(m);
  for (int64_t i = 0; i < f64.u.dict.n; i++) {
    lts_tensor *c = NULL;
    lts_to(T(&f64.u.dict.vals[i]), LT_F64, NULL, &c);
    lts_tensor_free(T(&f64.u.dict.vals[i]));
    f64.u.dict.vals[i].u.h.ptr = c;
  }
  drop(ok("torch_load_state_dict", 2, m3, f64));
  CHECK(same_output(m3, m));

  lt_value_clear(&f64);
  lt_value_clear(&notensor);
  lt_value_clear(&wrong);
  lt_value_clear(&extra);
  lt_value_clear(&part);
  lt_value_clear(&snap);
  lt_value_clear(&m3);
  lt_value_clear(&m2);
  lt_value_clear(&params);
  lt_value_clear(&sd);
  lt_value_clear(&m);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  if (make_tmpdir(tmpdir, sizeof tmpdir, "persist") != 0) return 1;
  int64_t live = lts_live_tensors(), live_modules = lts_live_modules();
  make_data();
  test_resume("adam");
  test_resume("sgd");
  test_resume("adamw");
  test_checkpoint_details();
  test_models();
  test_every_kind();
  test_state_dict();
  lt_value_clear(&X);
  lt_value_clear(&Y);
  CHECK(lts_live_tensors() == live);
  CHECK(lts_live_modules() == live_modules);
  remove_tmpdir(tmpdir);
  return test_summary("test_persistence");
}
