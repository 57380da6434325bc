/* registry.c - the primitive table: building it, checking arguments against
 * the declared parameter types, calling, error text, and docs/API.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include "lt_internal.h"

/* The error state is touched only on the failure path: a successful call
 * reads and writes no thread-local (each access in a shared library costs a
 * __tls_get_addr call). lt_fail records the bare message; lt_call prefixes
 * the primitive's name when the call returns, so a primitive that runs a
 * callback which itself calls primitives still names the right one. */
static _Thread_local char err_text[2048];
static _Thread_local int err_fresh; /* lt_fail ran since the last failed call */

const char *lt_last_error(void) { return err_text; }

int lt_fail(const char *fmt, ...) {
  /* through a copy: the arguments may include lt_last_error() itself */
  char msg[sizeof err_text];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  memcpy(err_text, msg, sizeof err_text);
  err_fresh = 1;
  return LT_ERROR;
}

/* lt_call's failure exit: "<name>: <message>", or "<name>: failed" when the
 * primitive gave no message. */
static int failed(const lt_primitive *p) {
  char msg[sizeof err_text];
  if (err_fresh)
    memcpy(msg, err_text, sizeof msg);
  else
    strcpy(msg, "failed");
  err_fresh = 0;
  snprintf(err_text, sizeof err_text, "%s: %s", p->name, msg);
  return LT_ERROR;
}

int lt_fail_shim(void) { return lt_fail("%s", lts_last_error()); }

static lt_invoker invoker;

void lt_set_invoker(lt_invoker f) { invoker = f; }

int lt_invoke(const lt_value *fn, const lt_value *args, int nargs, lt_value *result) {
  if (result) *result = lt_nil();
  if (!invoker) return lt_fail("no interpreter to call the function back");
  if (fn->kind != LT_CALLABLE) return lt_fail("%s is not a function", lt_kind_name(fn));
  return invoker(fn, args, nargs, result);
}

/* ---- the sections ---- */
static const struct {
  const lt_row *rows;
  int section;
} areas[] = {
    {lt_rows_tensor_create, 1},
    {lt_rows_tensor_math, 2},
    {lt_rows_tensor_shape, 3},
    {lt_rows_runtime, 4},
    {lt_rows_autograd, 5},
    {lt_rows_modules, 6},
    {lt_rows_attention, 7},
    {lt_rows_persistence, 8},
    {lt_rows_tokenizers, 9},
    {lt_rows_hf, 10},
    {lt_rows_generator, 10},
    {lt_rows_lora_hf, 11},
    {lt_rows_lora, 11},
    {lt_rows_quantize, 12},
    {lt_rows_jit, 13},
    {lt_rows_decomposition, 14},
};

static const char *section_titles[] = {
    "", "Tensors: creation and conversion", "Tensors: arithmetic, math, activations",
    "Tensors: shape, indexing, reductions, sampling", "Devices and runtime",
    "Autograd, optimizers, schedulers, losses", "Neural network modules", "Attention", "Persistence",
    "Tokenizers", "Hugging Face models and generation", "LoRA", "Quantization", "TorchScript (JIT)",
    "Tensor decomposition",
};

const char *lt_section_title(int s) {
  return (s > 0 && s < (int)(sizeof section_titles / sizeof *section_titles)) ? section_titles[s] : "";
}

static lt_primitive *table;
static int table_n;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static int table_status;

