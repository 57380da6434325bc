/* test_sentencepiece.c - SentencePiece through the primitive table, run by
 * Debian's libsentencepiece inside liblt_spm.so in its own link namespace:
 *  - ids, pieces and decodes identical to python3-sentencepiece's
 *    (shared/data/sentencepiece/spm_golden_vectors.json, three models);
 *  - the Llama-2 ids of the two 1 MiB corpora (*.ids.u32le), and llama.cpp's
 *    llama-spm vectors;
 *  - training (bpe, unigram) in a child process, then loading the result;
 *  - bad input: missing/corrupt models, ids out of range, bad training input;
 *  - several threads encoding at once.
 * Skips (exit 77, "skipped: ...") when liblt_spm.so cannot be loaded; the
 * golden parts skip when ../shared/data is absent. */
#include <json.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lt_test.h"
#include "lt_shim.h"
#include "tokenizers/tokenizer_internal.h"

static lt_value SB(const char *s, size_t n) {
  lt_value v;
  v.kind = LT_STRING;
  v.u.str.s = s;
  v.u.str.len = n;
  v.u.str.owned = 0;
  return v;
}



/* ids of an encode result (an int64 tensor) */
static int64_t tensor_ids(lt_value v, int64_t **out) {
  *out = NULL;
  if (v.kind != LT_HANDLE || v.u.h.kind != LT_H_TENSOR) return -1;
  lts_tensor *t = (lts_tensor *)v.u.h.ptr;
  if (lts_dtype(t) != LT_I64 || lts_dim(t) != 1) return -1;
  int64_t n = lts_numel(t);
  *out = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  if (n) memcpy(*out, lts_data_ptr(t), sizeof(int64_t) * (size_t)n);
  return n;
}

static lt_spm_tok *spm_of(lt_value tok) { return ((lt_tokenizer *)tok.u.h.ptr)->u.spm; }

static int golden_ids, golden_pieces, golden_decodes, golden_total;

