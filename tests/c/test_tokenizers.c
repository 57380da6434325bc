/* test_tokenizers.c - section 9 through the primitive table (lt_call):
 * the simple tokenizer, padding and attention masks, every tiktoken_*
 * primitive (a hand-made vocabulary everywhere; GPT-2, cl100k and the
 * Llama-3 tokenizer.json built with tiktoken_create when ../shared/data is
 * there), bad input, and a fuzz run (fixed seed) feeding random bytes to
 * every encode and random ids to every decode, SentencePiece included when
 * liblt_spm.so and the Llama-2 model are available. */
#include <json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lt_test.h"
#include "lt_shim.h"

char *lt_tokenizer_repr(void *p); /* src/tokenizers/tokenizer_common.c */

/* ---- small helpers ---- */

static lt_value SB(const char *s, size_t n) {
  lt_value v;
  v.kind = LT_STRING;
  v.u.str.s = s;
  v.u.str.len = n;
  v.u.str.owned = 0;
  return v;
}

static int is_handle(lt_value v) { return v.kind == LT_HANDLE; }

/* ids of a result: integers buffer or tensor, into out (count returned, -1 if neither) */
static int64_t ids_of(lt_value v, int64_t *out, int64_t max) {
  if (v.kind == LT_BUFFER && v.u.buf.dtype == LT_I64) {
    for (int64_t i = 0; i < v.u.buf.len && i < max; i++) out[i] = ((int64_t *)v.u.buf.data)[i];
    return v.u.buf.len;
  }
  if (v.kind == LT_HANDLE) {
    static double tmp[1 << 16];
    int64_t n = values_of(v, tmp, 1 << 16);
    for (int64_t i = 0; i < n && i < max; i++) out[i] = (int64_t)tmp[i];
    return n;
  }
  return -1;
}

static int ids_equal(lt_value v, const int64_t *exp, int64_t n) {
  int64_t got[4096];
  int64_t k = ids_of(v, got, 4096);
  if (k != n) {
    fprintf(stderr, "  got %lld ids, expected %lld\n", (long long)k, (long long)n);
    return 0;
  }
  for (int64_t i = 0; i < n; i++)
    if (got[i] != exp[i]) {
      fprintf(stderr, "  id %lld: got %lld, expected %lld\n", (long long)i, (long long)got[i], (long long)exp[i]);
      return 0;
    }
  return 1;
}

static int is_tensor_of(lt_value v, lt_dtype dt, int nd, const int64_t *dims) {
  if (v.kind != LT_HANDLE || v.u.h.kind != LT_H_TENSOR) return 0;
  lts_tensor *t = (lts_tensor *)v.u.h.ptr;
  int64_t d[LTS_MAX_DIMS];
  int k = lts_shape(t, d, LTS_MAX_DIMS);
  if (k != nd || lts_dtype(t) != dt) return 0;
  for (int i = 0; i < nd; i++)
    if (d[i] != dims[i]) return 0;
  return 1;
}

static const char *str_of(lt_value v) { return v.kind == LT_STRING ? v.u.str.s : "(not a string)"; }

/* a JSON value as the LispE adapter would hand it over (json_parse) */
static lt_value from_json(json_object *o) {
  switch (json_object_get_type(o)) {
  case json_type_null: return lt_nil();
  case json_type_boolean: return lt_bool(json_object_get_boolean(o));
  case json_type_int: return lt_int(json_object_get_int64(o));
  case json_type_double: return lt_float(json_object_get_double(o));
  case json_type_string: return lt_string_copy(json_object_get_string(o), (size_t)json_object_get_string_len(o));
  case json_type_array: {
    size_t n = json_object_array_length(o);
    lt_value l = lt_list_new((int64_t)n);
    for (size_t i = 0; i < n; i++) l.u.list.items[i] = from_json(json_object_array_get_idx(o, i));
    return l;
  }
  case json_type_object: {
    lt_value d = lt_dict_new(json_object_object_length(o));
    json_object_object_foreach(o, k, v) lt_dict_put(&d, k, from_json(v));
    return d;
  }
  }
  return lt_nil();
}



static char tmpdir[256];

static const char *tmp_file(const char *name, const char *content) {
  size_t len = strlen(content);
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
  FILE *f = fopen(p[k], "wb");
  fwrite(content, 1, len, f);
  fclose(f);
  return p[k];
}

/* ---- simple tokenizer ---- */

