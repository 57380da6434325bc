/* tiktoken_prims.c - section 9: the tiktoken_* primitives over the C core of
 * lt_tiktoken.h (byte-level BPE, golden-exact with OpenAI's tiktoken and
 * Hugging Face byte-level tokenizer.json files). */
#include <json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tokenizer_internal.h"
#include "tokenizer_prims.h"

/* The core's messages start with "tiktoken: " (or "tiktoken decode: "):
 * the primitive's name already says it. */
static const char *core_msg(const char *e) {
  if (strncmp(e, "tiktoken: ", 10) == 0) return e + 10;
  if (strncmp(e, "tiktoken decode: ", 17) == 0) return e + 17;
  return e;
}

static int has_nul(const lt_value *v) { return memchr(v->u.str.s, 0, v->u.str.len) != NULL; }

static int tk_of(const lt_value *a, lt_tiktoken **t) {
  lt_tokenizer *k = lt_arg_tokenizer(&a[0], 1, "tok", LT_TOK_TIKTOKEN);
  if (!k) return LT_ERROR;
  *t = k->u.tk;
  return LT_OK;
}

/* ---- tiktoken_create: from the parts of a tokenizer.json ---- */

static int json_id(const lt_value *v, int64_t *id) {
  if (v->kind == LT_INT) *id = v->u.i;
  else if (v->kind == LT_FLOAT && v->u.f >= 0 && v->u.f <= 4294967295.0 && v->u.f == floor(v->u.f)) *id = (int64_t)v->u.f;
  else return 0;
  return *id >= 0 && *id <= (int64_t)UINT32_MAX;
}

static const lt_value *dict_get(const lt_value *d, const char *key) {
  for (int64_t i = 0; i < d->u.dict.n; i++)
    if (strcmp(d->u.dict.keys[i], key) == 0) return &d->u.dict.vals[i];
  return NULL;
}

static const char *value_desc(const lt_value *v) { return v ? lt_kind_name(v) : "nothing"; }

/* {"token": id} from a dictionary; NULL after lt_fail. */
static json_object *ids_object(const lt_value *d, int argi, const char *pname) {
  json_object *o = json_object_new_object();
  if (!o) {
    lt_fail("out of memory");
    return NULL;
  }
  for (int64_t i = 0; i < d->u.dict.n; i++) {
    int64_t id;
    if (!json_id(&d->u.dict.vals[i], &id)) {
      lt_fail("argument %d (%s): the id of \"%.60s\" must be a non-negative integer, got %s", argi, pname,
              d->u.dict.keys[i], value_desc(&d->u.dict.vals[i]));
      json_object_put(o);
      return NULL;
    }
    json_object *j = json_object_new_int64(id);
    if (!j || json_object_object_add(o, d->u.dict.keys[i], j) != 0) {
      json_object_put(j);
      json_object_put(o);
      lt_fail("out of memory");
      return NULL;
    }
  }
  return o;
}

/* added_tokens: a list of {content, id} dictionaries, or a dictionary token -> id. */
static json_object *specials_json(const lt_value *v) {
  if (v->kind == LT_DICT) return ids_object(v, 2, "special_tokens");
  if (v->kind != LT_LIST) {
    lt_fail("argument 2 (special_tokens) must be a list of dictionaries with \"content\" and \"id\" (the "
            "added_tokens of a tokenizer.json), a dictionary token -> id, or nil, got %s",
            lt_kind_name(v));
    return NULL;
  }
  json_object *arr = json_object_new_array();
  if (!arr) {
    lt_fail("out of memory");
    return NULL;
  }
  for (int64_t i = 0; i < v->u.list.n; i++) {
    const lt_value *it = &v->u.list.items[i];
    const lt_value *c = it->kind == LT_DICT ? dict_get(it, "content") : NULL;
    const lt_value *idv = it->kind == LT_DICT ? dict_get(it, "id") : NULL;
    int64_t id;
    if (it->kind != LT_DICT || !c || c->kind != LT_STRING || !idv || !json_id(idv, &id)) {
      lt_fail("argument 2 (special_tokens): item %lld must be a dictionary with a string \"content\" and a "
              "non-negative integer \"id\", got %s%s",
              (long long)i, lt_kind_name(it),
              it->kind != LT_DICT ? "" : !c ? " without \"content\"" : c->kind != LT_STRING ? " whose content is not a string"
                                     : !idv ? " without \"id\"" : " whose id is not a non-negative integer");
      json_object_put(arr);
      return NULL;
    }
    json_object *e = json_object_new_object();
    json_object *js = e ? json_object_new_string_len(c->u.str.s, (int)c->u.str.len) : NULL;
    json_object *ji = e ? json_object_new_int64(id) : NULL;
    if (!e || !js || !ji || json_object_object_add(e, "content", js) != 0) {
      json_object_put(js);
      json_object_put(ji);
      json_object_put(e);
      json_object_put(arr);
      lt_fail("out of memory");
      return NULL;
    }
    json_object_object_add(e, "id", ji);
    json_object_array_add(arr, e);
  }
  return arr;
}

