/* simple_tokenizer.c - section 9: the manual's simple tokenizer.
 *
 * Words and punctuation, lowercased, with a vocabulary that grows as texts
 * are encoded. Ids 0-3 are <pad> <unk> <bos> <eos>; encode returns
 * <bos> words... <eos> (the manual's "[2, 4, 5, ... 3]").
 *  - the text is first made valid UTF-8 (each invalid byte sequence becomes
 *    U+FFFD, as Python's errors="replace"), then lowercased (ASCII, Latin-1,
 *    Latin Extended-A, Greek and Cyrillic);
 *  - a word is a run of letters, digits, '_' and other non-ASCII characters,
 *    with apostrophes inside it kept ("don't"); every other visible ASCII
 *    character, and each symbol/punctuation/emoji character, is a token alone;
 *    whitespace separates;
 *  - decode joins tokens with spaces, except before closing punctuation
 *    (. , ! ? ; : ) ] } %) and after opening brackets; <pad> <bos> <eos> are
 *    skipped, <unk> prints as "<unk>".
 * Encoding from several threads at once is safe (one mutex per tokenizer).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer_internal.h"
#include "tokenizer_prims.h"

enum { SIMPLE_PAD = 0, SIMPLE_UNK = 1, SIMPLE_BOS = 2, SIMPLE_EOS = 3 };
static const char *const simple_specials[4] = {"<pad>", "<unk>", "<bos>", "<eos>"};

struct lt_simple_tok {
  pthread_mutex_t mu;
  char **tokens; /* id -> NUL-terminated token */
  size_t *lens;
  size_t n, cap;
  int64_t *slots; /* open addressing: id, or -1 */
  size_t nslots;  /* power of two */
};

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
  return h;
}

static int64_t lookup(const lt_simple_tok *s, const char *tok, size_t n) {
  size_t mask = s->nslots - 1;
  for (size_t i = (size_t)hash_bytes(tok, n) & mask;; i = (i + 1) & mask) {
    int64_t id = s->slots[i];
    if (id < 0) return -1;
    if (s->lens[id] == n && memcmp(s->tokens[id], tok, n) == 0) return id;
  }
}

static void place(lt_simple_tok *s, int64_t id) {
  size_t mask = s->nslots - 1;
  size_t i = (size_t)hash_bytes(s->tokens[id], s->lens[id]) & mask;
  while (s->slots[i] >= 0) i = (i + 1) & mask;
  s->slots[i] = id;
}

/* Adds a token (not present); returns its id or -1 when out of memory. */
static int64_t add_token(lt_simple_tok *s, const char *tok, size_t n) {
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 64;
    char **t = (char **)realloc(s->tokens, nc * sizeof(char *));
    if (!t) return -1;
    s->tokens = t;
    size_t *l = (size_t *)realloc(s->lens, nc * sizeof(size_t));
    if (!l) return -1;
    s->lens = l;
    s->cap = nc;
  }
  if ((s->n + 1) * 2 > s->nslots) {
    size_t ns = s->nslots ? s->nslots * 2 : 128;
    int64_t *sl = (int64_t *)malloc(ns * sizeof(int64_t));
    if (!sl) return -1;
    free(s->slots);
    s->slots = sl;
    s->nslots = ns;
    memset(sl, 0xff, ns * sizeof(int64_t));
    for (size_t i = 0; i < s->n; i++) place(s, (int64_t)i);
  }
  char *c = (char *)malloc(n + 1);
  if (!c) return -1;
  memcpy(c, tok, n);
  c[n] = 0;
  int64_t id = (int64_t)s->n;
  s->tokens[id] = c;
  s->lens[id] = n;
  s->n++;
  place(s, id);
  return id;
}

void lt_simple_free(lt_simple_tok *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) free(s->tokens[i]);
  free(s->tokens);
  free(s->lens);
  free(s->slots);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static lt_simple_tok *simple_new(void) {
  lt_simple_tok *s = (lt_simple_tok *)calloc(1, sizeof *s);
  if (!s) return NULL;
  pthread_mutex_init(&s->mu, NULL);
  for (int i = 0; i < 4; i++)
    if (add_token(s, simple_specials[i], strlen(simple_specials[i])) != i) {
      lt_simple_free(s);
      return NULL;
    }
  return s;
}

int64_t lt_simple_vocab_size(lt_simple_tok *s) {
  pthread_mutex_lock(&s->mu);
  int64_t n = (int64_t)s->n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* ---- characters ---- */

/* Decodes one code point of valid UTF-8 (the text was repaired first). */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp) {
  if (p[0] < 0x80) { *cp = p[0]; return 1; }
  if ((p[0] & 0xE0) == 0xC0 && n >= 2) { *cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F); return 2; }
  if ((p[0] & 0xF0) == 0xE0 && n >= 3) {
    *cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    return 3;
  }
  if ((p[0] & 0xF8) == 0xF0 && n >= 4) {
    *cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
          (p[3] & 0x3F);
    return 4;
  }
  *cp = 0xFFFD;
  return 1;
}

static size_t utf8_put(uint32_t cp, char *o) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static uint32_t lower_cp(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0xC0) return c;
  if (c <= 0xDE) return c == 0xD7 ? c : c + 32;
  if (c >= 0x100 && c <= 0x137) return (c & 1) ? c : c + 1;
  if (c >= 0x139 && c <= 0x148) return (c & 1) ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return (c & 1) ? c : c + 1;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1) ? c + 1 : c;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  return c;
}

