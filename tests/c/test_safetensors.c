/* test_safetensors.c - the safetensors format: the golden file written by the
 * reference implementation (tests/tools/safetensors_golden.py) read value by
 * value; round trips of every dtype; the writer's layout (the committed
 * tests/data/safetensors_lispe_torch.safetensors, checked with the Python
 * package by tests/tools/safetensors_check.py, must be what we write now);
 * clear errors for corrupt files; a fuzz run over mutated files; atomic writes.
 *
 * LT_REGEN_GOLDEN=1 rewrites tests/data/safetensors_lispe_torch.safetensors. */
#define _GNU_SOURCE
#include <errno.h>
#include <json.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lt_safetensors.h"
#include "lt_internal.h"
#include "lt_test.h"

static char tmpdir[256];



static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  fwrite(data, 1, len, f);
  fclose(f);
}

/* raw CPU bytes of a tensor: malloc'd copy */
static unsigned char *bytes_of(lts_tensor *t, size_t *n) {
  lts_tensor *c = NULL;
  lts_cpu_contiguous(t, &c);
  *n = (size_t)lts_numel(c) * lt_dtype_size(lts_dtype(c));
  unsigned char *b = malloc(*n + 1);
  if (*n) memcpy(b, lts_data_ptr(c), *n);
  lts_tensor_free(c);
  return b;
}

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

static lts_tensor *T(lt_value v) { return (lts_tensor *)v.u.h.ptr; }

