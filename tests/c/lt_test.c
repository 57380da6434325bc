/* lt_test.c - harness implementation shared by the C tests. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lt_test.h"
#include "lt_shim.h"

int lt_test_passed, lt_test_failed;

static int vcall(const char *name, lt_value *out, int nargs, va_list ap) {
  lt_value args[LT_MAX_PARAMS + 2];
  for (int i = 0; i < nargs; i++) args[i] = va_arg(ap, lt_value);
  const lt_primitive *p = lt_primitive_find(name);
  if (!p) {
    fprintf(stderr, "no primitive %s\n", name);
    *out = lt_nil();
    return LT_ERROR;
  }
  return lt_call(p, args, nargs, out);
}

int call(const char *name, lt_value *out, int nargs, ...) {
  va_list ap;
  va_start(ap, nargs);
  int rc = vcall(name, out, nargs, ap);
  va_end(ap);
  return rc;
}

lt_value ok(const char *name, int nargs, ...) {
  lt_value out;
  va_list ap;
  va_start(ap, nargs);
  int rc = vcall(name, &out, nargs, ap);
  va_end(ap);
  if (rc != LT_OK) {
    lt_test_failed++;
    fprintf(stderr, "call %s failed: %s\n", name, lt_last_error());
  } else {
    lt_test_passed++;
  }
  return out;
}

void fails(const char *name, const char *needle, int nargs, ...) {
  lt_value out;
  va_list ap;
  va_start(ap, nargs);
  int rc = vcall(name, &out, nargs, ap);
  va_end(ap);
  const char *e = lt_last_error();
  int good = rc != LT_OK && strncmp(e, name, strlen(name)) == 0 && e[strlen(name)] == ':' &&
             (!needle || strstr(e, needle));
  if (good) lt_test_passed++;
  else {
    lt_test_failed++;
    fprintf(stderr, "expected %s to fail%s%s, got rc=%d error='%s'\n", name, needle ? " with " : "",
            needle ? needle : "", rc, e);
  }
  lt_value_clear(&out);
}

lt_value S(const char *s) {
  lt_value v;
  v.kind = LT_STRING;
  v.u.str.s = s;
  v.u.str.len = strlen(s);
  v.u.str.owned = 0;
  return v;
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
lt_value I64S(int64_t *d, int64_t n) { return buf(d, n, LT_I64); }
lt_value F32S(float *d, int64_t n) { return buf(d, n, LT_F32); }
lt_value F64S(double *d, int64_t n) { return buf(d, n, LT_F64); }

lt_value L(int n, ...) {
  lt_value l = lt_list_new(n);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) l.u.list.items[i] = va_arg(ap, lt_value);
  va_end(ap);
  return l;
}

lt_value Lr(int n, ...) {
  lt_value l = lt_list_new(n);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    lt_value v = va_arg(ap, lt_value);
    if (v.kind == LT_HANDLE) lt_handle_retain(v.u.h, &v.u.h);
    l.u.list.items[i] = v;
  }
  va_end(ap);
  return l;
}

int64_t values_of(lt_value t, double *out, int64_t max) {
  if (t.kind != LT_HANDLE) return -1;
  lts_tensor *c = NULL, *d = NULL;
  if (lts_to((lts_tensor *)t.u.h.ptr, LT_F64, "cpu", &d)) return -1;
  lts_cpu_contiguous(d, &c);
  lts_tensor_free(d);
  int64_t n = lts_numel(c);
  const double *p = (const double *)lts_data_ptr(c);
  for (int64_t i = 0; i < n && i < max; i++) out[i] = p[i];
  lts_tensor_free(c);
  return n;
}

double diff_values(lt_value t, const double *want, int64_t n) {
  double *got = (double *)malloc((size_t)(n ? n : 1) * sizeof(double)), worst = 0;
  if (!got || values_of(t, got, n) != n) worst = 1e30;
  for (int64_t i = 0; worst < 1e30 && i < n; i++) {
    double d = fabs(got[i] - want[i]);
    if (!(d <= worst)) worst = d == d ? d : 1e30;
  }
  free(got);
  return worst;
}

double diff_tensors(lt_value a, lt_value b) {
  int64_t n = values_of(a, NULL, 0);
  if (n < 0) return 1e30;
  double *va = (double *)malloc((size_t)(n ? n : 1) * sizeof(double));
  double d = va && values_of(a, va, n) == n ? diff_values(b, va, n) : 1e30;
  free(va);
  return d;
}

double num_of(lt_value v) {
  if (v.kind == LT_INT) return (double)v.u.i;
  if (v.kind == LT_FLOAT) return v.u.f;
  if (v.kind == LT_BOOL) return v.u.b;
  double d = NAN;
  if (v.kind == LT_HANDLE) lt_handle_number(v.u.h, &d);
  return d;
}

const char *shared_data_dir(void) {
  static char path[4096];
  const char *env = getenv("LT_SHARED_DATA");
  snprintf(path, sizeof path, "%s", env ? env : "../shared/data");
  struct stat st;
  return stat(path, &st) == 0 ? path : NULL;
}

static lt_value kept[512];
static int nkept;

lt_value keep(lt_value v) {
  if (nkept < 512) kept[nkept++] = v;
  return v;
}

int test_summary(const char *name) {
  for (int i = 0; i < nkept; i++) lt_value_clear(&kept[i]);
  nkept = 0;
  printf("%s: %d passed, %d failed\n", name, lt_test_passed, lt_test_failed);
  return lt_test_failed ? 1 : 0;
}

char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = n >= 0 ? (char *)malloc((size_t)n + 1) : NULL;
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  if (b) {
    b[n] = 0;
    if (len) *len = (size_t)n;
  }
  return b;
}

const char *data_path(const char *rel) {
  static char p[4][4096];
  static int k;
  const char *d = shared_data_dir();
  if (!d) return NULL;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", d, rel);
  return access(p[k], R_OK) == 0 ? p[k] : NULL;
}

const char *test_data(const char *fmt, ...) {
  static char p[8][4096];
  static int k;
  char root[4096];
  const char *env = getenv("LT_SOURCE_DIR");
  snprintf(root, sizeof root, "%s", env ? env : __FILE__);
  char *cut = env ? NULL : strstr(root, "/tests/c/");
  if (cut) *cut = 0;
  k = (k + 1) % 8;
  int n = snprintf(p[k], sizeof p[k], "%s/tests/data/", root);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p[k] + n, sizeof p[k] - (size_t)n, fmt, ap);
  va_end(ap);
  return p[k];
}

int64_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return (int64_t)(mi.uordblks + mi.hblkhd);
}

int heap_measurable(void) {
  int64_t h0 = heap_in_use();
  void *volatile p = malloc(8 << 20);
  int64_t d = heap_in_use() - h0;
  free(p);
  return d >= (8 << 20);
}

static char last_tmpdir[512];

int make_tmpdir(char *buf, size_t size, const char *tag) {
  const char *base = getenv("TMPDIR");
  snprintf(buf, size, "%s/lt_%s_XXXXXX", base && *base ? base : "/tmp", tag);
  if (mkdtemp(buf)) {
    snprintf(last_tmpdir, sizeof last_tmpdir, "%s", buf);
    return 0;
  }
  perror("mkdtemp");
  return -1;
}

void remove_tmpdir(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

const char *tmp_path(const char *name) {
  static char buf[8][1024];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, sizeof buf[0], "%s/%s", last_tmpdir, name);
  return p;
}