int lt_p_tk_create(const lt_value *a, lt_value *out) {
  char err[1024];
  char *pattern = NULL;
  if (lt_present(&a[2])) {
    if (has_nul(&a[2])) return lt_fail("argument 3 (pattern) contains a NUL byte");
    pattern = lt_str_dup(&a[2]);
    if (!pattern) return lt_fail("out of memory");
    /* compile once alone so that a bad pattern is reported as such */
    lt_tiktoken *probe = lt_tiktoken_new(pattern, err, sizeof err);
    if (!probe) {
      free(pattern);
      return lt_fail("argument 3 (pattern): %s", core_msg(err));
    }
    lt_tiktoken_free(probe);
  }
  json_object *vocab = ids_object(&a[0], 1, "vocab");
  if (!vocab) {
    free(pattern);
    return LT_ERROR;
  }
  json_object *spec = NULL;
  if (lt_present(&a[1])) {
    spec = specials_json(&a[1]);
    if (!spec) {
      json_object_put(vocab);
      free(pattern);
      return LT_ERROR;
    }
  }
  const char *vtext = json_object_to_json_string_ext(vocab, JSON_C_TO_STRING_PLAIN);
  const char *stext = spec ? json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN) : NULL;
  lt_tiktoken *t = (vtext && (!spec || stext)) ? lt_tiktoken_from_hf_parts(vtext, stext, pattern, err, sizeof err) : NULL;
  if (!vtext || (spec && !stext)) snprintf(err, sizeof err, "out of memory");
  json_object_put(vocab);
  json_object_put(spec);
  free(pattern);
  if (!t) return lt_fail("%s", core_msg(err));
  return lt_tokenizer_wrap(LT_TOK_TIKTOKEN, t, out);
}

int lt_p_tk_load(const lt_value *a, lt_value *out) {
  char err[1024];
  if (has_nul(&a[0])) return lt_fail("argument 1 (path) contains a NUL byte");
  char *path = lt_str_dup(&a[0]);
  if (!path) return lt_fail("out of memory");
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    lt_fail("argument 1 (path): '%s' is not a regular file", path);
    free(path);
    return LT_ERROR;
  }
  lt_tiktoken *t = lt_tiktoken_load_file(path, err, sizeof err);
  free(path);
  if (!t) return lt_fail("argument 1 (path): %s", core_msg(err));
  return lt_tokenizer_wrap(LT_TOK_TIKTOKEN, t, out);
}

/* ---- encoding ---- */

typedef struct {
  int all;
  char **texts;
  size_t n;
} allowed_set;

static void allowed_free(allowed_set *s) {
  for (size_t i = 0; i < s->n; i++) free(s->texts[i]);
  free(s->texts);
  s->texts = NULL;
  s->n = 0;
}

static int allowed_add(lt_tiktoken *t, allowed_set *s, const lt_value *v, int argi) {
  if (lt_tiktoken_special_id(t, v->u.str.s, v->u.str.len) < 0)
    return lt_fail("argument %d (allowed_special): \"%.*s\" is not a special token of this tokenizer", argi,
                   (int)(v->u.str.len > 60 ? 60 : v->u.str.len), v->u.str.s);
  char *c = lt_str_dup(v);
  if (!c) return lt_fail("out of memory");
  s->texts[s->n++] = c;
  return LT_OK;
}

