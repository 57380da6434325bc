/* repr.c - tensors print as PyTorch's repr does (torch/_tensor_str.py:
 * precision 4, threshold 1000, edgeitems 3, linewidth 80). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lt_internal.h"

enum { PRECISION = 4, THRESHOLD = 1000, EDGE = 3, LINEWIDTH = 80 };

typedef struct { char *s; size_t n, cap; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = (char *)realloc(b->s, cap);
    if (!p) return;
    b->s = p;
    b->cap = cap;
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_pad(sbuf *b, int n) { for (int i = 0; i < n; i++) sb_add(b, " ", 1); }

typedef struct {
  lt_dtype kind;         /* LT_F64, LT_I64 or LT_BOOL8: how data is read */
  const void *data;
  const int64_t *dims;
  const int64_t *strides; /* contiguous strides */
  int nd;
  int summarize;
  /* formatter */
  int floating, int_mode, sci_mode, width;
  double nz_min, nz_max;
  int any_nonzero_finite;
} repr_ctx;

static void fmt_value(const repr_ctx *c, int64_t off, char *buf, size_t n) {
  if (c->kind == LT_F64) {
    double v = ((const double *)c->data)[off];
    if (isnan(v)) snprintf(buf, n, "nan");
    else if (isinf(v)) snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else if (c->sci_mode) snprintf(buf, n, "%.*e", PRECISION, v);
    else if (c->int_mode) snprintf(buf, n, "%.0f.", v);
    else snprintf(buf, n, "%.*f", PRECISION, v);
  } else if (c->kind == LT_BOOL8) {
    snprintf(buf, n, "%s", ((const uint8_t *)c->data)[off] ? "True" : "False");
  } else {
    snprintf(buf, n, "%lld", (long long)((const int64_t *)c->data)[off]);
  }
}

/* Visits the elements that will be shown (edge items when summarizing). */
typedef void (*visit_fn)(repr_ctx *c, int64_t off);
static void visit(repr_ctx *c, int d, int64_t off, visit_fn f) {
  if (d == c->nd) { f(c, off); return; }
  int64_t n = c->dims[d];
  for (int64_t i = 0; i < n; i++) {
    if (c->summarize && n > 2 * EDGE && i == EDGE) i = n - EDGE;
    visit(c, d + 1, off + i * c->strides[d], f);
  }
}

static void scan_float(repr_ctx *c, int64_t off) {
  double v = ((const double *)c->data)[off];
  if (!isfinite(v) || v == 0) return;
  double a = fabs(v);
  if (!c->any_nonzero_finite) { c->nz_min = c->nz_max = a; c->any_nonzero_finite = 1; }
  if (a < c->nz_min) c->nz_min = a;
  if (a > c->nz_max) c->nz_max = a;
  if (v != ceil(v)) c->int_mode = 0;
}

static void measure(repr_ctx *c, int64_t off) {
  if (c->kind == LT_F64) {
    double v = ((const double *)c->data)[off];
    if (!isfinite(v) || v == 0) return; /* PyTorch sizes on nonzero finite values */
  }
  char buf[64];
  fmt_value(c, off, buf, sizeof buf);
  int w = (int)strlen(buf);
  if (w > c->width) c->width = w;
}

static void emit_value(const repr_ctx *c, int64_t off, sbuf *b) {
  char buf[64];
  fmt_value(c, off, buf, sizeof buf);
  int w = (int)strlen(buf);
  if (w < c->width) sb_pad(b, c->width - w);
  sb_str(b, buf);
}

static void emit(const repr_ctx *c, int d, int64_t off, int indent, sbuf *b) {
  int64_t n = c->dims[d];
  if (d == c->nd - 1) {
    int element_length = c->width + 2;
    int per_line = (LINEWIDTH - indent) / element_length;
    if (per_line < 1) per_line = 1;
    sb_str(b, "[");
    int on_line = 0;
    for (int64_t i = 0; i < n; i++) {
      int ellipsis = c->summarize && n > 2 * EDGE && i == EDGE;
      if (i > 0) {
        if (on_line == per_line) {
          sb_str(b, ",\n");
          sb_pad(b, indent + 1);
          on_line = 0;
        } else {
          sb_str(b, ", ");
        }
      }
      if (ellipsis) {
        sb_str(b, " ...");
        i = n - EDGE - 1;
      } else {
        emit_value(c, off + i * c->strides[d], b);
      }
      on_line++;
    }
    sb_str(b, "]");
    return;
  }
  sb_str(b, "[");
  int rest = c->nd - d; /* dims of this level */
  for (int64_t i = 0; i < n; i++) {
    if (i > 0) {
      sb_str(b, ",");
      for (int k = 0; k < rest - 1; k++) sb_str(b, "\n");
      sb_pad(b, indent + 1);
    }
    if (c->summarize && n > 2 * EDGE && i == EDGE) {
      sb_str(b, "...");
      i = n - EDGE - 1;
      continue;
    }
    emit(c, d + 1, off + i * c->strides[d], indent + 1, b);
  }
  sb_str(b, "]");
}

static void add_suffix(sbuf *b, const char *suffix, int indent) {
  const char *nl = strrchr(b->s, '\n');
  /* same arithmetic as torch/_tensor_str.py _add_suffixes */
  int last_line_len = nl ? (int)(b->s + b->n - nl) + 1 : (int)b->n + 2;
  if (last_line_len + (int)strlen(suffix) + 2 > LINEWIDTH) {
    sb_str(b, ",\n");
    sb_pad(b, indent);
  } else {
    sb_str(b, ", ");
  }
  sb_str(b, suffix);
}

