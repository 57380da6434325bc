/* sentencepiece_prims.c - section 9: SentencePiece tokenizers (loading,
 * training, and their side of torch_encode / torch_decode / torch_vocab_size).
 * The real SentencePiece library runs behind liblt_spm.so in its own link
 * namespace (spm_dl.c): ids are those of Google's implementation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tokenizer_internal.h"
#include "tokenizer_prims.h"

struct lt_spm_tok {
  const lt_spm_api *api;
  lt_spm *m;
  int32_t size, bos, eos, unk, pad;
};

void lt_spm_tok_free(lt_spm_tok *s) {
  if (!s) return;
  if (s->m) s->api->free_model(s->m);
  free(s);
}

const lt_spm *lt_spm_tok_model(const lt_spm_tok *s) { return s->m; }

int64_t lt_spm_tok_vocab_size(lt_spm_tok *s) { return s->size; }

int lt_spm_tok_encode(lt_spm_tok *s, const char *text, size_t len, int64_t **ids, int64_t *n) {
  char err[1024];
  if (lt_spm_dl_encode(s->api, s->m, text, len, ids, n, err, sizeof err)) return lt_fail("argument 2 (text): %s", err);
  return LT_OK;
}

int lt_spm_tok_decode(lt_spm_tok *s, const int64_t *ids, int64_t n, int argi, char **text, size_t *len) {
  int32_t *v = (int32_t *)malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
  if (!v) return lt_fail("out of memory");
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= s->size) {
      free(v);
      return lt_fail("argument %d (ids): id %lld at position %lld is outside the vocabulary [0, %d)", argi,
                     (long long)ids[i], (long long)i, (int)s->size);
    }
    v[i] = (int32_t)ids[i];
  }
  char err[1024];
  int rc = lt_spm_dl_decode(s->api, s->m, v, (size_t)n, text, len, err, sizeof err);
  free(v);
  if (rc) return lt_fail("argument %d (ids): %s", argi, err);
  return LT_OK;
}

/* a readable regular file, else lt_fail naming the argument */
static int check_input_file(const lt_value *v, int argi, const char *pname, char **path) {
  if (v->u.str.len == 0) return lt_fail("argument %d (%s) must not be empty", argi, pname);
  if (memchr(v->u.str.s, 0, v->u.str.len)) return lt_fail("argument %d (%s) contains a NUL byte", argi, pname);
  char *p = lt_str_dup(v);
  if (!p) return lt_fail("out of memory");
  struct stat st;
  if (stat(p, &st) != 0) {
    int e = errno;
    lt_fail("argument %d (%s): cannot open '%s': %s", argi, pname, p, strerror(e));
    free(p);
    return LT_ERROR;
  }
  if (!S_ISREG(st.st_mode)) {
    lt_fail("argument %d (%s): '%s' is not a regular file", argi, pname, p);
    free(p);
    return LT_ERROR;
  }
  FILE *f = fopen(p, "rb");
  if (!f) {
    int e = errno;
    lt_fail("argument %d (%s): cannot open '%s': %s", argi, pname, p, strerror(e));
    free(p);
    return LT_ERROR;
  }
  fclose(f);
  *path = p;
  return LT_OK;
}

static const lt_spm_api *api_or_fail(void) {
  const lt_spm_api *api = lt_spm_api_get();
  if (!api) lt_fail("%s", lt_spm_api_error());
  return api;
}

int lt_p_spm_tokenizer(const lt_value *a, lt_value *out) {
  char *path;
  if (check_input_file(&a[0], 1, "model_path", &path) != LT_OK) return LT_ERROR;
  const lt_spm_api *api = api_or_fail();
  if (!api) {
    free(path);
    return LT_ERROR;
  }
  lt_spm *m = NULL;
  if (api->load(path, &m)) {
    const char *e = api->last_error();
    if (strstr(e, "ParseFromArray") || strstr(e, "unk is not defined"))
      lt_fail("argument 1 (model_path): '%s' is not a SentencePiece model (it does not parse as one)", path);
    else
      lt_fail("argument 1 (model_path): %s", e);
    free(path);
    return LT_ERROR;
  }
  free(path);
  lt_spm_tok *s = (lt_spm_tok *)calloc(1, sizeof *s);
  if (!s) {
    api->free_model(m);
    return lt_fail("out of memory");
  }
  s->api = api;
  s->m = m;
  s->size = api->vocab_size(m);
  api->special_ids(m, &s->bos, &s->eos, &s->unk, &s->pad);
  return lt_tokenizer_wrap(LT_TOK_SPM, s, out);
}

/* SentencePiece's trainer messages read "Internal: ./src/x.cc(N) [condition] text":
 * keep the text, name the known conditions. */
static void tidy_train_error(const char *e, char *out, size_t n) {
  const char *p = strstr(e, ") [");
  const char *q = p ? strstr(p, "] ") : NULL;
  if (strstr(e, "!sentences_.empty()"))
    snprintf(out, n, "argument 1 (input_file) has no sentences to train on");
  else if (q && q[2])
    snprintf(out, n, "sentencepiece: %s", q + 2);
  else if (strncmp(e, "sentencepiece train: ", 21) == 0)
    snprintf(out, n, "sentencepiece: %s", e + 21);
  else
    snprintf(out, n, "%s", e);
}

int lt_p_spm_train(const lt_value *a, lt_value *out) {
  static const char *const types[] = {"bpe", "unigram", "char", "word"};
  const lt_value *mt = &a[3];
  int type_ok = 0;
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (mt->u.str.len == strlen(types[i]) && memcmp(mt->u.str.s, types[i], mt->u.str.len) == 0) type_ok = 1;
  if (!type_ok)
    return lt_fail("argument 4 (model_type) must be \"bpe\", \"unigram\", \"char\" or \"word\", got \"%.*s\"",
                   (int)(mt->u.str.len > 40 ? 40 : mt->u.str.len), mt->u.str.s);
  int64_t vs = lt_as_int(&a[2]);
  if (vs <= 0 || vs > 1000000000) return lt_fail("argument 3 (vocab_size) must be a positive integer, got %lld", (long long)vs);
  if (a[1].u.str.len == 0) return lt_fail("argument 2 (prefix) must not be empty");
  if (memchr(a[1].u.str.s, 0, a[1].u.str.len)) return lt_fail("argument 2 (prefix) contains a NUL byte");
  char *input;
  if (check_input_file(&a[0], 1, "input_file", &input) != LT_OK) return LT_ERROR;
  const lt_spm_api *api = api_or_fail();
  char *prefix = lt_str_dup(&a[1]);
  char *type = lt_str_dup(mt);
  if (!api || !prefix || !type) {
    free(input);
    free(prefix);
    free(type);
    return api ? lt_fail("out of memory") : LT_ERROR;
  }
  char err[2048];
  int rc = lt_spm_dl_train(api, input, prefix, (int)vs, type, NULL, 1, err, sizeof err);
  free(input);
  free(type);
  if (rc) {
    char tidy[2048];
    tidy_train_error(err, tidy, sizeof tidy);
    lt_fail("%s", tidy);
    free(prefix);
    return LT_ERROR;
  }
  size_t n = strlen(prefix) + 80;
  char *msg = (char *)malloc(n);
  if (!msg) {
    free(prefix);
    return lt_fail("out of memory");
  }
  snprintf(msg, n, "Training completed successfully. Model saved as: %s.model", prefix);
  free(prefix);
  *out = lt_string_cstr(msg);
  free(msg);
  return LT_OK;
}