static void test_simple(void) {
  lt_value tok = ok("torch_simple_tokenizer", 0);
  CHECK(is_handle(tok));
  lt_value v = ok("torch_vocab_size", 1, tok);
  CHECK(v.kind == LT_INT && v.u.i == 4);
  char *repr = lt_tokenizer_repr(tok.u.h.ptr);
  CHECK_STR(repr, "Simple Tokenizer (vocab size: 4)");
  free(repr);

  /* the manual's example: <bos>=2 ... <eos>=3, new words get 4, 5, ... */
  lt_value ids = ok("torch_encode", 2, tok, S("Hello world! This is a test."));
  int64_t e1[] = {2, 4, 5, 6, 7, 8, 9, 10, 11, 3};
  int64_t d1[] = {10};
  CHECK(is_tensor_of(ids, LT_I64, 1, d1));
  CHECK(ids_equal(ids, e1, 10));
  v = ok("torch_tokenizer_get_vocab_size", 1, tok);
  CHECK(v.kind == LT_INT && v.u.i == 12);
  lt_value text = ok("torch_decode", 2, tok, ids);
  CHECK_STR(str_of(text), "hello world! this is a test.");
  lt_value_clear(&text);
  lt_value_clear(&ids);

  /* lowercase, known words keep their ids, punctuation alone, apostrophes inside words */
  ids = ok("torch_tokenizer_encode", 2, tok, S("HELLO, World (don't) stop"));
  int64_t e2[] = {2, 4, 12, 5, 13, 14, 15, 16, 3};
  CHECK(ids_equal(ids, e2, 9));
  text = ok("torch_tokenizer_decode", 2, tok, ids);
  CHECK_STR(str_of(text), "hello, world (don't) stop");
  lt_value_clear(&text);
  lt_value_clear(&ids);

  /* decode from integers and from a list; <pad> <bos> <eos> skipped, <unk> shown */
  int64_t raw[] = {2, 0, 4, 1, 5, 3, 0};
  text = ok("torch_decode", 2, tok, I64S(raw, 7));
  CHECK_STR(str_of(text), "hello <unk> world");
  lt_value_clear(&text);
  lt_value l = L(3, lt_int(4), lt_float(6.0), lt_int(5));
  text = ok("torch_decode", 2, tok, l);
  CHECK_STR(str_of(text), "hello! world");
  lt_value_clear(&text);
  lt_value_clear(&l);

  /* non-ASCII: lowercased, invalid UTF-8 becomes U+FFFD */
  ids = ok("torch_encode", 2, tok, S("\xc3\x89lan \xc3\x89" "COLE \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xce\x9a\xce\x8c\xce\xa3\xce\x9c\xce\x9f\xce\xa3 caf\xc3\xa9 \xf0\x9f\x9a\x80."));
  text = ok("torch_decode", 2, tok, ids);
  CHECK_STR(str_of(text), "\xc3\xa9lan \xc3\xa9" "cole \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xbf\xcf\x83 caf\xc3\xa9 \xf0\x9f\x9a\x80.");
  lt_value_clear(&text);
  lt_value_clear(&ids);
  ids = ok("torch_encode", 2, tok, SB("ab\xff" "cd", 5));
  text = ok("torch_decode", 2, tok, ids);
  CHECK_STR(str_of(text), "ab\xef\xbf\xbd" "cd");
  lt_value_clear(&text);
  lt_value_clear(&ids);

  /* empty text: just <bos> <eos>; decodes to "" */
  ids = ok("torch_encode", 2, tok, S(""));
  int64_t e3[] = {2, 3};
  CHECK(ids_equal(ids, e3, 2));
  text = ok("torch_decode", 2, tok, ids);
  CHECK_STR(str_of(text), "");
  lt_value_clear(&text);
  lt_value_clear(&ids);

  /* a [1, n] tensor decodes, a [2, n] one does not; float ids must be integral */
  int64_t row[] = {4, 5};
  int64_t d12[] = {1, 2}, d21[] = {2, 1};
  lts_tensor *t12 = NULL, *t21 = NULL;
  lts_from_copy(row, LT_I64, d12, 2, LT_I64, &t12);
  lts_from_copy(row, LT_I64, d21, 2, LT_I64, &t21);
  text = ok("torch_decode", 2, tok, lt_handle_value(LT_H_TENSOR, t12));
  CHECK_STR(str_of(text), "hello world");
  lt_value_clear(&text);
  fails("torch_decode", "shape [2, 1]", 2, tok, lt_handle_value(LT_H_TENSOR, t21));
  lts_tensor_free(t12);
  lts_tensor_free(t21);
  float fr[] = {4.0f, 5.5f};
  fails("torch_decode", "element 1 is 5.5", 2, tok, F32S(fr, 2));

  /* bad input */
  int64_t bad[] = {4, 999};
  fails("torch_decode", "id 999 at position 1 is outside the vocabulary", 2, tok, I64S(bad, 2));
  int64_t neg[] = {-1};
  fails("torch_decode", "id -1", 2, tok, I64S(neg, 1));
  fails("torch_encode", "argument 2 (text) must be a string, got an integer", 2, tok, lt_int(5));
  fails("torch_encode", "argument 1 (tok) must be a lispe_torch object, got an integer", 2, lt_int(1), S("x"));
  lts_tensor *t = NULL;
  int64_t d1x[] = {3};
  lts_fill(LTS_FILL_ONES, d1x, 1, 0, LT_F32, NULL, &t);
  fails("torch_vocab_size", "must be a tokenizer, got a tensor", 1, lt_handle_value(LT_H_TENSOR, t));
  lts_tensor_free(t);
  fails("tiktoken_encode", "must be a tiktoken tokenizer, got a simple tokenizer", 2, tok, S("x"));

  /* retain/release: a second reference keeps it alive */
  lt_handle h2;
  CHECK(lt_handle_retain(tok.u.h, &h2) == LT_OK && h2.ptr == tok.u.h.ptr);
  CHECK_STR(lt_handle_type_name(tok.u.h), "tokenizer");
  lt_value_clear(&tok);
  v = ok("torch_vocab_size", 1, lt_handle_value(LT_H_TOKENIZER, h2.ptr));
  CHECK(v.kind == LT_INT && v.u.i >= 17);
  lt_handle_release(h2);
}

/* ---- padding and masks ---- */