/* ---- 1. the golden file of the reference writer ---- */
static void test_golden(void) {
  const char *path = test_data("safetensors_golden.safetensors");
  json_object *exp = json_object_from_file(test_data("safetensors_golden.json"));
  CHECK(exp != NULL);
  if (!exp) return;
  lt_value d = ok("torch_safetensors_load", 1, S(path));
  CHECK(d.kind == LT_DICT);
  if (d.kind != LT_DICT) return;
  json_object *tensors = json_object_object_get(exp, "tensors"), *order = json_object_object_get(exp, "order");
  CHECK((int64_t)json_object_object_length(tensors) == d.u.dict.n);
  /* the dictionary lists the tensors in file order */
  for (int64_t i = 0; i < d.u.dict.n && i < (int64_t)json_object_array_length(order); i++)
    CHECK_STR(d.u.dict.keys[i], json_object_get_string(json_object_array_get_idx(order, (size_t)i)));
  int checked = 0;
  json_object_object_foreach(tensors, name, e) {
    const lt_value *v = lt_dict_get(&d, name);
    CHECK(v && lt_is_tensor(v));
    if (!v) continue;
    lts_tensor *t = (lts_tensor *)v->u.h.ptr;
    /* dtype and shape */
    lt_dtype want;
    CHECK(lt_safetensors_dtype_parse(json_object_get_string(json_object_object_get(e, "dtype")), &want) == 0);
    CHECK(lts_dtype(t) == want);
    json_object *shape = json_object_object_get(e, "shape");
    int64_t dims[16];
    int nd = lts_shape(t, dims, 16);
    CHECK(nd == (int)json_object_array_length(shape));
    for (int i = 0; i < nd && i < (int)json_object_array_length(shape); i++)
      CHECK(dims[i] == json_object_get_int64(json_object_array_get_idx(shape, (size_t)i)));
    /* raw bytes */
    size_t n;
    unsigned char *b = bytes_of(t, &n);
    const char *hex = json_object_get_string(json_object_object_get(e, "hex"));
    CHECK(strlen(hex) == 2 * n);
    int same = strlen(hex) == 2 * n;
    for (size_t i = 0; same && i < n; i++) same = b[i] == (unsigned char)(hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1]));
    if (!same) fprintf(stderr, "golden tensor %s: bytes differ\n", name);
    CHECK(same);
    free(b);
    /* every value */
    json_object *vals = json_object_object_get(e, "values");
    int64_t count = lts_numel(t);
    CHECK(count == (int64_t)json_object_array_length(vals));
    if (want == LT_I64 || want == LT_I32 || want == LT_I16 || want == LT_I8 || want == LT_U8) {
      lts_tensor *l = NULL, *c = NULL;
      lts_to(t, LT_I64, NULL, &l);
      lts_cpu_contiguous(l, &c);
      const int64_t *p = lts_data_ptr(c);
      for (int64_t i = 0; i < count; i++) CHECK(p[i] == json_object_get_int64(json_object_array_get_idx(vals, (size_t)i)));
      lts_tensor_free(l);
      lts_tensor_free(c);
    } else {
      double got[64];
      values_of(*v, got, 64);
      for (int64_t i = 0; i < count && i < 64; i++) {
        json_object *x = json_object_array_get_idx(vals, (size_t)i);
        if (json_object_get_type(x) == json_type_string) {
          const char *s = json_object_get_string(x);
          if (!strcmp(s, "nan")) CHECK(isnan(got[i]));
          else CHECK(isinf(got[i]) && (got[i] > 0) == (s[0] != '-'));
        } else if (json_object_get_type(x) == json_type_boolean) {
          CHECK(got[i] == (json_object_get_boolean(x) ? 1.0 : 0.0));
        } else {
          double w = json_object_get_double(x);
          CHECK(got[i] == w && signbit(got[i]) == signbit(w));
        }
      }
    }
    checked++;
  }
  CHECK(checked == 15);
  /* metadata, through the primitive */
  lt_value m = ok("torch_safetensors_metadata", 1, S(path));
  json_object *em = json_object_object_get(exp, "metadata");
  CHECK(m.kind == LT_DICT && m.u.dict.n == (int64_t)json_object_object_length(em));
  json_object_object_foreach(em, mk, mv) {
    const lt_value *g = lt_dict_get(&m, mk);
    CHECK(g && g->kind == LT_STRING && g->u.str.len == strlen(json_object_get_string(mv)) &&
          memcmp(g->u.str.s, json_object_get_string(mv), g->u.str.len) == 0);
  }
  /* written again by us: same header length, same data bytes, same JSON
   * (the reference writer's metadata key order is a hash map's) */
  CHECK(lt_safetensors_save(tmp_path("golden_again.safetensors"), &d, &m) == LT_OK);
  size_t la, lb;
  unsigned char *a = (unsigned char *)slurp(path, &la), *b = (unsigned char *)slurp(tmp_path("golden_again.safetensors"), &lb);
  CHECK(a && b && la == lb);
  if (a && b && la == lb) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | a[i];
    CHECK(memcmp(a, b, 8) == 0);
    CHECK(memcmp(a + 8 + n, b + 8 + n, la - 8 - n) == 0);
    json_object *ja = json_tokener_parse((char *)(a[8 + n] = 0, a + 8)), *jb = json_tokener_parse((char *)(b[8 + n] = 0, b + 8));
    CHECK(ja && jb && json_object_equal(ja, jb));
    json_object_put(ja);
    json_object_put(jb);
  }
  free(a);
  free(b);
  lt_value_clear(&m);
  lt_value_clear(&d);
  json_object_put(exp);
}

/* ---- 2. round trips of every dtype ---- */
static lts_tensor *make(lt_dtype dt, const int64_t *dims, int nd, int salt) {
  int64_t n = 1;
  for (int i = 0; i < nd; i++) n *= dims[i];
  double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    double x = (double)((i * 37 + salt * 11) % 23) - 11;
    v[i] = dt == LT_BOOL8 ? (double)((i + salt) % 2) : dt == LT_U8 ? fabs(x) * 11 : x * (dt <= LT_BF16 ? 0.375 : 1);
  }
  lts_tensor *t = NULL;
  lts_from_copy(v, LT_F64, dims, nd, dt, &t);
  free(v);
  return t;
}