/* the shortest text that reads back as v (Python's float repr) */
static void shortest(double v, char *buf, size_t n) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

/* PyTorch's quantization suffixes (per-channel parameters by axis only) */
static void quant_suffixes(lts_tensor *t, char (*suffixes)[96], int *ns) {
  lts_qparams q;
  if (lts_quant_params(t, &q)) return;
  if (q.per_channel) {
    snprintf(suffixes[(*ns)++], 96, "quantization_scheme=torch.per_channel_affine");
    snprintf(suffixes[(*ns)++], 96, "axis=%lld", (long long)q.axis);
  } else {
    snprintf(suffixes[(*ns)++], 96, "quantization_scheme=torch.per_tensor_affine");
    char sc[32];
    shortest(q.scale, sc, sizeof sc);
    snprintf(suffixes[(*ns)++], 96, "scale=%s", sc);
    snprintf(suffixes[(*ns)++], 96, "zero_point=%lld", (long long)q.zero_point);
  }
}

char *lt_tensor_repr(lts_tensor *t) {
  sbuf b = {0};
  const int indent = 7; /* strlen("tensor(") */
  sb_str(&b, "tensor(");
  lt_dtype dt = lts_dtype(t);
  int64_t dims[LTS_MAX_DIMS], strides[LTS_MAX_DIMS];
  int nd = lts_shape(t, dims, LTS_MAX_DIMS);
  int64_t numel = lts_numel(t);
  char suffixes[8][96];
  int ns = 0;
  char dev[64];
  lts_device(t, dev, sizeof dev);
  if (strcmp(dev, "cpu") != 0) snprintf(suffixes[ns++], 96, "device='%s'", dev);
  int default_dtype = dt == LT_F32 || dt == LT_I64 || dt == LT_BOOL8;
  if (numel == 0) {
    sb_str(&b, "[]");
    if (nd != 1) {
      char sz[80] = "size=(";
      for (int i = 0; i < nd; i++)
        snprintf(sz + strlen(sz), sizeof sz - strlen(sz), "%s%lld", i ? ", " : "", (long long)dims[i]);
      strncat(sz, nd == 1 ? ",)" : ")", sizeof sz - strlen(sz) - 1);
      snprintf(suffixes[ns++], 96, "%s", sz);
    }
    if (dt != LT_F32) snprintf(suffixes[ns++], 96, "dtype=torch.%s", lt_dtype_name(dt));
  } else {
    if (!default_dtype) snprintf(suffixes[ns++], 96, "dtype=torch.%s", lt_dtype_name(dt));
    int quantized = dt == LT_QI8 || dt == LT_QU8 || dt == LT_QI32;
    int floating = dt == LT_F32 || dt == LT_F64 || dt == LT_F16 || dt == LT_BF16 || quantized;
    if (quantized) quant_suffixes(t, suffixes, &ns);
    lt_dtype read = floating ? LT_F64 : dt == LT_BOOL8 ? LT_BOOL8 : LT_I64;
    lts_tensor *conv = NULL, *cpu = NULL;
    int rc = lts_to(t, read, "cpu", &conv);
    if (!rc) rc = lts_cpu_contiguous(conv, &cpu);
    lts_tensor_free(conv);
    if (rc) {
      free(b.s);
      char *msg = NULL;
      const char *e = lts_last_error();
      msg = (char *)malloc(strlen(e) + 32);
      sprintf(msg, "<tensor: %s>", e);
      return msg;
    }
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) { strides[i] = s; s *= dims[i]; }
    repr_ctx c;
    memset(&c, 0, sizeof c);
    c.kind = read;
    c.data = lts_data_ptr(cpu);
    c.dims = dims;
    c.strides = strides;
    c.nd = nd;
    c.summarize = numel > THRESHOLD;
    c.floating = floating;
    c.int_mode = 1;
    c.width = 1;
    if (floating) {
      visit(&c, 0, 0, scan_float);
      if (c.any_nonzero_finite) {
        double ratio = c.nz_max / c.nz_min;
        if (c.int_mode) c.sci_mode = ratio > 1000. || c.nz_max > 1e8;
        else c.sci_mode = ratio > 1000. || c.nz_max > 1e8 || c.nz_min < 1e-4;
        if (c.sci_mode) c.int_mode = 0;
        visit(&c, 0, 0, measure);
      }
      /* with no nonzero finite value PyTorch keeps int_mode and width 1 */
    } else {
      c.int_mode = 0;
      visit(&c, 0, 0, measure);
    }
    if (nd == 0) {
      char buf[64];
      fmt_value(&c, 0, buf, sizeof buf);
      sb_str(&b, buf);
    } else {
      emit(&c, 0, 0, indent, &b);
    }
    lts_tensor_free(cpu);
  }
  char fn[80];
  if (lts_grad_fn_name(t, fn, sizeof fn)) snprintf(suffixes[ns++], 96, "grad_fn=<%s>", fn);
  else if (lts_requires_grad(t)) snprintf(suffixes[ns++], 96, "requires_grad=True");
  for (int i = 0; i < ns; i++) add_suffix(&b, suffixes[i], indent);
  sb_str(&b, ")");
  return b.s;
}