/* nil / false: none; "all" / true: all; a special token text; a list of them. */
static int read_allowed(lt_tiktoken *t, const lt_value *v, int argi, allowed_set *s) {
  memset(s, 0, sizeof *s);
  switch (v->kind) {
  case LT_NIL: return LT_OK;
  case LT_BOOL: s->all = v->u.b; return LT_OK;
  case LT_STRING:
    if (v->u.str.len == 3 && memcmp(v->u.str.s, "all", 3) == 0) {
      s->all = 1;
      return LT_OK;
    }
    if (v->u.str.len == 0) return LT_OK;
    s->texts = (char **)malloc(sizeof(char *));
    if (!s->texts) return lt_fail("out of memory");
    if (allowed_add(t, s, v, argi) != LT_OK) {
      allowed_free(s);
      return LT_ERROR;
    }
    return LT_OK;
  case LT_LIST:
    s->texts = (char **)malloc(sizeof(char *) * (size_t)(v->u.list.n ? v->u.list.n : 1));
    if (!s->texts) return lt_fail("out of memory");
    for (int64_t i = 0; i < v->u.list.n; i++) {
      const lt_value *e = &v->u.list.items[i];
      if (e->kind != LT_STRING) {
        allowed_free(s);
        return lt_fail("argument %d (allowed_special) must be \"all\" or a list of special token strings, item %lld is %s",
                       argi, (long long)i, lt_kind_name(e));
      }
      if (allowed_add(t, s, e, argi) != LT_OK) {
        allowed_free(s);
        return LT_ERROR;
      }
    }
    return LT_OK;
  default:
    return lt_fail("argument %d (allowed_special) must be \"all\", true, a special token string or a list of them, got %s",
                   argi, lt_kind_name(v));
  }
}

static int encode_with(lt_tiktoken *t, const char *text, size_t len, const allowed_set *s, int64_t **ids, int64_t *n) {
  uint32_t *r = NULL;
  size_t k = 0;
  int rc = lt_tiktoken_encode(t, text, len, s->all, (const char *const *)s->texts, s->n, &r, &k);
  if (rc) {
    if (rc == LT_TIKTOKEN_ENOTOKEN)
      return lt_fail("argument 2 (text) has bytes that no token of this vocabulary covers");
    return lt_fail("argument 2 (text): %s", lt_tiktoken_strerror(rc));
  }
  int64_t *o = (int64_t *)malloc(sizeof(int64_t) * (k ? k : 1));
  if (!o) {
    free(r);
    return lt_fail("out of memory");
  }
  for (size_t i = 0; i < k; i++) o[i] = r[i];
  free(r);
  *ids = o;
  *n = (int64_t)k;
  return LT_OK;
}

int lt_tk_encode(lt_tiktoken *t, const char *text, size_t len, int64_t **ids, int64_t *n) {
  allowed_set none = {0, NULL, 0};
  return encode_with(t, text, len, &none, ids, n);
}

int lt_p_tk_encode(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  allowed_set s;
  if (read_allowed(t, &a[2], 3, &s) != LT_OK) return LT_ERROR;
  int64_t *ids = NULL, n = 0;
  int rc = encode_with(t, a[1].u.str.s, a[1].u.str.len, &s, &ids, &n);
  allowed_free(&s);
  if (rc != LT_OK) return LT_ERROR;
  return lt_out_ids(ids, n, out);
}

int lt_p_tk_special_encode(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  int64_t id = lt_tiktoken_special_id(t, a[1].u.str.s, a[1].u.str.len);
  if (id >= 0) {
    *out = lt_int(id);
    return LT_OK;
  }
  allowed_set all = {1, NULL, 0};
  int64_t *ids = NULL, n = 0;
  if (encode_with(t, a[1].u.str.s, a[1].u.str.len, &all, &ids, &n) != LT_OK) return LT_ERROR;
  return lt_out_ids(ids, n, out);
}