static lt_value all_dtypes_dict(int salt) {
  static const char *names[LT_PLAIN_DTYPES] = {"f32", "f64", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "bool"};
  int64_t dims[3] = {2, 3, 2};
  lt_value d = lt_dict_new(16);
  for (int dt = 0; dt < LT_PLAIN_DTYPES; dt++)
    lt_dict_put(&d, names[dt], lt_handle_value(LT_H_TENSOR, make((lt_dtype)dt, dims, 1 + dt % 3, salt + dt)));
  int64_t empty[2] = {0, 4};
  lt_dict_put(&d, "empty", lt_handle_value(LT_H_TENSOR, make(LT_F32, empty, 2, salt)));
  lt_dict_put(&d, "scalar", lt_handle_value(LT_H_TENSOR, make(LT_F64, NULL, 0, salt + 5)));
  lt_dict_put(&d, "z.last", lt_handle_value(LT_H_TENSOR, make(LT_I64, dims, 3, salt + 7)));
  lt_dict_put(&d, "a.first", lt_handle_value(LT_H_TENSOR, make(LT_I64, dims, 1, salt + 9)));
  return d;
}

static int same_tensor(lts_tensor *a, lts_tensor *b) {
  if (lts_dtype(a) != lts_dtype(b) || lts_dim(a) != lts_dim(b)) return 0;
  int64_t da[16], db[16];
  int nd = lts_shape(a, da, 16);
  lts_shape(b, db, 16);
  for (int i = 0; i < nd; i++)
    if (da[i] != db[i]) return 0;
  size_t na, nb;
  unsigned char *x = bytes_of(a, &na), *y = bytes_of(b, &nb);
  int same = na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

static void test_round_trip(void) {
  lt_value d = all_dtypes_dict(0);
  /* a transposed (non-contiguous) view is written in C order */
  lts_tensor *base = make(LT_F32, (int64_t[]){3, 4}, 2, 3), *tr = NULL;
  lts_transpose(base, 0, 1, &tr);
  lt_dict_put(&d, "transposed", lt_handle_value(LT_H_TENSOR, tr));
  lt_value meta = lt_dict_new(4);
  lt_dict_put(&meta, "b", lt_string_cstr("two"));
  lt_dict_put(&meta, "a", lt_int(1));
  lt_dict_put(&meta, "c", lt_float(0.5));
  lt_value r = ok("torch_safetensors_save", 3, d, S(tmp_path("all.safetensors")), meta);
  CHECK(r.kind == LT_BOOL && r.u.b);
  lt_value back = ok("torch_safetensors_load", 1, S(tmp_path("all.safetensors")));
  CHECK(back.kind == LT_DICT && back.u.dict.n == d.u.dict.n);
  for (int64_t i = 0; i < d.u.dict.n && back.kind == LT_DICT; i++) {
    const lt_value *b = lt_dict_get(&back, d.u.dict.keys[i]);
    CHECK(b != NULL);
    if (!b) continue;
    int same = same_tensor(T(d.u.dict.vals[i]), (lts_tensor *)b->u.h.ptr);
    if (!same) fprintf(stderr, "round trip of %s differs\n", d.u.dict.keys[i]);
    CHECK(same);
  }
  /* file order: the reference writer's (alignment, then name) */
  static const char *order[] = {"a.first", "i64", "z.last", "f64", "scalar", "empty", "f32", "transposed",
                                "i32", "bf16", "f16", "i16", "i8", "u8", "bool"};
  for (int i = 0; i < 15 && back.kind == LT_DICT && i < back.u.dict.n; i++) CHECK_STR(back.u.dict.keys[i], order[i]);
  lt_value m = ok("torch_safetensors_metadata", 1, S(tmp_path("all.safetensors")));
  CHECK(m.kind == LT_DICT && m.u.dict.n == 3);
  if (m.kind == LT_DICT && m.u.dict.n == 3) {
    CHECK_STR(m.u.dict.keys[0], "a"); /* sorted */
    const lt_value *a = lt_dict_get(&m, "a"), *c = lt_dict_get(&m, "c");
    CHECK(a && a->kind == LT_STRING && a->u.str.len == 1 && a->u.str.s[0] == '1');
    CHECK(c && c->kind == LT_STRING && strncmp(c->u.str.s, "0.5", c->u.str.len) == 0);
  }
  /* header padded with spaces to a multiple of 8 */
  size_t len;
  unsigned char *raw = (unsigned char *)slurp(tmp_path("all.safetensors"), &len);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | raw[i];
  CHECK(n % 8 == 0 && raw[8] == '{' && (raw[8 + n - 1] == ' ' || raw[8 + n - 1] == '}'));
  free(raw);
  /* load onto a device by name */
  lt_value cpu = ok("torch_safetensors_load", 2, S(tmp_path("all.safetensors")), S("cpu"));
  CHECK(cpu.kind == LT_DICT && cpu.u.dict.n == d.u.dict.n);
  /* an empty dictionary is a valid file */
  lt_value empty = lt_dict_new(1);
  ok("torch_safetensors_save", 2, empty, S(tmp_path("empty.safetensors")));
  lt_value e2 = ok("torch_safetensors_load", 1, S(tmp_path("empty.safetensors")));
  CHECK(e2.kind == LT_DICT && e2.u.dict.n == 0);
  raw = (unsigned char *)slurp(tmp_path("empty.safetensors"), &len);
  CHECK(len == 16 && memcmp(raw + 8, "{}      ", 8) == 0);
  free(raw);
  lt_value_clear(&e2);
  lt_value_clear(&empty);
  lt_value_clear(&cpu);
  lt_value_clear(&m);
  lt_value_clear(&back);
  lt_value_clear(&meta);
  lt_value_clear(&d);
  lts_tensor_free(base);
}

/* ---- 3. the committed file made by the library ---- */
static void test_library_golden(void) {
  lt_value d = all_dtypes_dict(1);
  lt_value meta = lt_dict_new(2);
  lt_dict_put(&meta, "format", lt_string_cstr("pt"));
  lt_dict_put(&meta, "writer", lt_string_cstr("lispe_torch tests/c/test_safetensors.c"));
  const char *golden = test_data("safetensors_lispe_torch.safetensors");
  CHECK(lt_safetensors_save(tmp_path("lib.safetensors"), &d, &meta) == LT_OK);
  if (getenv("LT_REGEN_GOLDEN")) {
    CHECK(lt_safetensors_save(golden, &d, &meta) == LT_OK);
    printf("wrote %s\n", golden);
  }
  size_t la, lb;
  unsigned char *a = (unsigned char *)slurp(golden, &la), *b = (unsigned char *)slurp(tmp_path("lib.safetensors"), &lb);
  CHECK(a && b && la == lb && memcmp(a, b, la) == 0); /* the writer is deterministic */
  if (a) {
    lt_value back = ok("torch_safetensors_load", 1, S(golden));
    for (int64_t i = 0; i < d.u.dict.n && back.kind == LT_DICT; i++) {
      const lt_value *v = lt_dict_get(&back, d.u.dict.keys[i]);
      CHECK(v && same_tensor(T(d.u.dict.vals[i]), (lts_tensor *)v->u.h.ptr));
    }
    lt_value_clear(&back);
  }
  free(a);
  free(b);
  lt_value_clear(&meta);
  lt_value_clear(&d);
}

/* ---- 4. corrupt files: clear errors ---- */
static void put_len(unsigned char *b, uint64_t n) {
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
}

/* a file of header text + nbytes of data */
static void corrupt(const char *header, size_t nbytes, const char *needle) {
  size_t hl = strlen(header);
  unsigned char *b = calloc(1, 8 + hl + nbytes + 1);
  put_len(b, hl);
  memcpy(b + 8, header, hl);
  write_file(tmp_path("bad.safetensors"), b, 8 + hl + nbytes);
  fails("torch_safetensors_load", needle, 1, S(tmp_path("bad.safetensors")));
  lt_value d, m;
  int rc = lt_safetensors_load_memory(b, 8 + hl + nbytes, NULL, &d, &m);
  CHECK(rc == LT_ERROR && d.kind == LT_NIL && m.kind == LT_NIL && strstr(lt_last_error(), needle));
  free(b);
}

static void test_errors(void) {
  fails("torch_safetensors_load", "No such file", 1, S(tmp_path("missing.safetensors")));
  fails("torch_safetensors_load", "directory", 1, S(tmpdir));
  write_file(tmp_path("short.safetensors"), "abc", 3);
  fails("torch_safetensors_load", "shorter than the 8-byte", 1, S(tmp_path("short.safetensors")));
  unsigned char b[64] = {0};
  put_len(b, 200000000);
  write_file(tmp_path("huge.safetensors"), b, 16);
  fails("torch_safetensors_load", "too large", 1, S(tmp_path("huge.safetensors")));
  put_len(b, 40);
  write_file(tmp_path("past.safetensors"), b, 16);
  fails("torch_safetensors_load", "past the end", 1, S(tmp_path("past.safetensors")));
  put_len(b, UINT64_MAX);
  write_file(tmp_path("max.safetensors"), b, 16);
  fails("torch_safetensors_load", "too large", 1, S(tmp_path("max.safetensors")));

  corrupt("[1,2,3] ", 0, "does not start with '{'");
  corrupt("{\"a\":", 0, "not valid JSON");
  corrupt("{\"a\":{}}x", 0, "not valid JSON");
  corrupt("{\"a\":{}}   \t\n ", 0, "no \"dtype\""); /* trailing white space is fine */
  corrupt("{\"a\":NaN}", 0, "not valid JSON");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4, "not valid JSON");
  corrupt("{'a':1}", 0, "not valid JSON");
  corrupt("{\"a\":1}", 0, "is not an object");
  corrupt("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no \"dtype\"");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "no \"shape\"");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "no \"data_offsets\"");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "no \"data_offsets\"");
  corrupt("{\"a\":{\"dtype\":\"X9\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype");
  corrupt("{\"a\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "does not support");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative integers");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "non-negative integers");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "non-negative integers");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4, "non-negative integers");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "end before they begin");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "make 8 bytes");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "overflows");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
          "dimensions");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap of 4 bytes");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
          "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlaps");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "cover 4 bytes of a 8-byte");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "truncated");
  corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}", 4, "make 4 bytes");
  corrupt("{\"__metadata__\":{\"k\":1}}", 0, "is not a string");
  corrupt("{\"__metadata__\":[]}", 0, "is not an object");
  corrupt("{\"\xff\":1}", 0, "UTF-8");
  corrupt("{\"a\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}", 0, "not valid JSON");
  /* a NUL inside the header */
  unsigned char z[24] = {0};
  put_len(z, 8);
  memcpy(z + 8, "{\"a\":\0} ", 8);
  write_file(tmp_path("nul.safetensors"), z, 16);
  fails("torch_safetensors_load", "NUL", 1, S(tmp_path("nul.safetensors")));

  /* writer errors */
  lt_value d = lt_dict_new(2);
  lt_dict_put(&d, "x", lt_int(3));
  fails("torch_safetensors_save", "must be a tensor", 2, d, S(tmp_path("w.safetensors")));
  lt_value_clear(&d);
  d = lt_dict_new(2);
  lt_dict_put(&d, "__metadata__", lt_handle_value(LT_H_TENSOR, make(LT_F32, (int64_t[]){2}, 1, 0)));
  fails("torch_safetensors_save", "reserved", 2, d, S(tmp_path("w.safetensors")));
  lt_value_clear(&d);
  d = lt_dict_new(2);
  lt_dict_put(&d, "x", lt_handle_value(LT_H_TENSOR, make(LT_F32, (int64_t[]){2}, 1, 0)));
  lt_dict_put(&d, "x", lt_handle_value(LT_H_TENSOR, make(LT_F32, (int64_t[]){2}, 1, 0)));
  fails("torch_safetensors_save", "twice", 2, d, S(tmp_path("w.safetensors")));
  lt_value_clear(&d);
  d = lt_dict_new(2);
  lt_dict_put(&d, "x", lt_handle_value(LT_H_TENSOR, make(LT_F32, (int64_t[]){2}, 1, 0)));
  lt_value meta = lt_dict_new(1);
  lt_dict_put(&meta, "k", L(1, lt_int(1)));
  fails("torch_safetensors_save", "string or a number", 3, d, S(tmp_path("w.safetensors")), meta);
  lt_value_clear(&meta);
  lt_value bad = lt_dict_new(1);
  lt_dict_put(&bad, "bad\xff", lt_handle_value(LT_H_TENSOR, make(LT_F32, (int64_t[]){2}, 1, 0)));
  fails("torch_safetensors_save", "UTF-8", 2, bad, S(tmp_path("w.safetensors")));
  lt_value_clear(&bad);
  fails("torch_safetensors_save", "empty", 2, d, S(""));
  fails("torch_safetensors_save", "NUL", 2, d, (lt_value){.kind = LT_STRING, .u.str = {"a\0b", 3, 0}});
  CHECK(access(tmp_path("w.safetensors"), F_OK) != 0); /* nothing was written */
  lt_value_clear(&d);
}