static void test_golden(void) {
  const char *gp = data_path("sentencepiece/spm_golden_vectors.json");
  if (!gp) {
    printf("skipped: golden vectors (no shared data)\n");
    return;
  }
  json_object *root = json_object_from_file(gp), *models;
  CHECK(root && json_object_object_get_ex(root, "models", &models));
  if (!root) return;
  const lt_spm_api *api = lt_spm_api_get();
  json_object_object_foreach(models, name, m) {
    char rel[256];
    snprintf(rel, sizeof rel, "sentencepiece/%s", name);
    const char *mp = data_path(rel);
    if (!mp) continue;
    lt_value tok = ok("torch_sentencepiece_tokenizer", 1, S(mp));
    if (tok.kind != LT_HANDLE) continue;
    json_object *j;
    lt_value vs = ok("torch_vocab_size", 1, tok);
    json_object_object_get_ex(m, "vocab_size", &j);
    CHECK(vs.kind == LT_INT && vs.u.i == json_object_get_int64(j));
    char *repr = lt_tokenizer_repr(tok.u.h.ptr), expect[96];
    snprintf(expect, sizeof expect, "SentencePiece Tokenizer (vocab size: %lld)", (long long)json_object_get_int64(j));
    CHECK_STR(repr, expect);
    free(repr);
    int32_t sp[4];
    api->special_ids(lt_spm_tok_model(spm_of(tok)), &sp[0], &sp[1], &sp[2], &sp[3]);
    const char *keys[4] = {"bos", "eos", "unk", "pad"};
    for (int i = 0; i < 4; i++) {
      json_object_object_get_ex(m, keys[i], &j);
      CHECK(sp[i] == json_object_get_int(j));
    }
    json_object *vecs;
    json_object_object_get_ex(m, "vectors", &vecs);
    size_t n = json_object_array_length(vecs), same_ids = 0, same_pieces = 0, same_dec = 0;
    for (size_t i = 0; i < n; i++) {
      json_object *v = json_object_array_get_idx(vecs, i), *jt, *ji, *jp, *jd;
      json_object_object_get_ex(v, "text", &jt);
      json_object_object_get_ex(v, "ids", &ji);
      json_object_object_get_ex(v, "pieces", &jp);
      json_object_object_get_ex(v, "decoded", &jd);
      const char *text = json_object_get_string(jt);
      size_t tl = (size_t)json_object_get_string_len(jt);
      lt_value r = ok("torch_encode", 2, tok, SB(text, tl));
      int64_t *ids;
      int64_t k = tensor_ids(r, &ids);
      int good = k == (int64_t)json_object_array_length(ji);
      for (int64_t q = 0; good && q < k; q++) good = ids[q] == json_object_get_int64(json_object_array_get_idx(ji, (size_t)q));
      if (good) same_ids++;
      else fprintf(stderr, "  %s vector %zu: ids differ\n", name, i);
      /* pieces through the C API of the namespace */
      char **pieces = NULL, err[512];
      int64_t np = 0;
      if (lt_spm_dl_encode_pieces(api, lt_spm_tok_model(spm_of(tok)), text, tl, &pieces, &np, err, sizeof err) == 0) {
        int gp2 = np == (int64_t)json_object_array_length(jp);
        for (int64_t q = 0; q < np; q++) {
          if (gp2) gp2 = strcmp(pieces[q], json_object_get_string(json_object_array_get_idx(jp, (size_t)q))) == 0;
          free(pieces[q]);
        }
        free(pieces);
        if (gp2) same_pieces++;
        else fprintf(stderr, "  %s vector %zu: pieces differ\n", name, i);
      }
      lt_value d = ok("torch_decode", 2, tok, r);
      if (d.kind == LT_STRING && d.u.str.len == (size_t)json_object_get_string_len(jd) &&
          memcmp(d.u.str.s, json_object_get_string(jd), d.u.str.len) == 0)
        same_dec++;
      else fprintf(stderr, "  %s vector %zu: decode differs\n", name, i);
      lt_value_clear(&d);
      lt_value_clear(&r);
      free(ids);
    }
    printf("%-28s %zu/%zu ids, %zu/%zu pieces, %zu/%zu decodes identical to python3-sentencepiece\n", name, same_ids, n,
           same_pieces, n, same_dec, n);
    CHECK(same_ids == n && same_pieces == n && same_dec == n && n > 0);
    golden_ids += (int)same_ids;
    golden_pieces += (int)same_pieces;
    golden_decodes += (int)same_dec;
    golden_total += (int)n;

    /* the corpora, each encoded as ONE string */
    const char *corp[2] = {"licenses_1MiB", "compose_licenses_1MiB"};
    for (int c = 0; c < 2; c++) {
      json_object *ce, *jf, *jn;
      if (!json_object_object_get_ex(m, corp[c], &ce)) continue;
      json_object_object_get_ex(ce, "ids_file", &jf);
      json_object_object_get_ex(ce, "n_tokens", &jn);
      char crel[256];
      snprintf(crel, sizeof crel, "corpus/%s.txt", corp[c]);
      const char *tp = data_path(crel);
      const char *ip = data_path(json_object_get_string(jf));
      if (!tp || !ip) continue;
      size_t tl, il;
      char *text = slurp(tp, &tl);
      uint8_t *raw = (uint8_t *)slurp(ip, &il);
      int64_t nexp = (int64_t)(il / 4);
      CHECK(nexp == json_object_get_int64(jn));
      lt_value r = ok("torch_encode", 2, tok, SB(text, tl));
      int64_t *ids;
      int64_t k = tensor_ids(r, &ids);
      int64_t same = 0;
      for (int64_t q = 0; q < k && q < nexp; q++) {
        uint32_t e = (uint32_t)raw[4 * q] | (uint32_t)raw[4 * q + 1] << 8 | (uint32_t)raw[4 * q + 2] << 16 |
                     (uint32_t)raw[4 * q + 3] << 24;
        if (ids[q] == (int64_t)e) same++;
      }
      lt_value d = ok("torch_decode", 2, tok, r);
      int rt = d.kind == LT_STRING && d.u.str.len == tl && memcmp(d.u.str.s, text, tl) == 0;
      printf("%-28s %s: %lld/%lld ids identical (%lld tokens), decode round trip %s\n", name, corp[c], (long long)same,
             (long long)nexp, (long long)k, rt ? "exact" : "DIFFERS");
      CHECK(k == nexp && same == nexp && rt);
      lt_value_clear(&d);
      lt_value_clear(&r);
      free(ids);
      free(text);
      free(raw);
    }
    lt_value_clear(&tok);
  }
  json_object_put(root);
}

/* llama.cpp's llama-spm vectors: ids with the leading-space convention of
 * Hugging Face's Llama tokenizer = SentencePiece on the text (no BOS) */
