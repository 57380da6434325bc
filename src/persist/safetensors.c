/* safetensors.c - reading and writing the safetensors format (see
 * include/lt_safetensors.h for the rules followed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lt_internal.h"
#include "lt_persist.h"
#include "lt_safetensors.h"

/* ---- dtypes ---- */
static const struct {
  const char *name;
  int rank; /* order of the reference writer: higher first */
} st_dtypes[LT_DTYPE_COUNT] = {
    [LT_F32] = {"F32", 7}, [LT_F64] = {"F64", 8}, [LT_F16] = {"F16", 4}, [LT_BF16] = {"BF16", 5},
    [LT_I64] = {"I64", 9}, [LT_I32] = {"I32", 6}, [LT_I16] = {"I16", 3}, [LT_I8] = {"I8", 2},
    [LT_U8] = {"U8", 1},   [LT_BOOL8] = {"BOOL", 0},
};

/* dtypes of the format that lispe_torch cannot hold (for a clear message) */
static const char *const st_foreign[] = {"U16", "U32", "U64", "C64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4",
                                         "F6_E2M3", "F6_E3M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", NULL};

const char *lt_safetensors_dtype_name(lt_dtype dt) {
  return (int)dt >= 0 && dt < LT_DTYPE_COUNT && st_dtypes[dt].name ? st_dtypes[dt].name : "?";
}

int lt_safetensors_dtype_parse(const char *s, lt_dtype *out) {
  for (int i = 0; i < LT_DTYPE_COUNT; i++)
    if (st_dtypes[i].name && strcmp(s, st_dtypes[i].name) == 0) {
      *out = (lt_dtype)i;
      return 0;
    }
  return -1;
}

static int host_is_big_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 0;
}

static void byteswap(uint8_t *p, size_t nbytes, size_t elem) {
  if (elem < 2) return;
  for (size_t i = 0; i + elem <= nbytes; i += elem)
    for (size_t a = i, b = i + elem - 1; a < b; a++, b--) {
      uint8_t t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
}

/* ======================= reading ======================= */

typedef struct {
  int (*read_at)(void *ctx, uint64_t off, void *dst, size_t n); /* LT_OK or lt_fail */
  void *ctx;
  uint64_t size;
  const char *what; /* the path, for messages */
} st_source;

typedef struct {
  const char *name; /* owned by the JSON object */
  lt_dtype dtype;
  int nd;
  int64_t dims[LTS_MAX_DIMS];
  uint64_t begin, end;
} st_entry;

typedef struct {
  json_object *root;
  st_entry *e;
  int64_t n;
  json_object *meta; /* borrowed from root, or NULL */
  uint64_t data_start;
} st_header;

static void header_free(st_header *h) {
  if (h->root) json_object_put(h->root);
  free(h->e);
  memset(h, 0, sizeof *h);
}

static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t len;
    unsigned min;
    if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    i += len;
  }
  return 1;
}

/* json-c accepts a little more than JSON (single-quoted strings, NaN,
 * Infinity): outside strings only JSON's own characters may appear.
 * Returns the offset of the first other character, or n. */
static size_t json_outside_strings(const char *s, size_t n) {
  int in = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (in) {
      if (c == '\\') i++;
      else if (c == '"') in = 0;
    } else if (c == '"') {
      in = 1;
    } else if (!strchr(" \t\r\n{}[]:,-+.0123456789eEtruefalsn", c)) {
      return i;
    }
  }
  return n;
}

/* a JSON integer that is >= 0 (json-c keeps integers beyond int64 as uint64) */
static int json_uint(json_object *o, uint64_t *out) {
  if (!o || json_object_get_type(o) != json_type_int) return 0;
  int64_t v = json_object_get_int64(o);
  if (v < 0) return 0;
  if (v == INT64_MAX) {
    *out = json_object_get_uint64(o);
    return 1;
  }
  *out = (uint64_t)v;
  return 1;
}