static void test_padding(void) {
  int64_t a[] = {1, 2, 3}, b[] = {4};
  lt_value seqs = L(2, I64S(a, 3), I64S(b, 1));
  lt_value p = ok("torch_pad_sequences", 2, seqs, lt_int(5));
  int64_t d25[] = {2, 5};
  CHECK(is_tensor_of(p, LT_I64, 2, d25));
  int64_t e1[] = {1, 2, 3, 0, 0, 4, 0, 0, 0, 0};
  CHECK(ids_equal(p, e1, 10));

  lt_value m = ok("torch_attention_mask", 1, p);
  int64_t m1[] = {1, 1, 1, 0, 0, 1, 0, 0, 0, 0};
  CHECK(is_tensor_of(m, LT_I64, 2, d25));
  CHECK(ids_equal(m, m1, 10));
  lt_value_clear(&m);
  lt_value_clear(&p);

  /* truncation and a pad id */
  p = ok("torch_pad_sequence", 3, seqs, lt_int(2), lt_int(9));
  int64_t e2[] = {1, 2, 4, 9};
  CHECK(ids_equal(p, e2, 4));
  m = ok("torch_create_attention_mask", 2, p, lt_int(9));
  int64_t m2[] = {1, 1, 1, 0};
  CHECK(ids_equal(m, m2, 4));
  lt_value_clear(&m);
  lt_value_clear(&p);

  /* max_len 0: the longest; a ragged list gives a [batch, longest] mask */
  p = ok("torch_pad_sequences", 2, seqs, lt_int(0));
  int64_t d23[] = {2, 3};
  CHECK(is_tensor_of(p, LT_I64, 2, d23));
  lt_value_clear(&p);
  m = ok("torch_attention_mask", 1, seqs);
  int64_t m3[] = {1, 1, 1, 1, 0, 0};
  CHECK(is_tensor_of(m, LT_I64, 2, d23));
  CHECK(ids_equal(m, m3, 6));
  lt_value_clear(&m);
  free(seqs.u.list.items); /* borrowed buffers */

  /* sequences from the simple tokenizer (tensors), and a list of plain lists */
  lt_value tok = ok("torch_simple_tokenizer", 0);
  lt_value s1 = ok("torch_encode", 2, tok, S("Hello world!"));
  lt_value s2 = ok("torch_encode", 2, tok, S("Short text."));
  lt_value tl = L(2, s1, s2);
  p = ok("torch_pad_sequences", 2, tl, lt_int(8));
  int64_t e3[] = {2, 4, 5, 6, 3, 0, 0, 0, 2, 7, 8, 9, 3, 0, 0, 0};
  CHECK(ids_equal(p, e3, 16));
  m = ok("torch_attention_mask", 1, p);
  int64_t m4[] = {1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0};
  CHECK(ids_equal(m, m4, 16));
  lt_value_clear(&m);
  lt_value_clear(&p);
  lt_value_clear(&tl);
  lt_value_clear(&tok);
  lt_value ll = L(2, L(2, lt_int(5), lt_int(6)), L(1, lt_int(7)));
  p = ok("torch_pad_sequences", 2, ll, lt_int(3));
  int64_t e4[] = {5, 6, 0, 7, 0, 0};
  CHECK(ids_equal(p, e4, 6));
  lt_value_clear(&p);
  /* one sequence as integers: a batch of one; a 1-d mask of integers */
  int64_t one[] = {3, 0, 4};
  p = ok("torch_pad_sequences", 2, I64S(one, 3), lt_int(4));
  int64_t d14[] = {1, 4};
  CHECK(is_tensor_of(p, LT_I64, 2, d14));
  lt_value_clear(&p);
  m = ok("torch_attention_mask", 1, I64S(one, 3));
  int64_t m5[] = {1, 0, 1};
  CHECK(ids_equal(m, m5, 3));
  lt_value_clear(&m);
  /* an empty batch */
  lt_value empty = lt_list_new(0);
  p = ok("torch_pad_sequences", 2, empty, lt_int(4));
  int64_t d04[] = {0, 4};
  CHECK(is_tensor_of(p, LT_I64, 2, d04));
  lt_value_clear(&p);

  /* bad input */
  fails("torch_pad_sequences", "argument 2 (max_len) must be >= 0", 2, ll, lt_int(-1));
  fails("torch_pad_sequences", "is too large", 2, ll, lt_int((int64_t)1 << 40));
  lt_value badl = L(2, L(1, lt_int(1)), S("x"));
  fails("torch_pad_sequences", "seqs[1]", 2, badl, lt_int(3));
  fails("torch_attention_mask", "seqs[1]", 1, badl);
  lt_value_clear(&badl);
  lt_value_clear(&ll);
  fails("torch_pad_sequences", "argument 1 (seqs) must be a list", 2, S("abc"), lt_int(3));
  fails("torch_attention_mask", "must be a tensor of padded ids or a list", 1, lt_int(3));
  fails("torch_pad_sequences", "argument 2 (max_len) must be an integer", 2, empty, S("x"));
}

/* ---- tiktoken on a hand-made vocabulary ---- */

static lt_value toy_tiktoken(void) {
  lt_value vocab = lt_dict_new(8);
  const char *keys[] = {"a", "b", "c", "ab", "abc", " "};
  for (int i = 0; i < 6; i++) lt_dict_put(&vocab, keys[i], lt_int(i));
  lt_value sp = lt_dict_new(2);
  lt_dict_put(&sp, "content", lt_string_cstr("<|end|>"));
  lt_dict_put(&sp, "id", lt_int(10));
  lt_value specials = L(1, sp);
  lt_value tok = ok("tiktoken_create", 3, vocab, specials, S("\\S+|\\s+"));
  lt_value_clear(&vocab);
  lt_value_clear(&specials);
  return tok;
}