static const struct { const char *name; lt_ptype t; const char *expect; } ptypes[] = {
    {"any", LT_P_ANY, "a value"},
    {"tensor", LT_P_TENSOR, "a tensor"},
    {"tnum", LT_P_TNUM, "a tensor or a number"},
    {"int", LT_P_INT, "an integer"},
    {"num", LT_P_NUM, "a number"},
    {"bool", LT_P_BOOL, "true or false"},
    {"str", LT_P_STR, "a string"},
    {"ints", LT_P_INTS, "a list of integers"},
    {"tensors", LT_P_TENSORS, "a list of tensors"},
    {"data", LT_P_DATA, "a number, a numeric list, a nested list or a list of tensors"},
    {"dtype", LT_P_DTYPE,
     "a dtype name (float32 float64 float16 bfloat16 int64 int32 int16 int8 uint8 bool)"},
    {"device", LT_P_DEVICE, "a device name (cpu, cuda, cuda:N, mps)"},
    {"list", LT_P_LIST, "a list"},
    {"dict", LT_P_DICT, "a dictionary"},
    {"fn", LT_P_FN, "a function"},
    {"handle", LT_P_HANDLE, "a lispe_torch object"},
    {"module", LT_P_MODULE, "a module"},
    {"optimizer", LT_P_OPTIMIZER, "an optimizer"},
    {"scheduler", LT_P_SCHEDULER, "a learning-rate scheduler"},
};

const char *lt_ptype_name(lt_ptype t) {
  for (size_t i = 0; i < sizeof ptypes / sizeof *ptypes; i++)
    if (ptypes[i].t == t) return ptypes[i].name;
  return "?";
}

static const char *ptype_expect(lt_ptype t) {
  for (size_t i = 0; i < sizeof ptypes / sizeof *ptypes; i++)
    if (ptypes[i].t == t) return ptypes[i].expect;
  return "?";
}

/* "a:tensor ?b:int" -> params; returns -1 on a malformed spec (a bug). */
static int parse_params(const char *spec, lt_primitive *p) {
  p->nparams = p->nrequired = 0;
  const char *s = spec;
  while (*s) {
    while (*s == ' ') s++;
    if (!*s) break;
    if (p->nparams == LT_MAX_PARAMS) return -1;
    lt_param *q = &p->params[p->nparams];
    q->optional = 0;
    if (*s == '?') { q->optional = 1; s++; }
    const char *colon = strchr(s, ':');
    const char *end = strchr(s, ' ');
    if (!end) end = s + strlen(s);
    if (!colon || colon > end) return -1;
    size_t nl = (size_t)(colon - s);
    char *name = (char *)malloc(nl + 1);
    memcpy(name, s, nl);
    name[nl] = 0;
    q->name = name;
    size_t tl = (size_t)(end - colon - 1);
    int found = 0;
    for (size_t i = 0; i < sizeof ptypes / sizeof *ptypes; i++)
      if (strlen(ptypes[i].name) == tl && memcmp(ptypes[i].name, colon + 1, tl) == 0) {
        q->type = ptypes[i].t;
        found = 1;
      }
    if (!found) return -1;
    if (!q->optional) {
      if (p->nrequired != p->nparams) return -1; /* required after optional */
      p->nrequired++;
    }
    p->nparams++;
    s = end;
  }
  return 0;
}

static const lt_primitive *find_in(const char *name, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}

static void build_table(void) {
  lt_tensor_kind_init();
  lt_tokenizer_kind_init();
  lt_nn_kinds_init();
  lt_hf_kinds_init();
  lt_generator_kind_init();
  lt_jit_kind_init();
  int total = 0;
  for (size_t a = 0; a < sizeof areas / sizeof *areas; a++)
    for (const lt_row *r = areas[a].rows; r->name; r++) total++;
  table = (lt_primitive *)calloc((size_t)total, sizeof(lt_primitive));
  for (size_t a = 0; a < sizeof areas / sizeof *areas; a++)
    for (const lt_row *r = areas[a].rows; r->name; r++) {
      lt_primitive *p = &table[table_n];
      p->name = r->name;
      p->section = areas[a].section;
      if (r->alias_of) {
        /* aliases point at a primary declared earlier in the same table */
        const lt_primitive *prim = find_in(r->alias_of, table_n);
        if (!prim || prim->alias_of) {
          fprintf(stderr, "lispe_torch: alias %s of unknown %s\n", r->name, r->alias_of);
          table_status = LT_ERROR;
          continue;
        }
        *p = *prim;
        p->name = r->name;
        p->alias_of = prim->name;
      } else {
        p->params_text = r->params;
        p->doc = r->doc;
        p->fn = r->fn;
        if (parse_params(r->params, p) != 0) {
          fprintf(stderr, "lispe_torch: bad parameter spec for %s: %s\n", r->name, r->params);
          table_status = LT_ERROR;
          continue;
        }
      }
      table_n++;
    }
}