static int is_space_cp(uint32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

/* symbols and punctuation outside ASCII: a token each */
static int is_symbol_cp(uint32_t c) {
  return (c >= 0xA1 && c <= 0xBF && c != 0xAA && c != 0xB5 && c != 0xBA) || c == 0xD7 || c == 0xF7 ||
         (c >= 0x2010 && c <= 0x2BFF) || (c >= 0x3001 && c <= 0x303F) || (c >= 0xFE30 && c <= 0xFE4F) ||
         (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0x1F000 && c <= 0x1FAFF);
}

static int is_word_cp(uint32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  return !is_space_cp(c) && !is_symbol_cp(c);
}

static int is_apostrophe(uint32_t c) { return c == '\'' || c == 0x2019; }

/* ---- encode / decode ---- */

int lt_simple_encode(lt_simple_tok *s, const char *text, size_t len, int64_t **ids, int64_t *n) {
  char *valid = NULL;
  size_t vlen = 0;
  if (lt_tiktoken_utf8_replace((const uint8_t *)text, len, &valid, &vlen)) return lt_fail("out of memory");
  /* lowercase into a buffer of the same or smaller size (the mappings above
   * never lengthen a UTF-8 sequence) */
  char *low = (char *)malloc(vlen + 4);
  int64_t *o = (int64_t *)malloc(sizeof(int64_t) * (vlen + 2));
  if (!low || !o) {
    free(valid);
    free(low);
    free(o);
    return lt_fail("out of memory");
  }
  size_t ll = 0;
  for (size_t i = 0; i < vlen;) {
    uint32_t cp;
    i += utf8_next((const uint8_t *)valid + i, vlen - i, &cp);
    ll += utf8_put(lower_cp(cp), low + ll);
  }
  free(valid);
  int64_t k = 0;
  o[k++] = SIMPLE_BOS;
  pthread_mutex_lock(&s->mu);
  int oom = 0;
  for (size_t i = 0; i < ll && !oom;) {
    uint32_t cp;
    size_t w = utf8_next((const uint8_t *)low + i, ll - i, &cp);
    if (is_space_cp(cp)) {
      i += w;
      continue;
    }
    size_t start = i, end = i + w;
    if (is_word_cp(cp)) {
      for (;;) {
        if (end >= ll) break;
        uint32_t c2;
        size_t w2 = utf8_next((const uint8_t *)low + end, ll - end, &c2);
        if (is_word_cp(c2)) {
          end += w2;
          continue;
        }
        if (is_apostrophe(c2) && end + w2 < ll) {
          uint32_t c3;
          utf8_next((const uint8_t *)low + end + w2, ll - end - w2, &c3);
          if (is_word_cp(c3)) {
            end += w2;
            continue;
          }
        }
        break;
      }
    }
    int64_t id = lookup(s, low + start, end - start);
    if (id < 0) id = add_token(s, low + start, end - start);
    if (id < 0) oom = 1;
    else o[k++] = id;
    i = end;
  }
  pthread_mutex_unlock(&s->mu);
  free(low);
  if (oom) {
    free(o);
    return lt_fail("out of memory");
  }
  o[k++] = SIMPLE_EOS;
  *ids = o;
  *n = k;
  return LT_OK;
}

static int no_space_before(const char *t, size_t n) {
  return n == 1 && strchr(".,!?;:)]}%", t[0]) != NULL;
}
static int no_space_after(const char *t, size_t n) { return n == 1 && strchr("([{", t[0]) != NULL; }

int lt_simple_decode(lt_simple_tok *s, const int64_t *ids, int64_t n, int argi, char **text, size_t *len) {
  pthread_mutex_lock(&s->mu);
  size_t total = 1;
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || (uint64_t)ids[i] >= s->n) {
      int64_t vs = (int64_t)s->n;
      pthread_mutex_unlock(&s->mu);
      return lt_fail("argument %d (ids): id %lld at position %lld is outside the vocabulary [0, %lld)", argi,
                     (long long)ids[i], (long long)i, (long long)vs);
    }
    total += s->lens[ids[i]] + 1;
  }
  char *o = (char *)malloc(total);
  if (!o) {
    pthread_mutex_unlock(&s->mu);
    return lt_fail("out of memory");
  }
  size_t k = 0;
  int prev_open = 1; /* nothing written yet: no space */
  for (int64_t i = 0; i < n; i++) {
    int64_t id = ids[i];
    if (id == SIMPLE_PAD || id == SIMPLE_BOS || id == SIMPLE_EOS) continue;
    const char *t = s->tokens[id];
    size_t tl = s->lens[id];
    if (!prev_open && !no_space_before(t, tl)) o[k++] = ' ';
    memcpy(o + k, t, tl);
    k += tl;
    prev_open = no_space_after(t, tl);
  }
  pthread_mutex_unlock(&s->mu);
  o[k] = 0;
  *text = o;
  *len = k;
  return LT_OK;
}

/* ---- torch_simple_tokenizer ---- */

int lt_p_simple_tokenizer(const lt_value *a, lt_value *out) {
  (void)a;
  lt_simple_tok *s = simple_new();
  if (!s) return lt_fail("out of memory");
  return lt_tokenizer_wrap(LT_TOK_SIMPLE, s, out);
}
