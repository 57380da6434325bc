/* test_table_errors.c - every registered primitive, driven by the table:
 * wrong arity, wrong types (nil, string, number, list, a handle of another
 * kind) and bad shapes each give an error naming the primitive, never a
 * crash; valid calls succeed or fail cleanly; no tensor handle leaks. */
#include <stdlib.h>
#include "lt_test.h"
#include "lt_shim.h"

static lts_tensor *mk(const int64_t *dims, int nd, lt_dtype dt) {
  lts_tensor *t = NULL;
  lts_fill(LTS_FILL_RAND, dims, nd, 0, dt, NULL, &t);
  return t;
}

static int64_t shape23[2] = {2, 3};
static lts_tensor *t23, *t57, *t0d, *tempty, *tlong;
static lt_value a_module, an_optimizer, a_scheduler; /* real objects of the other kinds */

/* a valid value of each parameter type */
static lt_value valid(lt_ptype t, lt_value *owned) {
  *owned = lt_nil();
  switch (t) {
  case LT_P_TENSOR: case LT_P_TNUM: case LT_P_HANDLE: case LT_P_ANY: case LT_P_DATA:
    return lt_handle_value(LT_H_TENSOR, t23);
  case LT_P_INT: return lt_int(1);
  case LT_P_NUM: return lt_float(0.5);
  case LT_P_BOOL: return lt_bool(1);
  case LT_P_STR: return S("ij->ji");
  case LT_P_INTS: return I64S(shape23, 2);
  case LT_P_TENSORS: case LT_P_LIST:
    *owned = L(2, lt_handle_value(LT_H_TENSOR, t23), lt_handle_value(LT_H_TENSOR, t23));
    return *owned;
  case LT_P_DTYPE: return S("float32");
  case LT_P_DEVICE: return S("cpu");
  case LT_P_DICT: *owned = lt_dict_new(1); return *owned;
  case LT_P_MODULE: return a_module;
  case LT_P_OPTIMIZER: return an_optimizer;
  case LT_P_SCHEDULER: return a_scheduler;
  default: return lt_nil();
  }
}

enum { W_NIL, W_STR, W_NUM, W_LIST, W_OTHER_HANDLE, W_COUNT };
static const char *wrong_names[W_COUNT] = {"nil", "string", "number", "list", "other handle"};

/* whether a parameter type legitimately accepts the "wrong" value */
static int accepts(const lt_param *p, int w) {
  switch (w) {
  case W_NIL: return p->optional || p->type == LT_P_BOOL;
  case W_STR: return p->type == LT_P_ANY || p->type == LT_P_STR;
  case W_NUM:
    return p->type == LT_P_ANY || p->type == LT_P_TNUM || p->type == LT_P_INT || p->type == LT_P_NUM ||
           p->type == LT_P_BOOL || p->type == LT_P_DATA || p->type == LT_P_INTS;
  case W_LIST: return p->type == LT_P_ANY || p->type == LT_P_LIST || p->type == LT_P_DATA;
  case W_OTHER_HANDLE: return p->type == LT_P_ANY || p->type == LT_P_HANDLE;
  default: break;
  }
  return 0;
}

static lt_value wrong(int w, const lt_param *p, lt_value *owned) {
  *owned = lt_nil();
  switch (w) {
  case W_NIL: return lt_nil();
  case W_STR: return S("not a value");
  case W_NUM: return lt_float(2.5);
  case W_LIST: *owned = L(2, S("a"), S("b")); return *owned;
  default: /* a real object of another kind than the parameter wants */
    return (p->type == LT_P_MODULE || p->type == LT_P_OPTIMIZER || p->type == LT_P_SCHEDULER)
               ? lt_handle_value(LT_H_TENSOR, t23) : a_module;
  }
}

/* lists made here borrow their handles: free the list, not the items */
static void drop(lt_value *v) {
  if (v->kind == LT_LIST) {
    free(v->u.list.items);
    *v = lt_nil();
  } else {
    lt_value_clear(v);
  }
}

static int calls, clean_errors;

static void expect_fail(const lt_primitive *p, lt_value *args, int n, const char *what) {
  lt_value out;
  int rc = lt_call(p, args, n, &out);
  const char *e = lt_last_error();
  size_t nl = strlen(p->name);
  int named = strncmp(e, p->name, nl) == 0 && e[nl] == ':';
  if (rc == LT_OK || !named) {
    lt_test_failed++;
    fprintf(stderr, "%s with %s: rc=%d error='%s'\n", p->name, what, rc, e);
  } else {
    lt_test_passed++;
  }
  lt_value_clear(&out);
  calls++;
}