int lt_init(void) {
  pthread_once(&table_once, build_table);
  return table_status;
}

int lt_primitive_count(void) {
  lt_init();
  return table_n;
}

const lt_primitive *lt_primitive_at(int i) {
  lt_init();
  return (i >= 0 && i < table_n) ? &table[i] : NULL;
}

const lt_primitive *lt_primitive_find(const char *name) {
  lt_init();
  return find_in(name, table_n);
}

/* ---- argument checks ---- */
static int is_integral(double d) { return isfinite(d) && d == floor(d) && fabs(d) < 9.2e18; }

static int check_one(const lt_primitive *p, int i, const lt_value *v) {
  const lt_param *q = &p->params[i];
  int ok = 0;
  switch (q->type) {
  case LT_P_ANY: ok = 1; break;
  case LT_P_TENSOR: ok = lt_is_tensor(v); break;
  case LT_P_TNUM: ok = lt_is_tensor(v) || v->kind == LT_INT || v->kind == LT_FLOAT; break;
  case LT_P_INT: ok = v->kind == LT_INT || (v->kind == LT_FLOAT && is_integral(v->u.f)); break;
  case LT_P_NUM: ok = v->kind == LT_INT || v->kind == LT_FLOAT; break;
  case LT_P_BOOL: ok = v->kind == LT_BOOL || v->kind == LT_INT || v->kind == LT_FLOAT || v->kind == LT_NIL; break;
  case LT_P_STR: ok = v->kind == LT_STRING; break;
  case LT_P_INTS:
    if (v->kind == LT_BUFFER) {
      ok = 1;
      if (v->u.buf.dtype == LT_F32 || v->u.buf.dtype == LT_F64)
        for (int64_t k = 0; k < v->u.buf.len && ok; k++) {
          double d = v->u.buf.dtype == LT_F32 ? ((const float *)v->u.buf.data)[k]
                                              : ((const double *)v->u.buf.data)[k];
          ok = is_integral(d);
        }
    } else if (v->kind == LT_LIST) {
      ok = 1;
      for (int64_t k = 0; k < v->u.list.n && ok; k++) {
        const lt_value *e = &v->u.list.items[k];
        ok = e->kind == LT_INT || (e->kind == LT_FLOAT && is_integral(e->u.f));
      }
    } else if (v->kind == LT_INT) {
      ok = 1; /* a single dimension */
    }
    break;
  case LT_P_TENSORS:
    ok = v->kind == LT_LIST && v->u.list.n > 0;
    for (int64_t k = 0; ok && k < v->u.list.n; k++) ok = lt_is_tensor(&v->u.list.items[k]);
    break;
  case LT_P_DATA:
    ok = v->kind == LT_BUFFER || v->kind == LT_INT || v->kind == LT_FLOAT || v->kind == LT_BOOL ||
         v->kind == LT_LIST || lt_is_tensor(v);
    break;
  case LT_P_DTYPE: {
    lt_dtype dt;
    /* quantized dtypes come from the quantize primitives only */
    ok = v->kind == LT_STRING && lt_dtype_parse(v->u.str.s, v->u.str.len, &dt) == 0 && dt < LT_PLAIN_DTYPES;
    if (!ok && v->kind == LT_STRING)
      return lt_fail("argument %d (%s) must be %s, got \"%.*s\"", i + 1, q->name,
                     ptype_expect(q->type), (int)(v->u.str.len > 40 ? 40 : v->u.str.len), v->u.str.s);
    break;
  }
  case LT_P_DEVICE:
    ok = v->kind == LT_STRING && v->u.str.len < 64;
    if (ok) {
      char buf[64];
      memcpy(buf, v->u.str.s, v->u.str.len);
      buf[v->u.str.len] = 0;
      if (lts_check_device(buf) != 0)
        return lt_fail("argument %d (%s) must be %s, got \"%s\"", i + 1, q->name,
                       ptype_expect(q->type), buf);
    }
    break;
  case LT_P_LIST: ok = v->kind == LT_LIST || v->kind == LT_BUFFER; break;
  case LT_P_DICT: ok = v->kind == LT_DICT; break;
  case LT_P_FN: ok = v->kind == LT_CALLABLE; break;
  case LT_P_HANDLE: ok = v->kind == LT_HANDLE; break;
  case LT_P_MODULE: ok = v->kind == LT_HANDLE && v->u.h.kind == LT_H_MODULE; break;
  case LT_P_OPTIMIZER: ok = v->kind == LT_HANDLE && v->u.h.kind == LT_H_OPTIMIZER; break;
  case LT_P_SCHEDULER: ok = v->kind == LT_HANDLE && v->u.h.kind == LT_H_SCHEDULER; break;
  case LT_P_TYPE_COUNT: break;
  }
  if (ok) return LT_OK;
  return lt_fail("argument %d (%s) must be %s, got %s", i + 1, q->name, ptype_expect(q->type),
                 lt_kind_name(v));
}