static void test_tiktoken_toy(void) {
  lt_value tok = toy_tiktoken();
  CHECK(is_handle(tok));
  lt_value v = ok("tiktoken_vocab_size", 1, tok);
  CHECK(v.kind == LT_INT && v.u.i == 11);
  char *repr = lt_tokenizer_repr(tok.u.h.ptr);
  CHECK_STR(repr, "Tiktoken Tokenizer (vocab size: 11)");
  free(repr);
  v = ok("torch_vocab_size", 1, tok);
  CHECK(v.kind == LT_INT && v.u.i == 11);

  lt_value ids = ok("tiktoken_encode", 2, tok, S("abc ab cab"));
  int64_t e1[] = {4, 5, 3, 5, 2, 3};
  CHECK(ids.kind == LT_BUFFER && ids.u.buf.dtype == LT_I64);
  CHECK(ids_equal(ids, e1, 6));
  lt_value text = ok("tiktoken_decode", 2, tok, ids);
  CHECK_STR(str_of(text), "abc ab cab");
  lt_value_clear(&text);
  lt_value bytes = ok("tiktoken_decode_bytes", 2, tok, ids);
  int64_t b1[] = {97, 98, 99, 32, 97, 98, 32, 99, 97, 98};
  CHECK(ids_equal(bytes, b1, 10));
  lt_value_clear(&bytes);
  lt_value_clear(&ids);

  /* specials: plain text by default (here: bytes without a token -> error) */
  fails("tiktoken_encode", "no token of this vocabulary covers", 2, tok, S("ab<|end|>c"));
  ids = ok("tiktoken_encode", 3, tok, S("ab<|end|>c"), S("all"));
  int64_t e2[] = {3, 10, 2};
  CHECK(ids_equal(ids, e2, 3));
  lt_value_clear(&ids);
  ids = ok("tiktoken_encode", 3, tok, S("ab<|end|>c"), lt_bool(1));
  CHECK(ids_equal(ids, e2, 3));
  lt_value_clear(&ids);
  lt_value allow = L(1, S("<|end|>"));
  ids = ok("tiktoken_encode", 3, tok, S("ab<|end|>c"), allow);
  CHECK(ids_equal(ids, e2, 3));
  lt_value_clear(&ids);
  free(allow.u.list.items);
  ids = ok("tiktoken_encode", 3, tok, S("ab<|end|>c"), S("<|end|>"));
  CHECK(ids_equal(ids, e2, 3));
  lt_value_clear(&ids);
  fails("tiktoken_encode", "\"<|nope|>\" is not a special token", 3, tok, S("ab"), S("<|nope|>"));
  lt_value badallow = L(1, lt_int(3));
  fails("tiktoken_encode", "item 0 is an integer", 3, tok, S("ab"), badallow);
  free(badallow.u.list.items);
  fails("tiktoken_encode", "argument 3 (allowed_special)", 3, tok, S("ab"), lt_int(4));

  /* tiktoken_special_encode: an integer for a special token text, else ids with specials */
  v = ok("tiktoken_special_encode", 2, tok, S("<|end|>"));
  CHECK(v.kind == LT_INT && v.u.i == 10);
  ids = ok("tiktoken_special_encode", 2, tok, S("ab<|end|>c"));
  CHECK(ids_equal(ids, e2, 3));
  lt_value_clear(&ids);

  /* generic primitives: a tensor of ids */
  ids = ok("torch_encode", 2, tok, S("abc"));
  int64_t e3[] = {4}, d1[] = {1};
  CHECK(is_tensor_of(ids, LT_I64, 1, d1));
  CHECK(ids_equal(ids, e3, 1));
  text = ok("torch_decode", 2, tok, ids);
  CHECK_STR(str_of(text), "abc");
  lt_value_clear(&text);
  lt_value_clear(&ids);
  int64_t with_special[] = {3, 10};
  text = ok("tiktoken_decode", 2, tok, I64S(with_special, 2));
  CHECK_STR(str_of(text), "ab<|end|>");
  lt_value_clear(&text);

  /* single tokens and the sorted byte values */
  bytes = ok("tiktoken_decode_single_token_bytes", 2, tok, lt_int(4));
  int64_t b2[] = {97, 98, 99};
  CHECK(ids_equal(bytes, b2, 3));
  lt_value_clear(&bytes);
  bytes = ok("tiktoken_decode_single_token_bytes", 2, tok, lt_int(10));
  CHECK(ids_equal(bytes, (int64_t[]){60, 124, 101, 110, 100, 124, 62}, 7));
  lt_value_clear(&bytes);
  lt_value all = ok("tiktoken_token_byte_values", 1, tok);
  CHECK(all.kind == LT_LIST && all.u.list.n == 6);
  if (all.kind == LT_LIST && all.u.list.n == 6) {
    CHECK(ids_equal(all.u.list.items[0], (int64_t[]){32}, 1));
    CHECK(ids_equal(all.u.list.items[1], (int64_t[]){97}, 1));
    CHECK(ids_equal(all.u.list.items[2], (int64_t[]){97, 98}, 2));
    CHECK(ids_equal(all.u.list.items[3], (int64_t[]){97, 98, 99}, 3));
    CHECK(ids_equal(all.u.list.items[5], (int64_t[]){99}, 1));
  }
  lt_value_clear(&all);

  /* meta characters change tiktoken_decode only */
  v = ok("tiktoken_set_space", 2, tok, S("c"));
  CHECK(v.kind == LT_BOOL && v.u.b);
  int64_t cab[] = {2, 3};
  text = ok("tiktoken_decode", 2, tok, I64S(cab, 2));
  CHECK_STR(str_of(text), " ab");
  lt_value_clear(&text);
  bytes = ok("tiktoken_decode_bytes", 2, tok, I64S(cab, 2));
  CHECK(ids_equal(bytes, (int64_t[]){99, 97, 98}, 3));
  lt_value_clear(&bytes);
  v = ok("tiktoken_add_meta", 3, tok, S("b"), S("B!"));
  CHECK(v.kind == LT_BOOL && v.u.b);
  text = ok("tiktoken_decode", 2, tok, I64S(cab, 2));
  CHECK_STR(str_of(text), " aB!");
  lt_value_clear(&text);
  lt_value metas = ok("tiktoken_list_meta", 1, tok);
  CHECK(metas.kind == LT_DICT && metas.u.dict.n == 2);
  lt_value_clear(&metas);
  v = ok("tiktoken_remove_meta", 2, tok, S("b"));
  CHECK(v.kind == LT_BOOL && v.u.b == 1);
  v = ok("tiktoken_remove_meta", 2, tok, S("b"));
  CHECK(v.kind == LT_BOOL && v.u.b == 0);
  lt_value nm = lt_dict_new(2);
  lt_dict_put(&nm, "a", lt_string_cstr("A"));
  v = ok("tiktoken_list_meta", 2, tok, nm);
  CHECK(v.kind == LT_BOOL && v.u.b);
  lt_value_clear(&nm);
  text = ok("tiktoken_decode", 2, tok, I64S(cab, 2));
  CHECK_STR(str_of(text), " Ab");
  lt_value_clear(&text);
  v = ok("tiktoken_set_space", 2, tok, S(""));
  ok("tiktoken_remove_meta", 2, tok, S("a"));
  text = ok("tiktoken_decode", 2, tok, I64S(cab, 2));
  CHECK_STR(str_of(text), "cab");
  lt_value_clear(&text);
  fails("tiktoken_add_meta", "must not be empty", 3, tok, S(""), S("x"));
  lt_value badm = lt_dict_new(1);
  lt_dict_put(&badm, "q", lt_int(1));
  fails("tiktoken_list_meta", "the replacement of \"q\" must be a string", 2, tok, badm);
  lt_value_clear(&badm);

  /* batch */
  lt_value texts = L(3, S("abc"), S(""), S("ab ab"));
  lt_value batch = ok("tiktoken_encode_batch", 2, tok, texts);
  CHECK(batch.kind == LT_LIST && batch.u.list.n == 3);
  if (batch.kind == LT_LIST && batch.u.list.n == 3) {
    CHECK(ids_equal(batch.u.list.items[0], (int64_t[]){4}, 1));
    CHECK(ids_equal(batch.u.list.items[1], NULL, 0));
    CHECK(ids_equal(batch.u.list.items[2], (int64_t[]){3, 5, 3}, 3));
  }
  lt_value_clear(&batch);
  free(texts.u.list.items);
  texts = L(2, S("a<|end|>"), S("<|end|>b"));
  batch = ok("tiktoken_encode_batch", 3, tok, texts, S("all"));
  CHECK(batch.kind == LT_LIST && batch.u.list.n == 2 && ids_equal(batch.u.list.items[1], (int64_t[]){10, 1}, 2));
  lt_value_clear(&batch);
  allow = L(1, S("<|end|>"));
  batch = ok("tiktoken_encode_batch", 3, tok, texts, allow);
  CHECK(batch.kind == LT_LIST && batch.u.list.n == 2 && ids_equal(batch.u.list.items[0], (int64_t[]){0, 10}, 2));
  lt_value_clear(&batch);
  free(allow.u.list.items);
  fails("tiktoken_encode_batch", "no token of this vocabulary covers", 2, tok, texts);
  free(texts.u.list.items);
  texts = L(2, S("a"), lt_int(3));
  fails("tiktoken_encode_batch", "item 1 is an integer", 2, tok, texts);
  free(texts.u.list.items);
  int64_t nb[] = {1, 2};
  fails("tiktoken_encode_batch", "must be a list of strings", 2, tok, I64S(nb, 2));

  /* ids out of range or unknown (ids 6-9 are holes) */
  int64_t hole[] = {1, 7};
  fails("tiktoken_decode", "unknown token id 7 at position 1", 2, tok, I64S(hole, 2));
  int64_t big[] = {11};
  fails("tiktoken_decode", "id 11 at position 0 is outside the vocabulary [0, 11)", 2, tok, I64S(big, 1));
  int64_t neg[] = {0, -3};
  fails("tiktoken_decode_bytes", "id -3 at position 1", 2, tok, I64S(neg, 2));
  fails("tiktoken_decode_single_token_bytes", "id 99 is outside", 2, tok, lt_int(99));
  fails("tiktoken_decode_single_token_bytes", "id 8 is not a token", 2, tok, lt_int(8));
  fails("torch_decode", "id 11", 2, tok, I64S(big, 1));
  fails("tiktoken_decode", "argument 2 (ids) must be", 2, tok, S("1 2"));
  lt_value_clear(&tok);

  /* creation errors */
  lt_value vocab = lt_dict_new(2);
  lt_dict_put(&vocab, "a", lt_int(0));
  fails("tiktoken_create", "argument 3 (pattern): bad regex pattern", 3, vocab, lt_nil(), S("(unclosed"));
  lt_dict_put(&vocab, "b", lt_string_cstr("1"));
  fails("tiktoken_create", "argument 1 (vocab): the id of \"b\" must be a non-negative integer, got a string", 3, vocab,
        lt_nil(), S("\\S+"));
  lt_value_clear(&vocab);
  vocab = lt_dict_new(2);
  lt_dict_put(&vocab, "a", lt_int(0));
  lt_dict_put(&vocab, "b", lt_int(-2));
  fails("tiktoken_create", "the id of \"b\"", 1, vocab);
  lt_value_clear(&vocab);
  vocab = lt_dict_new(2);
  lt_dict_put(&vocab, "a", lt_int(0));
  lt_dict_put(&vocab, "b", lt_float(1.0)); /* JSON numbers may come as floats */
  lt_value badsp = L(1, lt_dict_new(1));
  fails("tiktoken_create", "argument 2 (special_tokens): item 0 must be a dictionary with a string \"content\"", 2, vocab,
        badsp);
  lt_value_clear(&badsp);
  fails("tiktoken_create", "argument 2 (special_tokens) must be a list", 2, vocab, S("x"));
  lt_value spd = lt_dict_new(1);
  lt_dict_put(&spd, "<s>", lt_int(7));
  tok = ok("tiktoken_create", 3, vocab, spd, lt_nil()); /* dictionary of specials, GPT-2 pattern */
  v = ok("tiktoken_special_encode", 2, tok, S("<s>"));
  CHECK(v.kind == LT_INT && v.u.i == 7);
  lt_value_clear(&tok);
  lt_value_clear(&spd);
  /* two tokens for one id */
  lt_dict_put(&vocab, "c", lt_int(1));
  fails("tiktoken_create", "rank 1", 1, vocab);
  lt_value_clear(&vocab);

  /* loading errors */
  fails("tiktoken_load", "argument 1 (path): cannot open '/nonexistent/x.tiktoken'", 1, S("/nonexistent/x.tiktoken"));
  const char *badjson = tmp_file("bad_tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 0}");
  fails("tiktoken_load", "is not valid JSON", 1, S(badjson));
  const char *notbpe = tmp_file("wp_tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
  fails("tiktoken_load", "only BPE is supported", 1, S(notbpe));
  const char *badtk = tmp_file("gpt2_bad.tiktoken", "!!!! 1\n");
  fails("tiktoken_load", "invalid base64", 1, S(badtk));
  const char *emptyf = tmp_file("empty.tiktoken", "");
  fails("tiktoken_load", "is empty", 1, S(emptyf));
  fails("tiktoken_load", "argument 1 (path)", 1, S(tmpdir));
  const char *goodtk = tmp_file("gpt2_toy.tiktoken", "YQ== 0\nYg== 1\nYWI= 2\n");
  tok = ok("tiktoken_load", 1, S(goodtk));
  ids = ok("tiktoken_encode", 2, tok, S("abba"));
  CHECK(ids_equal(ids, (int64_t[]){2, 1, 0}, 3));
  lt_value_clear(&ids);
  lt_value_clear(&tok);
}

/* ---- tiktoken on real vocabularies (shared data) ---- */

typedef struct {
  char **texts;
  size_t *tlen;
  int64_t **ids;
  int64_t *nids;
  size_t n;
} vecset;

static int load_vecset(const char *base, vecset *vs) {
  char p1[4200], p2[4200];
  snprintf(p1, sizeof p1, "%s.inp", base);
  snprintf(p2, sizeof p2, "%s.out", base);
  size_t il, ol;
  char *inp = slurp(p1, &il), *out = slurp(p2, &ol);
  memset(vs, 0, sizeof *vs);
  if (!inp || !out) {
    free(inp);
    free(out);
    return -1;
  }
  const char *sep = "\n__ggml_vocab_test__\n";
  size_t sl = strlen(sep), cap = 256, pos = 0;
  vs->texts = (char **)calloc(cap, sizeof(char *));
  vs->tlen = (size_t *)calloc(cap, sizeof(size_t));
  vs->ids = (int64_t **)calloc(cap, sizeof(int64_t *));
  vs->nids = (int64_t *)calloc(cap, sizeof(int64_t));
  for (;;) {
    char *f = NULL;
    for (size_t i = pos; i + sl <= il; i++)
      if (memcmp(inp + i, sep, sl) == 0) {
        f = inp + i;
        break;
      }
    if (!f || vs->n == cap) break;
    size_t len = (size_t)(f - (inp + pos));
    vs->texts[vs->n] = (char *)malloc(len + 1);
    memcpy(vs->texts[vs->n], inp + pos, len);
    vs->texts[vs->n][len] = 0;
    vs->tlen[vs->n++] = len;
    pos = (size_t)(f - inp) + sl;
  }
  size_t k = 0, st = 0;
  for (size_t i = 0; i <= ol && k < vs->n; i++) {
    if (i == ol || out[i] == '\n') {
      if (i == ol && st == ol) break;
      int64_t *v = (int64_t *)malloc((i - st + 1) * sizeof(int64_t));
      int64_t n = 0;
      char *q = out + st;
      while (q < out + i) {
        while (q < out + i && *q == ' ') q++;
        if (q >= out + i) break;
        v[n++] = strtoll(q, &q, 10);
      }
      vs->ids[k] = v;
      vs->nids[k++] = n;
      st = i + 1;
    }
  }
  free(inp);
  free(out);
  return k == vs->n && k > 0 ? 0 : -2;
}

static void free_vecset(vecset *vs) {
  for (size_t i = 0; i < vs->n; i++) {
    free(vs->texts[i]);
    free(vs->ids[i]);
  }
  free(vs->texts);
  free(vs->tlen);
  free(vs->ids);
  free(vs->nids);
}

/* bytes of a decode_bytes result equal to the text */
static int bytes_equal(lt_value v, const char *s, size_t n) {
  if (v.kind != LT_BUFFER || v.u.buf.len != (int64_t)n) return 0;
  for (size_t i = 0; i < n; i++)
    if (((int64_t *)v.u.buf.data)[i] != (uint8_t)s[i]) return 0;
  return 1;
}

static lt_value llama3; /* built with tiktoken_create, kept for the fuzz run */
static lt_value gpt2, cl100k;

static void test_tiktoken_real(void) {
  const char *p = data_path("tiktoken/cl100k_base.tiktoken");
  if (!p) {
    printf("skipped: real vocabularies (no shared data)\n");
    return;
  }
  cl100k = ok("tiktoken_load", 1, S(p));
  lt_value ids = ok("tiktoken_encode", 2, cl100k, S("hello world"));
  CHECK(ids_equal(ids, (int64_t[]){15339, 1917}, 2));
  lt_value_clear(&ids);
  ids = ok("tiktoken_encode", 3, cl100k, S("a<|endoftext|>"), S("all"));
  CHECK(ids_equal(ids, (int64_t[]){64, 100257}, 2));
  lt_value_clear(&ids);
  lt_value v = ok("tiktoken_vocab_size", 1, cl100k);
  CHECK(v.kind == LT_INT && v.u.i == 100277);
  /* invalid UTF-8 decodes with U+FFFD as tiktoken does, bytes stay exact */
  ids = ok("tiktoken_encode", 2, cl100k, SB("caf\xc3\xa9 \xff\xfe", 8));
  lt_value text = ok("tiktoken_decode", 2, cl100k, ids);
  CHECK_STR(str_of(text), "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
  lt_value_clear(&text);
  lt_value b = ok("tiktoken_decode_bytes", 2, cl100k, ids);
  CHECK(bytes_equal(b, "caf\xc3\xa9 \xff\xfe", 8));
  lt_value_clear(&b);
  lt_value_clear(&ids);
  p = data_path("tiktoken/gpt2.tiktoken");
  if (p) gpt2 = ok("tiktoken_load", 1, S(p));

  /* the manual's Tokenizer class: tiktoken_create with the parts of the
   * Llama-3 tokenizer.json, as LispE's json_parse hands them over */
  p = data_path("hf-tokenizers/llama3_tokenizer.json");
  if (!p) return;
  size_t len;
  char *txt = slurp(p, &len);
  json_object *root = txt ? json_tokener_parse(txt) : NULL;
  free(txt);
  CHECK(root != NULL);
  if (!root) return;
  json_object *model, *vocab, *added, *pre, *pts, *split, *pat, *regex;
  json_object_object_get_ex(root, "model", &model);
  json_object_object_get_ex(model, "vocab", &vocab);
  json_object_object_get_ex(root, "added_tokens", &added);
  json_object_object_get_ex(root, "pre_tokenizer", &pre);
  json_object_object_get_ex(pre, "pretokenizers", &pts);
  split = json_object_array_get_idx(pts, 0);
  json_object_object_get_ex(split, "pattern", &pat);
  json_object_object_get_ex(pat, "Regex", &regex);
  lt_value lv = from_json(vocab), la = from_json(added), lp = from_json(regex);
  json_object_put(root);
  llama3 = ok("tiktoken_create", 3, lv, la, lp);
  lt_value_clear(&lv);
  lt_value_clear(&la);
  lt_value_clear(&lp);
  if (!is_handle(llama3)) return;
  v = ok("tiktoken_vocab_size", 1, llama3);
  CHECK(v.kind == LT_INT && v.u.i == 128256);
  v = ok("tiktoken_special_encode", 2, llama3, S("<|begin_of_text|>"));
  CHECK(v.kind == LT_INT && v.u.i == 128000);
  v = ok("tiktoken_special_encode", 2, llama3, S("<|eot_id|>"));
  CHECK(v.kind == LT_INT && v.u.i == 128009);

  /* llama.cpp's Llama-3 vectors (made by Hugging Face tokenizers) */
  vecset vs;
  const char *base = data_path("llamacpp-vectors/ggml-vocab-llama-bpe.gguf.inp");
  if (base) {
    char b2[4200];
    snprintf(b2, sizeof b2, "%.*s", (int)(strlen(base) - 4), base);
    if (load_vecset(b2, &vs) == 0) {
      size_t same = 0, rt = 0;
      for (size_t i = 0; i < vs.n; i++) {
        lt_value r = ok("tiktoken_encode", 2, llama3, SB(vs.texts[i], vs.tlen[i]));
        if (ids_equal(r, vs.ids[i], vs.nids[i])) same++;
        else fprintf(stderr, "  llama-bpe vector %zu differs\n", i);
        lt_value d = ok("tiktoken_decode_bytes", 2, llama3, r);
        if (bytes_equal(d, vs.texts[i], vs.tlen[i])) rt++;
        lt_value_clear(&d);
        lt_value_clear(&r);
      }
      printf("Llama-3 via tiktoken_create: %zu/%zu llama.cpp vectors identical, %zu round trips\n", same, vs.n, rt);
      CHECK(same == vs.n && rt == vs.n);
      free_vecset(&vs);
    }
  }

  /* the same as tiktoken_load of the file, and of llama3.tiktoken */
  lt_value byfile = ok("tiktoken_load", 1, S(p));
  const char *samples[] = {"Hello, world! 12345 ", "  def f(x):\n\treturn x**2\n", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e caf\xc3\xa9 \xf0\x9f\x98\x80"};
  for (int i = 0; i < 3; i++) {
    lt_value a = ok("tiktoken_encode", 2, llama3, S(samples[i]));
    lt_value c = ok("tiktoken_encode", 2, byfile, S(samples[i]));
    int64_t ai[256];
    int64_t an = ids_of(a, ai, 256);
    CHECK(an > 0 && ids_equal(c, ai, an));
    lt_value_clear(&a);
    lt_value_clear(&c);
  }
  lt_value_clear(&byfile);

  /* the chat template of the manual, with the specials allowed */
  const char *chat = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant."
                     "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>";
  ids = ok("tiktoken_special_encode", 2, llama3, S(chat));
  int64_t got[64];
  int64_t n = ids_of(ids, got, 64);
  CHECK(n > 10 && got[0] == 128000 && got[1] == 128006 && got[3] == 128007);
  text = ok("tiktoken_decode", 2, llama3, ids);
  CHECK_STR(str_of(text), chat);
  lt_value_clear(&text);
  lt_value_clear(&ids);
  ids = ok("tiktoken_encode", 2, llama3, S(chat)); /* specials as plain text */
  n = ids_of(ids, got, 64);
  CHECK(n > 20 && got[0] != 128000);
  lt_value_clear(&ids);
}

/* ---- fuzz ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ULL;
}

static size_t random_text(char *buf, size_t cap) {
  static const char *pieces[] = {"<|endoftext|>", "<|", "|>", "<|end|>", "<s>", "</s>", "\xe2\x96\x81", "\xc3\xa9",
                                 "\xf0\x9f\x98\x80", "\xe6\x97\xa5", "\r\n", "'s", "  ", "\xcc\x81"};
  size_t n = (size_t)(rnd() % 48), k = 0;
  for (size_t i = 0; i < n && k + 16 < cap; i++) {
    unsigned r = (unsigned)(rnd() % 100);
    if (r < 40) buf[k++] = (char)(32 + rnd() % 95);
    else if (r < 50) buf[k++] = " \n\t"[rnd() % 3];
    else if (r < 65) buf[k++] = (char)(0x80 + rnd() % 128);
    else if (r < 85) {
      const char *p = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
      size_t l = strlen(p);
      memcpy(buf + k, p, l);
      k += l;
    } else buf[k++] = (char)(rnd() % 256);
  }
  return k;
}

static int fuzz_calls, fuzz_clean_errors;

/* the call succeeded, or failed with a message naming the primitive */
static int clean(const char *name, int rc, lt_value *out) {
  fuzz_calls++;
  if (rc == LT_OK) return 1;
  const char *e = lt_last_error();
  size_t nl = strlen(name);
  if (strncmp(e, name, nl) == 0 && e[nl] == ':') {
    fuzz_clean_errors++;
    lt_test_passed++;
  } else {
    lt_test_failed++;
    fprintf(stderr, "fuzz: %s failed without its name: '%s'\n", name, e);
  }
  lt_value_clear(out);
  return 0;
}

static void must(const char *name, int rc, lt_value *out) {
  if (rc == LT_OK) {
    lt_test_passed++;
    return;
  }
  lt_test_failed++;
  fprintf(stderr, "fuzz: %s failed: %s\n", name, lt_last_error());
  lt_value_clear(out);
}

static lt_value random_ids(int64_t vocab, int64_t *buf, int64_t *n, int *in_range) {
  *n = (int64_t)(rnd() % 13);
  *in_range = 1;
  for (int64_t i = 0; i < *n; i++) {
    unsigned r = (unsigned)(rnd() % 10);
    if (r < 7) buf[i] = (int64_t)(rnd() % (uint64_t)vocab);
    else if (r == 7) buf[i] = -(int64_t)(rnd() % 5) - 1;
    else if (r == 8) buf[i] = vocab + (int64_t)(rnd() % 1000);
    else buf[i] = (rnd() & 1) ? INT64_MAX : INT64_MIN + (int64_t)(rnd() % 10);
    if (buf[i] < 0 || buf[i] >= vocab) *in_range = 0;
  }
  return I64S(buf, *n);
}

static void test_fuzz(lt_value spm, int64_t spm_vocab) {
  lt_value simple = ok("torch_simple_tokenizer", 0);
  lt_value toy = toy_tiktoken();
  const int iters = 1500;
  char text[1024];
  lt_value out;
  int64_t base_tensors = lts_live_tensors();
  for (int it = 0; it < iters; it++) {
    size_t tl = random_text(text, sizeof text);
    lt_value t = SB(text, tl);
    /* encodes */
    must("torch_encode", call("torch_encode", &out, 2, simple, t), &out);
    if (out.kind != LT_NIL) {
      lt_value d;
      must("torch_decode", call("torch_decode", &d, 2, simple, out), &d);
      lt_value_clear(&d);
    }
    lt_value_clear(&out);
    if (clean("torch_encode", call("torch_encode", &out, 2, toy, t), &out)) lt_value_clear(&out);
    if (clean("tiktoken_encode", call("tiktoken_encode", &out, 3, toy, t, (it & 1) ? S("all") : lt_nil()), &out))
      lt_value_clear(&out);
    if (clean("tiktoken_special_encode", call("tiktoken_special_encode", &out, 2, toy, t), &out)) lt_value_clear(&out);
    lt_value byte_level[3] = {gpt2, cl100k, llama3};
    for (int k = 0; k < 3; k++) {
      if (!is_handle(byte_level[k])) continue;
      lt_value bl = byte_level[k];
      /* byte-level vocabularies encode every byte string, and give it back */
      must("tiktoken_encode", call("tiktoken_encode", &out, 3, bl, t, (it % 3 == 0) ? S("all") : lt_nil()), &out);
      if (out.kind != LT_NIL) {
        lt_value d;
        must("tiktoken_decode_bytes", call("tiktoken_decode_bytes", &d, 2, bl, out), &d);
        if (d.kind != LT_NIL && !bytes_equal(d, text, tl)) {
          lt_test_failed++;
          fprintf(stderr, "fuzz: byte round trip failed (iteration %d, vocabulary %d)\n", it, k);
        }
        lt_value_clear(&d);
        must("tiktoken_decode", call("tiktoken_decode", &d, 2, bl, out), &d);
        lt_value_clear(&d);
      }
      lt_value_clear(&out);
      must("tiktoken_special_encode", call("tiktoken_special_encode", &out, 2, bl, t), &out);
      lt_value_clear(&out);
      if (it % 50 == 0) {
        char t2[1024];
        size_t l2 = random_text(t2, sizeof t2);
        lt_value texts = L(3, t, SB(t2, l2), S(""));
        must("tiktoken_encode_batch", call("tiktoken_encode_batch", &out, 3, bl, texts, (it & 2) ? S("all") : lt_nil()), &out);
        lt_value_clear(&out);
        free(texts.u.list.items);
      }
    }
    if (is_handle(spm)) {
      must("torch_encode", call("torch_encode", &out, 2, spm, t), &out);
      if (out.kind != LT_NIL) {
        lt_value d;
        must("torch_decode", call("torch_decode", &d, 2, spm, out), &d);
        lt_value_clear(&d);
      }
      lt_value_clear(&out);
    }

    /* decodes of random ids */
    int64_t buf[16], n;
    int in_range;
    struct { lt_value tok; int64_t vocab; int holes; } decs[5] = {
        {simple, 0, 0}, {toy, 11, 1}, {gpt2, 50257, 0}, {spm, spm_vocab, 0}, {llama3, 128256, 1}};
    lt_value vs;
    call("torch_vocab_size", &vs, 1, simple);
    decs[0].vocab = vs.u.i;
    for (int k = 0; k < 5; k++) {
      if (!is_handle(decs[k].tok)) continue;
      lt_value ids = random_ids(decs[k].vocab, buf, &n, &in_range);
      int rc = call("torch_decode", &out, 2, decs[k].tok, ids);
      if (in_range && !decs[k].holes) must("torch_decode", rc, &out);
      else clean("torch_decode", rc, &out);
      lt_value_clear(&out);
      if (k == 0 || k == 3) continue; /* not tiktoken */
      rc = call("tiktoken_decode", &out, 2, decs[k].tok, ids);
      if (in_range && !decs[k].holes) must("tiktoken_decode", rc, &out);
      else clean("tiktoken_decode", rc, &out);
      lt_value_clear(&out);
      if (clean("tiktoken_decode_bytes", call("tiktoken_decode_bytes", &out, 2, decs[k].tok, ids), &out))
        lt_value_clear(&out);
      int64_t one = n ? buf[0] : (int64_t)(rnd() % 100000);
      if (clean("tiktoken_decode_single_token_bytes",
                call("tiktoken_decode_single_token_bytes", &out, 2, decs[k].tok, lt_int(one)), &out))
        lt_value_clear(&out);
      /* the same ids as a list and as a tensor */
      if (n > 0 && (it & 7) == 0) {
        lt_value l = lt_list_new(n);
        for (int64_t i = 0; i < n; i++) l.u.list.items[i] = lt_int(buf[i]);
        if (clean("tiktoken_decode", call("tiktoken_decode", &out, 2, decs[k].tok, l), &out)) lt_value_clear(&out);
        lt_value_clear(&l);
        lts_tensor *tt = NULL;
        int64_t dims[1] = {n};
        lts_from_copy(buf, LT_I64, dims, 1, LT_I64, &tt);
        if (clean("torch_decode", call("torch_decode", &out, 2, decs[k].tok, lt_handle_value(LT_H_TENSOR, tt)), &out))
          lt_value_clear(&out);
        lts_tensor_free(tt);
      }
    }
  }
  CHECK(lts_live_tensors() == base_tensors);
  printf("fuzz: %d iterations (seeded), %d checked calls, %d clean errors\n", iters, fuzz_calls, fuzz_clean_errors);
  lt_value_clear(&simple);
  lt_value_clear(&toy);
}

int main(void) {
  CHECK(lt_init() == LT_OK);
  if (make_tmpdir(tmpdir, sizeof tmpdir, "tokenizers") != 0) return 1;
  int64_t base_tensors = lts_live_tensors();

  test_simple();
  test_padding();
  test_tiktoken_toy();
  test_tiktoken_real();

  /* SentencePiece for the fuzz run: the Llama-2 model, else one trained here */
  lt_value spm = lt_nil(), out;
  const char *mp = data_path("sentencepiece/sctg_llama_tokenizer.model");
  if (!mp) {
    static char corpus[600], prefix[600], model[700];
    snprintf(corpus, sizeof corpus, "%s/fuzz_corpus.txt", tmpdir);
    snprintf(prefix, sizeof prefix, "%s/fuzz_spm", tmpdir);
    snprintf(model, sizeof model, "%s.model", prefix);
    FILE *f = fopen(corpus, "w");
    for (int i = 0; i < 200; i++)
      fprintf(f, "The quick brown fox %d jumps over the lazy dog, caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac!\n", i);
    fclose(f);
    if (call("torch_train_sentencepiece", &out, 4, S(corpus), S(prefix), lt_int(64), S("unigram")) == LT_OK) {
      lt_value_clear(&out);
      mp = model;
    }
  }
  if (mp) {
    if (call("torch_sentencepiece_tokenizer", &out, 1, S(mp)) == LT_OK) spm = out;
  }
  if (!is_handle(spm)) printf("fuzz without SentencePiece: %s\n", lt_last_error());
  test_fuzz(spm, mp && strstr(mp, "fuzz_spm") ? 64 : 32000);
  lt_value_clear(&spm);
  lt_value_clear(&llama3);
  lt_value_clear(&gpt2);
  lt_value_clear(&cl100k);
  CHECK(lts_live_tensors() == base_tensors);

  remove_tmpdir(tmpdir);
  return test_summary("test_tokenizers");
}