int lt_p_tk_encode_batch(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  const lt_value *texts = &a[1];
  if (texts->kind != LT_LIST)
    return lt_fail("argument 2 (texts) must be a list of strings, got %s", lt_kind_name(texts));
  size_t n = (size_t)texts->u.list.n;
  for (size_t i = 0; i < n; i++)
    if (texts->u.list.items[i].kind != LT_STRING)
      return lt_fail("argument 2 (texts) must be a list of strings, item %zu is %s", i,
                     lt_kind_name(&texts->u.list.items[i]));
  allowed_set s;
  if (read_allowed(t, &a[2], 3, &s) != LT_OK) return LT_ERROR;
  lt_value res = lt_list_new((int64_t)n);
  if (n && !res.u.list.items) {
    allowed_free(&s);
    return lt_fail("out of memory");
  }
  if (s.n == 0 && n > 0) {
    /* the core's threaded batch (every text with the same specials rule) */
    const char **ptrs = (const char **)malloc(sizeof(char *) * n);
    size_t *lens = (size_t *)malloc(sizeof(size_t) * n);
    uint32_t **bids = NULL;
    size_t *bns = NULL;
    int rc = -1;
    if (ptrs && lens) {
      for (size_t i = 0; i < n; i++) {
        ptrs[i] = texts->u.list.items[i].u.str.s;
        lens[i] = texts->u.list.items[i].u.str.len;
      }
      rc = lt_tiktoken_encode_batch(t, ptrs, lens, n, s.all, 0, &bids, &bns);
    }
    free(ptrs);
    free(lens);
    if (rc) {
      lt_value_clear(&res);
      allowed_free(&s);
      if (rc == -1 && !bids) return lt_fail("out of memory");
      if (rc == LT_TIKTOKEN_ENOTOKEN) return lt_fail("argument 2 (texts): a text has bytes that no token of this vocabulary covers");
      return lt_fail("argument 2 (texts): %s", lt_tiktoken_strerror(rc));
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++)
      if (!bad && lt_out_u32_ids(bids[i], bns[i], &res.u.list.items[i]) != LT_OK) bad = 1;
    lt_tiktoken_free_batch(bids, bns, n);
    if (bad) {
      lt_value_clear(&res);
      allowed_free(&s);
      return LT_ERROR;
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      int64_t *ids = NULL, k = 0;
      const lt_value *e = &texts->u.list.items[i];
      if (encode_with(t, e->u.str.s, e->u.str.len, &s, &ids, &k) != LT_OK) {
        lt_value_clear(&res);
        allowed_free(&s);
        return LT_ERROR;
      }
      lt_out_ids(ids, k, &res.u.list.items[i]);
    }
  }
  allowed_free(&s);
  *out = res;
  return LT_OK;
}

/* ---- decoding ---- */

/* int64 ids -> uint32 (the core's type), checking the range. */
static int to_u32(lt_tiktoken *t, const int64_t *ids, int64_t n, int argi, const char *pname, uint32_t **out) {
  uint32_t *u = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
  if (!u) return lt_fail("out of memory");
  size_t vs = lt_tiktoken_vocab_size(t);
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || (uint64_t)ids[i] >= (uint64_t)vs) {
      free(u);
      return lt_fail("argument %d (%s): id %lld at position %lld is outside the vocabulary [0, %zu)", argi, pname,
                     (long long)ids[i], (long long)i, vs);
    }
    u[i] = (uint32_t)ids[i];
  }
  *out = u;
  return LT_OK;
}

int lt_tk_decode(lt_tiktoken *t, const int64_t *ids, int64_t n, int argi, char **text, size_t *len) {
  uint32_t *u;
  if (to_u32(t, ids, n, argi, "ids", &u) != LT_OK) return LT_ERROR;
  char err[512];
  int rc = lt_tiktoken_decode_text(t, u, (size_t)n, text, len, err, sizeof err);
  free(u);
  if (rc) return lt_fail("argument %d (ids): %s", argi, core_msg(err));
  return LT_OK;
}

int lt_p_tk_decode(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  int64_t *ids = NULL, n = 0;
  if (lt_read_ids(&a[1], 2, "ids", &ids, &n) != LT_OK) return LT_ERROR;
  char *text = NULL;
  size_t len = 0;
  int rc = lt_tk_decode(t, ids, n, 2, &text, &len);
  free(ids);
  if (rc != LT_OK) return LT_ERROR;
  *out = lt_string_owned(text, len);
  return LT_OK;
}

int lt_p_tk_decode_bytes(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  int64_t *ids = NULL, n = 0;
  if (lt_read_ids(&a[1], 2, "ids", &ids, &n) != LT_OK) return LT_ERROR;
  uint32_t *u;
  int rc = to_u32(t, ids, n, 2, "ids", &u);
  free(ids);
  if (rc != LT_OK) return LT_ERROR;
  uint8_t *b = NULL;
  size_t bl = 0;
  char err[512];
  rc = lt_tiktoken_decode_bytes(t, u, (size_t)n, &b, &bl, err, sizeof err);
  free(u);
  if (rc) return lt_fail("argument 2 (ids): %s", core_msg(err));
  rc = lt_out_byte_values(b, bl, out);
  free(b);
  return rc;
}

int lt_p_tk_decode_single_token_bytes(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  int64_t id = lt_as_int(&a[1]);
  size_t vs = lt_tiktoken_vocab_size(t);
  if (id < 0 || (uint64_t)id >= (uint64_t)vs)
    return lt_fail("argument 2 (id): id %lld is outside the vocabulary [0, %zu)", (long long)id, vs);
  const uint8_t *b;
  size_t bl;
  if (lt_tiktoken_decode_single(t, (uint32_t)id, &b, &bl))
    return lt_fail("argument 2 (id): id %lld is not a token of this vocabulary", (long long)id);
  return lt_out_byte_values(b, bl, out);
}