static void test_llamacpp_spm(void) {
  const char *mp = data_path("sentencepiece/sctg_llama_tokenizer.model");
  const char *ip = data_path("llamacpp-vectors/ggml-vocab-llama-spm.gguf.inp");
  const char *op = data_path("llamacpp-vectors/ggml-vocab-llama-spm.gguf.out");
  if (!mp || !ip || !op) return;
  size_t il, ol;
  char *inp = slurp(ip, &il), *out = slurp(op, &ol);
  lt_value tok = ok("torch_sentencepiece_tokenizer", 1, S(mp));
  const char *sep = "\n__ggml_vocab_test__\n";
  size_t sl = strlen(sep), pos = 0, ipos = 0;
  int n = 0, same = 0;
  for (;;) {
    char *f = NULL;
    for (size_t i = pos; i + sl <= il; i++)
      if (memcmp(inp + i, sep, sl) == 0) {
        f = inp + i;
        break;
      }
    if (!f || ipos >= ol) break;
    char *eol = memchr(out + ipos, '\n', ol - ipos);
    size_t lend = eol ? (size_t)(eol - out) : ol;
    lt_value r = ok("torch_encode", 2, tok, SB(inp + pos, (size_t)(f - (inp + pos))));
    int64_t *ids;
    int64_t k = tensor_ids(r, &ids), q = 0;
    int good = 1;
    char *s = out + ipos;
    while (s < out + lend) {
      while (s < out + lend && *s == ' ') s++;
      if (s >= out + lend) break;
      long long e = strtoll(s, &s, 10);
      if (q >= k || ids[q] != e) good = 0;
      q++;
    }
    if (q != k) good = 0;
    same += good;
    n++;
    free(ids);
    lt_value_clear(&r);
    pos = (size_t)(f - inp) + sl;
    ipos = lend + 1;
  }
  printf("llama.cpp llama-spm vectors: %d/%d identical\n", same, n);
  CHECK(n > 0 && same == n);
  lt_value_clear(&tok);
  free(inp);
  free(out);
}

static char tmpdir[256];

static void test_train_and_errors(void) {
  char corpus[512], prefix[512], model[600];
  snprintf(corpus, sizeof corpus, "%s/corpus.txt", tmpdir);
  FILE *f = fopen(corpus, "w");
  for (int i = 0; i < 400; i++)
    fprintf(f,
            "Natural language processing enables computers to understand text number %d.\n"
            "Machine learning models require sophisticated tokenization systems %d.\n"
            "SentencePiece provides subword tokenization for modern models %d.\n",
            i, i * 7, i * 13);
  fclose(f);
  const char *types[2] = {"bpe", "unigram"};
  for (int k = 0; k < 2; k++) {
    snprintf(prefix, sizeof prefix, "%s/m_%s", tmpdir, types[k]);
    lt_value msg = ok("torch_train_sentencepiece", 4, S(corpus), S(prefix), lt_int(150), S(types[k]));
    char expect[700];
    snprintf(expect, sizeof expect, "Training completed successfully. Model saved as: %s.model", prefix);
    CHECK_STR(msg.kind == LT_STRING ? msg.u.str.s : "", expect);
    lt_value_clear(&msg);
    snprintf(model, sizeof model, "%s.model", prefix);
    lt_value tok = ok("torch_sentencepiece_tokenizer", 1, S(model));
    lt_value vs = ok("torch_tokenizer_get_vocab_size", 1, tok);
    CHECK(vs.kind == LT_INT && vs.u.i == 150);
    const char *text = "Machine learning enables modern tokenization.";
    lt_value ids = ok("torch_tokenizer_encode", 2, tok, S(text));
    int64_t *p;
    int64_t n = tensor_ids(ids, &p);
    CHECK(n > 3 && n < (int64_t)strlen(text));
    free(p);
    lt_value d = ok("torch_tokenizer_decode", 2, tok, ids);
    CHECK_STR(d.kind == LT_STRING ? d.u.str.s : "", text);
    lt_value_clear(&d);
    lt_value_clear(&ids);
    /* ids out of range */
    int64_t bad[] = {5, 150};
    fails("torch_decode", "id 150 at position 1 is outside the vocabulary [0, 150)", 2, tok, I64S(bad, 2));
    int64_t neg[] = {-1};
    fails("torch_decode", "id -1", 2, tok, I64S(neg, 1));
    fails("tiktoken_decode", "must be a tiktoken tokenizer, got a SentencePiece tokenizer", 2, tok, I64S(neg, 1));
    lt_value_clear(&tok);
  }
  /* training errors: clean messages, no crash */
  snprintf(prefix, sizeof prefix, "%s/bad", tmpdir);
  fails("torch_train_sentencepiece", "Vocabulary size too high", 4, S(corpus), S(prefix), lt_int(100000), S("bpe"));
  fails("torch_train_sentencepiece", "argument 4 (model_type) must be \"bpe\", \"unigram\"", 4, S(corpus), S(prefix),
        lt_int(100), S("wordpiece"));
  fails("torch_train_sentencepiece", "argument 3 (vocab_size) must be a positive integer", 4, S(corpus), S(prefix),
        lt_int(0), S("bpe"));
  fails("torch_train_sentencepiece", "argument 1 (input_file): cannot open", 4, S("/nonexistent/corpus.txt"),
        S(prefix), lt_int(100), S("bpe"));
  fails("torch_train_sentencepiece", "argument 1 (input_file)", 4, S(tmpdir), S(prefix), lt_int(100), S("bpe"));
  char empty[512];
  snprintf(empty, sizeof empty, "%s/empty.txt", tmpdir);
  fclose(fopen(empty, "w"));
  fails("torch_train_sentencepiece", NULL, 4, S(empty), S(prefix), lt_int(100), S("unigram"));
  char noprefix[600];
  snprintf(noprefix, sizeof noprefix, "%s/no/such/dir/m", tmpdir);
  fails("torch_train_sentencepiece", NULL, 4, S(corpus), S(noprefix), lt_int(100), S("bpe"));

  /* loading errors */
  fails("torch_sentencepiece_tokenizer", "argument 1 (model_path): cannot open '/nonexistent.model'", 1,
        S("/nonexistent.model"));
  fails("torch_sentencepiece_tokenizer", "is not a regular file", 1, S(tmpdir));
  fails("torch_sentencepiece_tokenizer", "is not a SentencePiece model", 1, S(corpus));
  fails("torch_sentencepiece_tokenizer", "is not a SentencePiece model", 1, S(empty));
  char rnd[512];
  snprintf(rnd, sizeof rnd, "%s/random.model", tmpdir);
  f = fopen(rnd, "wb");
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 4096; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    fputc((int)(x & 0xff), f);
  }
  fclose(f);
  fails("torch_sentencepiece_tokenizer", "argument 1 (model_path)", 1, S(rnd));
  /* a truncated real model */
  snprintf(model, sizeof model, "%s/m_bpe.model", tmpdir);
  size_t ml;
  char *mb = slurp(model, &ml);
  if (mb) {
    for (int cut = 1; cut < 8; cut++) {
      snprintf(rnd, sizeof rnd, "%s/cut%d.model", tmpdir, cut);
      f = fopen(rnd, "wb");
      fwrite(mb, 1, ml * (size_t)cut / 8, f);
      fclose(f);
      lt_value out;
      int rc = call("torch_sentencepiece_tokenizer", &out, 1, S(rnd));
      const char *e = lt_last_error();
      CHECK(rc == LT_OK || strncmp(e, "torch_sentencepiece_tokenizer: ", 31) == 0);
      lt_value_clear(&out);
    }
    free(mb);
  }
  const char *tj = data_path("hf-tokenizers/llama3_tokenizer.json");
  if (tj) fails("torch_sentencepiece_tokenizer", "is not a SentencePiece model", 1, S(tj));
}

