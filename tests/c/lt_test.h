/* lt_test.h - a tiny assertion harness for the C tests. */
#ifndef LT_TEST_H
#define LT_TEST_H
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lispe_torch.h"

extern int lt_test_passed, lt_test_failed;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (cond) lt_test_passed++;                                                      \
    else {                                                                           \
      lt_test_failed++;                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
    }                                                                                \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
  do {                                                                               \
    double _a = (a), _b = (b);                                                       \
    if (fabs(_a - _b) <= (tol)) lt_test_passed++;                                    \
    else {                                                                           \
      lt_test_failed++;                                                              \
      fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g\n", __FILE__, __LINE__, #a, _a, _b); \
    }                                                                                \
  } while (0)

#define CHECK_STR(a, b)                                                              \
  do {                                                                               \
    const char *_a = (a), *_b = (b);                                                 \
    if (_a && _b && strcmp(_a, _b) == 0) lt_test_passed++;                           \
    else {                                                                           \
      lt_test_failed++;                                                              \
      fprintf(stderr, "%s:%d: %s =\n%s\nexpected\n%s\n", __FILE__, __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)"); \
    }                                                                                \
  } while (0)

/* Calls a primitive by name; returns its status. */
int call(const char *name, lt_value *out, int nargs, ...);
/* Same, asserting success; returns the result (caller clears). */
lt_value ok(const char *name, int nargs, ...);
/* Asserts the call fails and that the message starts with the name. */
void fails(const char *name, const char *needle, int nargs, ...);

lt_value S(const char *s);                /* borrowed string argument */
lt_value I64S(int64_t *data, int64_t n);  /* borrowed integers buffer */
lt_value F32S(float *data, int64_t n);    /* borrowed floats buffer */
lt_value F64S(double *data, int64_t n);   /* borrowed numbers buffer */
lt_value L(int n, ...);                   /* a list value owning copies of the given values */
lt_value Lr(int n, ...);                  /* the same holding new references to the given handles */
/* keeps a value made inline in a call and clears it at test_summary */
lt_value keep(lt_value v);

/* Reads a tensor result into doubles (count returned). */
int64_t values_of(lt_value t, double *out, int64_t max);
double num_of(lt_value v);                /* number or one-element tensor */
/* largest |t - want| over the n values of a tensor (1e30 when t does not
 * hold n values; a NaN counts as 1e30 too) */
double diff_values(lt_value t, const double *want, int64_t n);
/* largest |a - b| over two tensors of the same size (1e30 when not) */
double diff_tensors(lt_value a, lt_value b);
const char *shared_data_dir(void);        /* NULL when ../shared/data is absent */
int test_summary(const char *name);
/* a fresh private directory $TMPDIR/lt_<tag>_XXXXXX (default /tmp) into buf;
 * 0, or -1 with a message; remove_tmpdir deletes it and what it holds */
int make_tmpdir(char *buf, size_t size, const char *tag);
void remove_tmpdir(const char *dir);
/* <the directory of the last make_tmpdir>/name (8 results live at once) */
const char *tmp_path(const char *name);       /* prints "N passed, M failed", returns exit code */
/* a whole file, NUL-terminated, malloc'd (NULL when unreadable); *len if given */
char *slurp(const char *path, size_t *len);
/* shared_data_dir()/rel when readable, else NULL (4 rotating buffers) */
const char *data_path(const char *rel);
/* <source tree>/tests/data/<rel, printf-style>: LT_SOURCE_DIR, else the tree
 * this harness was compiled from (8 results live at once) */
const char *test_data(const char *fmt, ...);
/* bytes in use in glibc's heap (libtorch's CPU allocator uses malloc) */
int64_t heap_in_use(void);
/* whether heap_in_use sees allocations (not under ASan's own allocator) */
int heap_measurable(void);

#endif