/* ---- 5. atomic writes ---- */
static void test_atomic(void) {
  lt_value d = all_dtypes_dict(2);
  const char *p = tmp_path("atomic.safetensors");
  ok("torch_safetensors_save", 2, d, S(p));
  size_t l0, l1;
  unsigned char *before = (unsigned char *)slurp(p, &l0);
  lt_value d2 = all_dtypes_dict(5);
  /* the temporary file cannot be created: error, the old file unchanged */
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  CHECK(mkdir(tmp, 0700) == 0);
  fails("torch_safetensors_save", "left unchanged", 2, d2, S(p));
  unsigned char *after = (unsigned char *)slurp(p, &l1);
  CHECK(before && after && l0 == l1 && memcmp(before, after, l0) == 0);
  free(after);
  CHECK(rmdir(tmp) == 0);
  /* a directory that does not exist */
  fails("torch_safetensors_save", "No such file", 2, d2, S(tmp_path("no/such/dir/x.safetensors")));
  /* the path is a directory: the rename fails, the temporary file is removed */
  const char *dir = tmp_path("adir");
  CHECK(mkdir(dir, 0700) == 0);
  fails("torch_safetensors_save", "cannot rename", 2, d2, S(dir));
  snprintf(tmp, sizeof tmp, "%s.tmp", dir);
  CHECK(access(tmp, F_OK) != 0);
  CHECK(rmdir(dir) == 0);
  /* a successful write replaces the file and leaves no temporary behind */
  ok("torch_safetensors_save", 2, d2, S(p));
  after = (unsigned char *)slurp(p, &l1);
  CHECK(after && (l0 != l1 || memcmp(before, after, l0) != 0));
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  CHECK(access(tmp, F_OK) != 0);
  free(before);
  free(after);
  lt_value_clear(&d2);
  lt_value_clear(&d);
}