/* several threads encoding and decoding with one model: each gets what one
 * thread alone gets */
static lt_value shared_tok;
static int thread_bad;
static char thread_expect[256];
static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 200; i++) {
    lt_value r, d;
    if (call("torch_encode", &r, 2, shared_tok, S("Threads share one SentencePiece model safely.")) != LT_OK) {
      __atomic_add_fetch(&thread_bad, 1, __ATOMIC_RELAXED);
      continue;
    }
    if (call("torch_decode", &d, 2, shared_tok, r) != LT_OK || d.kind != LT_STRING ||
        strcmp(d.u.str.s, thread_expect) != 0)
      __atomic_add_fetch(&thread_bad, 1, __ATOMIC_RELAXED);
    lt_value_clear(&d);
    lt_value_clear(&r);
  }
  return NULL;
}

static void test_threads(void) {
  char model[600];
  snprintf(model, sizeof model, "%s/m_unigram.model", tmpdir);
  const char *mp = data_path("sentencepiece/sctg_llama_tokenizer.model");
  shared_tok = ok("torch_sentencepiece_tokenizer", 1, S(mp ? mp : model));
  lt_value r = ok("torch_encode", 2, shared_tok, S("Threads share one SentencePiece model safely."));
  lt_value d = ok("torch_decode", 2, shared_tok, r);
  snprintf(thread_expect, sizeof thread_expect, "%s", d.kind == LT_STRING ? d.u.str.s : "?");
  lt_value_clear(&d);
  lt_value_clear(&r);
  pthread_t th[4];
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, NULL);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  CHECK(thread_bad == 0);
  lt_value_clear(&shared_tok);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  if (!lt_spm_api_get()) {
    printf("skipped: %s\n", lt_spm_api_error());
    return 77;
  }
  printf("liblt_spm.so: %s (SentencePiece %s)\n", lt_spm_api_get()->path, lt_spm_api_get()->version());
  if (make_tmpdir(tmpdir, sizeof tmpdir, "spm") != 0) return 1;
  int64_t base = lts_live_tensors();

  test_golden();
  test_llamacpp_spm();
  test_train_and_errors();
  test_threads();

  CHECK(lts_live_tensors() == base);
  if (golden_total)
    printf("golden: %d/%d ids, %d/%d pieces, %d/%d decodes\n", golden_ids, golden_total, golden_pieces, golden_total,
           golden_decodes, golden_total);
  remove_tmpdir(tmpdir);
  return test_summary("test_sentencepiece");
}