int lt_call(const lt_primitive *p, const lt_value *args, int nargs, lt_value *out) {
  lt_value full[LT_MAX_PARAMS];
  *out = lt_nil();
  if (nargs < p->nrequired || nargs > p->nparams) {
    if (p->nrequired == p->nparams)
      lt_fail("expected %d argument%s (%s), got %d", p->nparams, p->nparams == 1 ? "" : "s",
              p->params_text, nargs);
    else
      lt_fail("expected %d to %d arguments (%s), got %d", p->nrequired, p->nparams,
              p->params_text, nargs);
    return failed(p);
  }
  for (int i = 0; i < p->nparams; i++) {
    if (i >= nargs || args[i].kind == LT_NIL) {
      if (!p->params[i].optional && p->params[i].type != LT_P_BOOL) {
        lt_fail("argument %d (%s) must be %s, got nil", i + 1, p->params[i].name,
                ptype_expect(p->params[i].type));
        return failed(p);
      }
      full[i] = lt_nil();
      continue;
    }
    if (check_one(p, i, &args[i]) != LT_OK) return failed(p);
    full[i] = args[i];
  }
  int rc = p->fn(full, out);
  if (rc != LT_OK) {
    lt_value_clear(out);
    return failed(p);
  }
  return rc;
}

/* ---- docs/API.md ---- */
void lt_write_api_markdown(void *file) {
  FILE *f = (FILE *)file;
  lt_init();
  fprintf(f, "# lispe_torch primitives\n\n");
  fprintf(f, "Generated from the primitive table by `lt_api_doc` (do not edit; a test checks it is fresh).\n");
  fprintf(f, "`name(params)`: optional parameters are in brackets; `= other` marks an alias.\n");
  int last = -1;
  for (int i = 0; i < table_n; i++) {
    const lt_primitive *p = &table[i];
    if (p->section != last) {
      fprintf(f, "\n## %d. %s\n\n", p->section, lt_section_title(p->section));
      last = p->section;
    }
    fprintf(f, "- `(%s", p->name);
    for (int k = 0; k < p->nparams; k++)
      fprintf(f, p->params[k].optional ? " [%s]" : " %s", p->params[k].name);
    fprintf(f, ")`");
    if (p->alias_of) {
      fprintf(f, " = `%s`\n", p->alias_of);
      continue;
    }
    fprintf(f, ": %s", p->doc);
    if (p->nparams) {
      fprintf(f, " (");
      for (int k = 0; k < p->nparams; k++)
        fprintf(f, "%s%s: %s", k ? ", " : "", p->params[k].name, lt_ptype_name(p->params[k].type));
      fprintf(f, ")");
    }
    fprintf(f, "\n");
  }
}