int lt_p_tk_token_byte_values(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  size_t n = lt_tiktoken_n_ranks(t);
  lt_value res = lt_list_new((int64_t)n);
  if (n && !res.u.list.items) return lt_fail("out of memory");
  for (size_t i = 0; i < n; i++) {
    const uint8_t *b;
    size_t bl;
    if (lt_tiktoken_token_byte_value(t, i, &b, &bl, NULL) || lt_out_byte_values(b, bl, &res.u.list.items[i]) != LT_OK) {
      lt_value_clear(&res);
      return lt_fail("cannot read token %zu", i);
    }
  }
  *out = res;
  return LT_OK;
}

int lt_p_tk_vocab_size(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  *out = lt_int((int64_t)lt_tiktoken_vocab_size(t));
  return LT_OK;
}

/* ---- meta characters (decode-time replacements) ---- */

int lt_p_tk_set_space(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  if (has_nul(&a[1])) return lt_fail("argument 2 (str) contains a NUL byte");
  char *s = lt_str_dup(&a[1]);
  if (!s) return lt_fail("out of memory");
  int rc = lt_tiktoken_set_space(t, s);
  free(s);
  if (rc) return lt_fail("%s", lt_tiktoken_strerror(rc));
  *out = lt_bool(1);
  return LT_OK;
}

static int add_meta(lt_tiktoken *t, const char *meta, size_t ml, const lt_value *rep, int argi) {
  if (ml == 0) return lt_fail("argument %d (meta_char) must not be empty", argi);
  if (memchr(meta, 0, ml) || has_nul(rep)) return lt_fail("argument %d (meta_char) contains a NUL byte", argi);
  char *m = (char *)malloc(ml + 1);
  char *r = lt_str_dup(rep);
  if (!m || !r) {
    free(m);
    free(r);
    return lt_fail("out of memory");
  }
  memcpy(m, meta, ml);
  m[ml] = 0;
  int rc = lt_tiktoken_add_meta(t, m, r);
  free(m);
  free(r);
  if (rc) return lt_fail("%s", lt_tiktoken_strerror(rc));
  return LT_OK;
}

int lt_p_tk_add_meta(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  if (add_meta(t, a[1].u.str.s, a[1].u.str.len, &a[2], 2) != LT_OK) return LT_ERROR;
  *out = lt_bool(1);
  return LT_OK;
}

int lt_p_tk_remove_meta(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  if (has_nul(&a[1])) return lt_fail("argument 2 (meta_char) contains a NUL byte");
  char *m = lt_str_dup(&a[1]);
  if (!m) return lt_fail("out of memory");
  int rc = lt_tiktoken_remove_meta(t, m);
  free(m);
  *out = lt_bool(rc == 0);
  return LT_OK;
}

int lt_p_tk_list_meta(const lt_value *a, lt_value *out) {
  lt_tiktoken *t;
  if (tk_of(a, &t) != LT_OK) return LT_ERROR;
  if (lt_present(&a[1])) {
    const lt_value *d = &a[1];
    for (int64_t i = 0; i < d->u.dict.n; i++)
      if (d->u.dict.vals[i].kind != LT_STRING)
        return lt_fail("argument 2 (metas): the replacement of \"%.40s\" must be a string, got %s", d->u.dict.keys[i],
                       lt_kind_name(&d->u.dict.vals[i]));
    for (int64_t i = 0; i < d->u.dict.n; i++)
      if (add_meta(t, d->u.dict.keys[i], strlen(d->u.dict.keys[i]), &d->u.dict.vals[i], 2) != LT_OK) return LT_ERROR;
    *out = lt_bool(1);
    return LT_OK;
  }
  size_t n = lt_tiktoken_list_meta(t, NULL, NULL, 0);
  const char **metas = (const char **)malloc(sizeof(char *) * (n ? n : 1));
  const char **reps = (const char **)malloc(sizeof(char *) * (n ? n : 1));
  if (!metas || !reps) {
    free(metas);
    free(reps);
    return lt_fail("out of memory");
  }
  lt_tiktoken_list_meta(t, metas, reps, n);
  lt_value d = lt_dict_new((int64_t)n);
  for (size_t i = 0; i < n; i++) lt_dict_put(&d, metas[i], lt_string_cstr(reps[i]));
  free(metas);
  free(reps);
  *out = d;
  return LT_OK;
}