static int cmp_offsets(const void *a, const void *b) {
  const st_entry *x = (const st_entry *)a, *y = (const st_entry *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

static int parse_entry(const st_source *src, const char *name, json_object *v, st_entry *e) {
  if (json_object_get_type(v) != json_type_object)
    return lt_fail("%s: header entry \"%s\" is not an object", src->what, name);
  json_object *dt = NULL, *shape = NULL, *off = NULL;
  if (!json_object_object_get_ex(v, "dtype", &dt) || json_object_get_type(dt) != json_type_string)
    return lt_fail("%s: tensor \"%s\" has no \"dtype\" string", src->what, name);
  if (!json_object_object_get_ex(v, "shape", &shape) || json_object_get_type(shape) != json_type_array)
    return lt_fail("%s: tensor \"%s\" has no \"shape\" list", src->what, name);
  if (!json_object_object_get_ex(v, "data_offsets", &off) || json_object_get_type(off) != json_type_array ||
      json_object_array_length(off) != 2)
    return lt_fail("%s: tensor \"%s\" has no \"data_offsets\" [begin, end]", src->what, name);
  e->name = name;
  const char *dts = json_object_get_string(dt);
  if (lt_safetensors_dtype_parse(dts, &e->dtype) != 0) {
    for (int i = 0; st_foreign[i]; i++)
      if (strcmp(dts, st_foreign[i]) == 0)
        return lt_fail("%s: tensor \"%s\" has dtype %s, which lispe_torch does not support", src->what, name, dts);
    return lt_fail("%s: tensor \"%s\" has an unknown dtype \"%.40s\"", src->what, name, dts);
  }
  size_t nd = json_object_array_length(shape);
  if (nd > LTS_MAX_DIMS)
    return lt_fail("%s: tensor \"%s\" has %zu dimensions (at most %d supported)", src->what, name, nd, LTS_MAX_DIMS);
  e->nd = (int)nd;
  uint64_t numel = 1;
  for (size_t i = 0; i < nd; i++) {
    uint64_t d;
    if (!json_uint(json_object_array_get_idx(shape, i), &d) || d > (uint64_t)INT64_MAX)
      return lt_fail("%s: tensor \"%s\": shape entries must be non-negative integers", src->what, name);
    e->dims[i] = (int64_t)d;
    if (__builtin_mul_overflow(numel, d, &numel))
      return lt_fail("%s: tensor \"%s\": the shape overflows", src->what, name);
  }
  if (!json_uint(json_object_array_get_idx(off, 0), &e->begin) || !json_uint(json_object_array_get_idx(off, 1), &e->end))
    return lt_fail("%s: tensor \"%s\": data_offsets must be non-negative integers", src->what, name);
  if (e->end < e->begin)
    return lt_fail("%s: tensor \"%s\": data_offsets [%llu, %llu) end before they begin", src->what, name,
                   (unsigned long long)e->begin, (unsigned long long)e->end);
  uint64_t nbytes;
  if (__builtin_mul_overflow(numel, (uint64_t)lt_dtype_size(e->dtype), &nbytes))
    return lt_fail("%s: tensor \"%s\": the shape overflows", src->what, name);
  if (nbytes != e->end - e->begin)
    return lt_fail("%s: tensor \"%s\": shape and dtype %s make %llu bytes, data_offsets hold %llu", src->what, name,
                   st_dtypes[e->dtype].name, (unsigned long long)nbytes, (unsigned long long)(e->end - e->begin));
  return LT_OK;
}

/* Reads and checks the header; entries sorted by offset (file order). */
static int parse_header(const st_source *src, st_header *h) {
  memset(h, 0, sizeof *h);
  if (src->size < 8)
    return lt_fail("%s: not a safetensors file (%llu bytes, shorter than the 8-byte header length)", src->what,
                   (unsigned long long)src->size);
  uint8_t lenb[8];
  if (src->read_at(src->ctx, 0, lenb, 8) != LT_OK) return LT_ERROR;
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | lenb[i];
  if (n > LT_SAFETENSORS_MAX_HEADER)
    return lt_fail("%s: header length %llu is too large (limit %d): not a safetensors file?", src->what,
                   (unsigned long long)n, LT_SAFETENSORS_MAX_HEADER);
  if (n > src->size - 8)
    return lt_fail("%s: header length %llu goes past the end of the file (%llu bytes)", src->what, (unsigned long long)n,
                   (unsigned long long)src->size);
  if (n < 2) return lt_fail("%s: the header is not a JSON object", src->what);
  char *text = (char *)malloc((size_t)n + 1);
  if (!text) return lt_fail("%s: out of memory for a %llu-byte header", src->what, (unsigned long long)n);
  if (src->read_at(src->ctx, 8, text, (size_t)n) != LT_OK) {
    free(text);
    return LT_ERROR;
  }
  text[n] = 0;
  int rc = LT_ERROR;
  if (text[0] != '{') {
    lt_fail("%s: the header does not start with '{': not a safetensors file", src->what);
    goto out;
  }
  if (memchr(text, 0, (size_t)n)) {
    lt_fail("%s: the header holds a NUL byte", src->what);
    goto out;
  }
  if (!utf8_valid((const unsigned char *)text, (size_t)n)) {
    lt_fail("%s: the header is not valid UTF-8", src->what);
    goto out;
  }
  size_t odd = json_outside_strings(text, (size_t)n);
  if (odd < n) {
    lt_fail("%s: the header is not valid JSON (unexpected character '%c' at byte %zu)", src->what, text[odd], odd);
    goto out;
  }
  json_tokener *tok = json_tokener_new_ex(8);
  if (!tok) {
    lt_fail("out of memory");
    goto out;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  h->root = json_tokener_parse_ex(tok, text, (int)n);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (!h->root || jerr != json_tokener_success) {
    lt_fail("%s: the header is not valid JSON (%s at byte %zu)", src->what,
            jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr), end);
    goto out;
  }
  for (size_t i = end; i < n; i++)
    if (!strchr(" \t\r\n", text[i])) {
      lt_fail("%s: unexpected bytes after the JSON header (at byte %zu)", src->what, i);
      goto out;
    }
  if (json_object_get_type(h->root) != json_type_object) {
    lt_fail("%s: the header is not a JSON object", src->what);
    goto out;
  }
  int64_t count = json_object_object_length(h->root);
  h->e = (st_entry *)calloc((size_t)(count ? count : 1), sizeof(st_entry));
  if (!h->e) {
    lt_fail("out of memory");
    goto out;
  }
  json_object_object_foreach(h->root, key, val) {
    if (strcmp(key, "__metadata__") == 0) {
      if (json_object_get_type(val) != json_type_object) {
        lt_fail("%s: \"__metadata__\" is not an object", src->what);
        goto out;
      }
      json_object_object_foreach(val, mk, mv) {
        if (json_object_get_type(mv) != json_type_string) {
          lt_fail("%s: metadata \"%s\" is not a string", src->what, mk);
          goto out;
        }
      }
      h->meta = val;
      continue;
    }
    if (parse_entry(src, key, val, &h->e[h->n]) != LT_OK) goto out;
    h->n++;
  }
  qsort(h->e, (size_t)h->n, sizeof(st_entry), cmp_offsets);
  uint64_t pos = 0, buffer = src->size - 8 - n;
  for (int64_t i = 0; i < h->n; i++) {
    if (h->e[i].begin != pos) {
      if (h->e[i].begin < pos)
        lt_fail("%s: tensor \"%s\" overlaps the tensor before it (offset %llu < %llu)", src->what, h->e[i].name,
                (unsigned long long)h->e[i].begin, (unsigned long long)pos);
      else
        lt_fail("%s: a gap of %llu bytes before tensor \"%s\" (offsets must be contiguous)", src->what,
                (unsigned long long)(h->e[i].begin - pos), h->e[i].name);
      goto out;
    }
    pos = h->e[i].end;
    if (pos > buffer) {
      lt_fail("%s: tensor \"%s\" ends at byte %llu of a %llu-byte data buffer (truncated file?)", src->what,
              h->e[i].name, (unsigned long long)pos, (unsigned long long)buffer);
      goto out;
    }
  }
  if (pos != buffer) {
    lt_fail("%s: the tensors cover %llu bytes of a %llu-byte data buffer", src->what, (unsigned long long)pos,
            (unsigned long long)buffer);
    goto out;
  }
  h->data_start = 8 + n;
  rc = LT_OK;
out:
  free(text);
  if (rc != LT_OK) header_free(h);
  return rc;
}

static lt_value metadata_dict(const st_header *h) {
  lt_value m = lt_dict_new(h->meta ? json_object_object_length(h->meta) : 0);
  if (h->meta) {
    json_object_object_foreach(h->meta, k, v) {
      lt_dict_put(&m, k, lt_string_copy(json_object_get_string(v), (size_t)json_object_get_string_len(v)));
    }
  }
  return m;
}

static void free_ctx(void *p) { free(p); }

static int read_tensor(const st_source *src, const st_header *h, const st_entry *e, const char *device, lts_tensor **out) {
  size_t nbytes = (size_t)(e->end - e->begin);
  if ((uint64_t)nbytes != e->end - e->begin) return lt_fail("%s: tensor \"%s\" is too large", src->what, e->name);
  /* 64-byte aligned as libtorch's own allocations */
  void *buf = NULL;
  if (posix_memalign(&buf, 64, nbytes ? nbytes : 1) != 0)
    return lt_fail("%s: out of memory for tensor \"%s\" (%zu bytes)", src->what, e->name, nbytes);
  if (nbytes && src->read_at(src->ctx, h->data_start + e->begin, buf, nbytes) != LT_OK) {
    free(buf);
    return LT_ERROR;
  }
  if (host_is_big_endian()) byteswap((uint8_t *)buf, nbytes, lt_dtype_size(e->dtype));
  if (e->dtype == LT_BOOL8)
    for (size_t i = 0; i < nbytes; i++) ((uint8_t *)buf)[i] = ((uint8_t *)buf)[i] != 0;
  lts_tensor *t = NULL;
  if (lts_from_blob(buf, e->dims, e->nd, e->dtype, free_ctx, buf, &t)) {
    free(buf);
    return lt_fail("%s: tensor \"%s\": %s", src->what, e->name, lts_last_error());
  }
  if (device && strcmp(device, "cpu") != 0) {
    lts_tensor *moved = NULL;
    int rc = lts_to(t, -1, device, &moved);
    lts_tensor_free(t);
    if (rc) return lt_fail("%s: tensor \"%s\" to %s: %s", src->what, e->name, device, lts_last_error());
    t = moved;
  }
  *out = t;
  return LT_OK;
}

static int load_source(const st_source *src, const char *device, lt_value *tensors, lt_value *metadata) {
  *tensors = lt_nil();
  if (metadata) *metadata = lt_nil();
  st_header h;
  if (parse_header(src, &h) != LT_OK) return LT_ERROR;
  lt_value d = lt_dict_new(h.n);
  for (int64_t i = 0; i < h.n; i++) {
    lts_tensor *t = NULL;
    if (read_tensor(src, &h, &h.e[i], device, &t) != LT_OK) {
      lt_value_clear(&d);
      header_free(&h);
      return LT_ERROR;
    }
    lt_dict_put(&d, h.e[i].name, lt_handle_value(LT_H_TENSOR, t));
  }
  if (metadata) *metadata = metadata_dict(&h);
  header_free(&h);
  *tensors = d;
  return LT_OK;
}

/* --- sources --- */
typedef struct {
  int fd;
  const char *path;
} file_ctx;

static int file_read_at(void *ctx, uint64_t off, void *dst, size_t n) {
  file_ctx *f = (file_ctx *)ctx;
  uint8_t *p = (uint8_t *)dst;
  while (n > 0) {
    size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
    ssize_t r = pread(f->fd, p, chunk, (off_t)off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return lt_fail("%s: read error: %s", f->path, strerror(errno));
    }
    if (r == 0) return lt_fail("%s: the file ended early (was it changed while being read?)", f->path);
    p += r;
    off += (uint64_t)r;
    n -= (size_t)r;
  }
  return LT_OK;
}

typedef struct {
  const uint8_t *data;
  size_t len;
} mem_ctx;

static int mem_read_at(void *ctx, uint64_t off, void *dst, size_t n) {
  mem_ctx *m = (mem_ctx *)ctx;
  if (off > m->len || n > m->len - off) return lt_fail("read past the end of the buffer");
  memcpy(dst, m->data + off, n);
  return LT_OK;
}

static int open_source(const char *path, file_ctx *f, st_source *src) {
  f->path = path;
  f->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) return lt_fail("cannot open %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(f->fd, &st) != 0) {
    int e = errno;
    close(f->fd);
    return lt_fail("cannot read %s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(f->fd);
    return lt_fail("cannot read %s: %s", path, S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
  }
  src->read_at = file_read_at;
  src->ctx = f;
  src->size = (uint64_t)st.st_size;
  src->what = path;
  return LT_OK;
}

int lt_safetensors_load(const char *path, const char *device, lt_value *tensors, lt_value *metadata) {
  file_ctx f;
  st_source src;
  *tensors = lt_nil();
  if (metadata) *metadata = lt_nil();
  if (open_source(path, &f, &src) != LT_OK) return LT_ERROR;
  int rc = load_source(&src, device, tensors, metadata);
  close(f.fd);
  return rc;
}

int lt_safetensors_load_memory(const void *data, size_t len, const char *device, lt_value *tensors, lt_value *metadata) {
  mem_ctx m = {(const uint8_t *)data, len};
  st_source src = {mem_read_at, &m, (uint64_t)len, "(memory)"};
  return load_source(&src, device, tensors, metadata);
}

int lt_safetensors_metadata(const char *path, lt_value *metadata) {
  file_ctx f;
  st_source src;
  *metadata = lt_nil();
  if (open_source(path, &f, &src) != LT_OK) return LT_ERROR;
  st_header h;
  int rc = parse_header(&src, &h);
  close(f.fd);
  if (rc != LT_OK) return LT_ERROR;
  *metadata = metadata_dict(&h);
  header_free(&h);
  return LT_OK;
}

/* ======================= writing ======================= */

typedef struct {
  const char *name;
  lts_tensor *t; /* CPU contiguous, new reference */
  lt_dtype dtype;
  int nd;
  int64_t dims[LTS_MAX_DIMS];
  uint64_t nbytes;
} w_entry;

static int cmp_write_order(const void *a, const void *b) {
  const w_entry *x = (const w_entry *)a, *y = (const w_entry *)b;
  int rx = st_dtypes[x->dtype].rank, ry = st_dtypes[y->dtype].rank;
  if (rx != ry) return ry - rx;
  return strcmp(x->name, y->name);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* metadata value as text: strings as they are, numbers printed */
static json_object *meta_value(const char *key, const lt_value *v) {
  char buf[64];
  switch (v->kind) {
  case LT_STRING: return json_object_new_string_len(v->u.str.s, (int)v->u.str.len);
  case LT_INT: snprintf(buf, sizeof buf, "%lld", (long long)v->u.i); return json_object_new_string(buf);
  case LT_FLOAT: snprintf(buf, sizeof buf, "%.17g", v->u.f); return json_object_new_string(buf);
  case LT_BOOL: return json_object_new_string(v->u.b ? "true" : "false");
  default: lt_fail("metadata \"%s\" must be a string or a number, got %s", key, lt_kind_name(v)); return NULL;
  }
}

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = (const uint8_t *)p;
  while (n > 0) {
    size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
    ssize_t w = write(fd, b, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

int lt_persist_tmp_path(const char *path, char **tmp) {
  size_t n = strlen(path);
  if (n == 0) return lt_fail("the path is empty");
  *tmp = (char *)malloc(n + 5);
  if (!*tmp) return lt_fail("out of memory");
  memcpy(*tmp, path, n);
  memcpy(*tmp + n, ".tmp", 5);
  return LT_OK;
}

/* writes header + entries to path.tmp, then renames it over path */
static int write_file(const char *path, const char *header, size_t hlen, w_entry *e, int64_t n) {
  char *tmp = NULL;
  if (lt_persist_tmp_path(path, &tmp) != LT_OK) return LT_ERROR;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    lt_fail("cannot create %s: %s (%s left unchanged)", tmp, strerror(errno), path);
    free(tmp);
    return LT_ERROR;
  }
  uint8_t lenb[8];
  for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  int bad = write_all(fd, lenb, 8) || write_all(fd, header, hlen);
  int big = host_is_big_endian();
  for (int64_t i = 0; i < n && !bad; i++) {
    if (!e[i].nbytes) continue;
    const void *data = lts_data_ptr(e[i].t);
    if (!data) {
      errno = EINVAL;
      bad = 1;
      break;
    }
    if (big && lt_dtype_size(e[i].dtype) > 1) {
      uint8_t *copy = (uint8_t *)malloc((size_t)e[i].nbytes);
      if (!copy) { errno = ENOMEM; bad = 1; break; }
      memcpy(copy, data, (size_t)e[i].nbytes);
      byteswap(copy, (size_t)e[i].nbytes, lt_dtype_size(e[i].dtype));
      bad = write_all(fd, copy, (size_t)e[i].nbytes);
      free(copy);
    } else {
      bad = write_all(fd, data, (size_t)e[i].nbytes);
    }
  }
  if (!bad && fsync(fd) != 0 && errno != EINVAL && errno != EROFS) bad = 1;
  int err = errno;
  if (close(fd) != 0 && !bad) {
    bad = 1;
    err = errno;
  }
  if (bad) {
    unlink(tmp);
    lt_fail("cannot write %s: %s (%s left unchanged)", tmp, strerror(err), path);
    free(tmp);
    return LT_ERROR;
  }
  if (rename(tmp, path) != 0) {
    err = errno;
    unlink(tmp);
    lt_fail("cannot rename %s to %s: %s (%s left unchanged)", tmp, path, strerror(err), path);
    free(tmp);
    return LT_ERROR;
  }
  free(tmp);
  return LT_OK;
}

int lt_safetensors_save(const char *path, const lt_value *tensors, const lt_value *metadata) {
  if (!tensors || tensors->kind != LT_DICT) return lt_fail("the tensors must be a dictionary name -> tensor");
  if (metadata && metadata->kind != LT_NIL && metadata->kind != LT_DICT)
    return lt_fail("the metadata must be a dictionary string -> string, got %s", lt_kind_name(metadata));
  int64_t n = tensors->u.dict.n;
  w_entry *e = (w_entry *)calloc((size_t)(n ? n : 1), sizeof(w_entry));
  json_object *root = NULL;
  const char **mkeys = NULL;
  int rc = LT_ERROR;
  if (!e) return lt_fail("out of memory");
  int64_t made = 0;
  for (int64_t i = 0; i < n; i++) {
    const char *name = tensors->u.dict.keys[i];
    const lt_value *v = &tensors->u.dict.vals[i];
    if (strcmp(name, "__metadata__") == 0) {
      lt_fail("\"__metadata__\" is reserved by the format and cannot name a tensor");
      goto out;
    }
    for (int64_t j = 0; j < i; j++)
      if (strcmp(tensors->u.dict.keys[j], name) == 0) {
        lt_fail("the name \"%s\" appears twice", name);
        goto out;
      }
    if (!utf8_valid((const unsigned char *)name, strlen(name))) {
      lt_fail("the name \"%s\" is not valid UTF-8", name);
      goto out;
    }
    if (!lt_is_tensor(v)) {
      lt_fail("the value of \"%s\" must be a tensor, got %s", name, lt_kind_name(v));
      goto out;
    }
    w_entry *w = &e[made];
    w->name = name;
    if (lts_cpu_contiguous(lt_tensor_of(v), &w->t)) {
      lt_fail("tensor \"%s\": %s", name, lts_last_error());
      goto out;
    }
    made++;
    w->dtype = lts_dtype(w->t);
    if ((int)w->dtype < 0 || w->dtype >= LT_DTYPE_COUNT || !st_dtypes[w->dtype].name) {
      lt_fail("tensor \"%s\" has a dtype the format cannot hold (%s; dequantize quantized tensors first)", name,
              lt_dtype_name(w->dtype));
      goto out;
    }
    w->nd = lts_shape(w->t, w->dims, LTS_MAX_DIMS);
    if (w->nd > LTS_MAX_DIMS) {
      lt_fail("tensor \"%s\" has more than %d dimensions", name, LTS_MAX_DIMS);
      goto out;
    }
    w->nbytes = (uint64_t)lts_numel(w->t) * lt_dtype_size(w->dtype);
  }
  qsort(e, (size_t)made, sizeof(w_entry), cmp_write_order);

  root = json_object_new_object();
  if (metadata && metadata->kind == LT_DICT && metadata->u.dict.n > 0) {
    int64_t m = metadata->u.dict.n;
    mkeys = (const char **)malloc(sizeof(char *) * (size_t)m);
    for (int64_t i = 0; i < m; i++) mkeys[i] = metadata->u.dict.keys[i];
    qsort(mkeys, (size_t)m, sizeof(char *), cmp_cstr);
    json_object *mo = json_object_new_object();
    json_object_object_add(root, "__metadata__", mo);
    for (int64_t i = 0; i < m; i++) {
      if (i > 0 && strcmp(mkeys[i], mkeys[i - 1]) == 0) {
        lt_fail("the metadata key \"%s\" appears twice", mkeys[i]);
        goto out;
      }
      json_object *mv = meta_value(mkeys[i], lt_dict_get(metadata, mkeys[i]));
      if (!mv) goto out;
      if (!utf8_valid((const unsigned char *)mkeys[i], strlen(mkeys[i])) ||
          !utf8_valid((const unsigned char *)json_object_get_string(mv), (size_t)json_object_get_string_len(mv))) {
        json_object_put(mv);
        lt_fail("the metadata \"%s\" is not valid UTF-8", mkeys[i]);
        goto out;
      }
      json_object_object_add(mo, mkeys[i], mv);
    }
  }
  uint64_t off = 0;
  for (int64_t i = 0; i < made; i++) {
    json_object *o = json_object_new_object(), *shape = json_object_new_array(), *offs = json_object_new_array();
    json_object_object_add(o, "dtype", json_object_new_string(st_dtypes[e[i].dtype].name));
    for (int d = 0; d < e[i].nd; d++) json_object_array_add(shape, json_object_new_int64(e[i].dims[d]));
    json_object_object_add(o, "shape", shape);
    json_object_array_add(offs, json_object_new_int64((int64_t)off));
    json_object_array_add(offs, json_object_new_int64((int64_t)(off + e[i].nbytes)));
    json_object_object_add(o, "data_offsets", offs);
    json_object_object_add(root, e[i].name, o);
    off += e[i].nbytes;
  }
  size_t jlen = 0;
  const char *js = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &jlen);
  if (!js) {
    lt_fail("out of memory");
    goto out;
  }
  size_t hlen = (jlen + 7) / 8 * 8;
  if (hlen > LT_SAFETENSORS_MAX_HEADER) {
    lt_fail("the header would be %zu bytes, more than readers accept (%d)", hlen, LT_SAFETENSORS_MAX_HEADER);
    goto out;
  }
  char *header = (char *)malloc(hlen ? hlen : 8);
  if (!header) {
    lt_fail("out of memory");
    goto out;
  }
  memcpy(header, js, jlen);
  memset(header + jlen, ' ', hlen - jlen);
  rc = write_file(path, header, hlen, e, made);
  free(header);
out:
  for (int64_t i = 0; i < made; i++) lts_tensor_free(e[i].t);
  free(e);
  free(mkeys);
  if (root) json_object_put(root);
  return rc;
}