/* succeeds, or fails with a message naming the primitive */
static void expect_clean(const lt_primitive *p, lt_value *args, int n, const char *what) {
  lt_value out;
  int rc = lt_call(p, args, n, &out);
  if (rc != LT_OK) {
    const char *e = lt_last_error();
    size_t nl = strlen(p->name);
    if (strncmp(e, p->name, nl) != 0 || e[nl] != ':') {
      lt_test_failed++;
      fprintf(stderr, "%s with %s: unnamed error '%s'\n", p->name, what, e);
      return;
    }
    clean_errors++;
  }
  lt_test_passed++;
  lt_value_clear(&out);
  calls++;
}

static void with_tensor(const lt_primitive *p, lt_value *args, lts_tensor *t, const char *what) {
  lt_value saved[LT_MAX_PARAMS];
  memcpy(saved, args, sizeof saved);
  for (int i = 0; i < p->nparams; i++)
    if (p->params[i].type == LT_P_TENSOR || p->params[i].type == LT_P_TNUM) args[i] = lt_handle_value(LT_H_TENSOR, t);
  expect_clean(p, args, p->nparams, what);
  memcpy(args, saved, sizeof saved);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  int64_t d57[2] = {5, 7}, d0[1] = {0};
  t23 = mk(shape23, 2, LT_F32);
  t57 = mk(d57, 2, LT_F32);
  t0d = mk(NULL, 0, LT_F32);
  tempty = mk(d0, 1, LT_F32);
  lts_fill(LTS_FILL_ONES, shape23, 2, 0, LT_I64, NULL, &tlong);
  a_module = ok("torch_linear", 2, lt_int(3), lt_int(2));
  an_optimizer = ok("torch_optimizer", 3, a_module, lt_float(0.01), S("sgd"));
  a_scheduler = ok("torch_lr_scheduler", 2, an_optimizer, S("cosine"));
  int64_t baseline = lts_live_tensors();

  int n = lt_primitive_count();
  CHECK(n > 100);
  for (int k = 0; k < n; k++) {
    const lt_primitive *p = lt_primitive_at(k);
    lt_value args[LT_MAX_PARAMS + 1], owned[LT_MAX_PARAMS + 1];
    for (int i = 0; i <= LT_MAX_PARAMS; i++) owned[i] = lt_nil();
    for (int i = 0; i < p->nparams; i++) args[i] = valid(p->params[i].type, &owned[i]);
    args[p->nparams] = lt_int(1);

    /* arity */
    if (p->nrequired > 0) expect_fail(p, args, p->nrequired - 1, "too few arguments");
    expect_fail(p, args, p->nparams + 1, "too many arguments");

    /* wrong types, one parameter at a time */
    for (int i = 0; i < p->nparams; i++) {
      for (int w = 0; w < W_COUNT; w++) {
        lt_value keep = args[i], own;
        args[i] = wrong(w, &p->params[i], &own);
        char what[96];
        snprintf(what, sizeof what, "argument %d (%s) = %s", i + 1, p->params[i].name, wrong_names[w]);
        if (accepts(&p->params[i], w)) expect_clean(p, args, p->nparams, what);
        else expect_fail(p, args, p->nparams, what);
        drop(&own);
        args[i] = keep;
      }
    }

    /* valid arguments; then odd shapes: mismatched, 0-d, empty, integer */
    expect_clean(p, args, p->nparams, "valid arguments");
    expect_clean(p, args, p->nrequired, "required arguments only");
    with_tensor(p, args, t57, "a 5x7 tensor");
    with_tensor(p, args, t0d, "a 0-d tensor");
    with_tensor(p, args, tempty, "an empty tensor");
    with_tensor(p, args, tlong, "an int64 tensor");
    for (int i = 0; i < p->nparams; i++)
      if (p->params[i].type == LT_P_TENSOR && i > 0) {
        /* first tensor 2x3, a later one 5x7 */
        lt_value keep = args[i];
        args[i] = lt_handle_value(LT_H_TENSOR, t57);
        expect_clean(p, args, p->nparams, "mismatched shapes");
        args[i] = keep;
      }
    for (int i = 0; i <= LT_MAX_PARAMS; i++) drop(&owned[i]);
  }
  CHECK(lts_live_tensors() == baseline); /* every result released */
  printf("%d primitives, %d calls, %d clean errors on odd input\n", n, calls, clean_errors);
  lt_value_clear(&a_scheduler);
  lt_value_clear(&an_optimizer);
  lt_value_clear(&a_module);
  lts_tensor_free(t23);
  lts_tensor_free(t57);
  lts_tensor_free(t0d);
  lts_tensor_free(tempty);
  lts_tensor_free(tlong);
  return test_summary("test_table_errors");
}