/* ---- 6. fuzz: mutated files never crash, errors are clean ---- */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void test_fuzz(void) {
  const char *path = test_data("safetensors_golden.safetensors");
  size_t glen, llen;
  unsigned char *seeds[2];
  size_t lens[2];
  seeds[0] = (unsigned char *)slurp(path, &glen);
  lens[0] = glen;
  seeds[1] = (unsigned char *)slurp(tmp_path("all.safetensors"), &llen);
  lens[1] = llen;
  if (!seeds[0] || !seeds[1]) {
    CHECK(0);
    return;
  }
  int64_t live = lts_live_tensors();
  int loaded = 0, rejected = 0, unnamed = 0;
  const int iterations = 4000;
  static const char *tokens[] = {"0", "-1", "18446744073709551615", "9223372036854775807", "1e3", "[]", "{}", "\"F32\"",
                                 "\"BOOL\"", "\"I64\"", "null", ",", ":", "\"", "[", "]", "{", "}", "\\u0000", "99999"};
  for (int it = 0; it < iterations; it++) {
    int s = (int)(next() % 2);
    size_t len = lens[s];
    unsigned char *b = malloc(len + 64);
    memcpy(b, seeds[s], len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    int muts = 1 + (int)(next() % 4);
    for (int k = 0; k < muts; k++) {
      switch (next() % 8) {
      case 0: /* flip a byte in the header */
        b[8 + next() % (hl ? hl : 1)] ^= (unsigned char)(1 + next() % 255);
        break;
      case 1: /* a random byte anywhere */
        if (len) b[next() % len] = (unsigned char)next();
        break;
      case 2: /* the length field */
        b[next() % 8] = (unsigned char)next();
        break;
      case 3: /* truncate */
        len = next() % (len + 1);
        break;
      case 4: { /* a JSON token over a digit or a quote */
        size_t pos = 8 + next() % (hl ? hl : 1);
        const char *t = tokens[next() % (sizeof tokens / sizeof *tokens)];
        size_t tl = strlen(t);
        if (pos + tl <= len) memcpy(b + pos, t, tl);
        break;
      }
      case 5: { /* change a digit of the header (offsets, shapes) */
        for (int tries = 0; tries < 64; tries++) {
          size_t pos = 8 + next() % (hl ? hl : 1);
          if (pos < len && b[pos] >= '0' && b[pos] <= '9') {
            b[pos] = (unsigned char)('0' + next() % 10);
            break;
          }
        }
        break;
      }
      case 6: /* grow the file with junk */
        if (len + 8 <= lens[s] + 64)
          for (int i = 0; i < 8; i++) b[len++] = (unsigned char)next();
        break;
      default: /* header length +- a little */
        put_len(b, hl + (next() % 17) - 8);
        break;
      }
    }
    lt_value d, m;
    int rc;
    if (it % 10 == 0) { /* through a real file now and then */
      write_file(tmp_path("fuzz.safetensors"), b, len);
      rc = lt_safetensors_load(tmp_path("fuzz.safetensors"), NULL, &d, &m);
    } else {
      rc = lt_safetensors_load_memory(b, len, NULL, &d, &m);
    }
    if (rc == LT_OK) {
      loaded++;
      CHECK(d.kind == LT_DICT && m.kind == LT_DICT);
    } else {
      rejected++;
      if (!lt_last_error()[0] || d.kind != LT_NIL) unnamed++;
    }
    lt_value_clear(&d);
    lt_value_clear(&m);
    free(b);
  }
  CHECK(unnamed == 0);
  CHECK(rejected > iterations / 2);
  CHECK(lts_live_tensors() == live); /* nothing leaked */
  printf("fuzz: %d mutated files, %d loaded, %d rejected with a message\n", iterations, loaded, rejected);
  free(seeds[0]);
  free(seeds[1]);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  if (make_tmpdir(tmpdir, sizeof tmpdir, "safetensors") != 0) return 1;
  int64_t live = lts_live_tensors();
  test_golden();
  test_round_trip();
  test_library_golden();
  test_errors();
  test_atomic();
  test_fuzz();
  CHECK(lts_live_tensors() == live);
  remove_tmpdir(tmpdir);
  return test_summary("test_safetensors");
}
