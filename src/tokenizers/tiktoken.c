/*
 * tiktoken.c -- core of the tiktoken-compatible byte-level BPE tokenizer:
 * storage, hash tables, regex pre-tokenization, BPE merge, encode/decode,
 * batch encoding and meta characters.  File loaders: tiktoken_load.c.
 * See include/lt_tiktoken.h for the API contract.
 */
#define _POSIX_C_SOURCE 200809L
#define PCRE2_CODE_UNIT_WIDTH 8

#include "lt_tiktoken.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LT_NONE        UINT32_MAX
#define LT_MAX_ID      (1u << 26)
#define LT_DEFAULT_LINEAR_MAX 128

/* ------------------------------------------------------------------ */
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *lt_tiktoken_strerror(int code)
{
    switch (code) {
    case LT_TIKTOKEN_OK:          return "success";
    case LT_TIKTOKEN_ENOMEM:      return "out of memory";
    case LT_TIKTOKEN_EINVAL:      return "invalid argument";
    case LT_TIKTOKEN_ESTATE:      return "tokenizer not finalized (or already finalized)";
    case LT_TIKTOKEN_ENOTOKEN:    return "input bytes have no token in this vocabulary";
    case LT_TIKTOKEN_EREGEX:      return "regex matching failed";
    case LT_TIKTOKEN_EUNKNOWN_ID: return "unknown token id";
    case LT_TIKTOKEN_EDUP:        return "duplicate token";
    case LT_TIKTOKEN_ETHREAD:     return "thread creation failed";
    case LT_TIKTOKEN_ENOTFOUND:   return "not found";
    default:                      return "unknown error";
    }
}

static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint64_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static inline uint64_t mix64(uint64_t a, uint64_t b)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    h ^= h >> 29; h *= 0xBF58476D1CE4E5B9ull; h ^= h >> 32;
    return h;
#endif
}

#define HK1 0xa0761d6478bd642full
#define HK2 0xe7037ed1a0b428dbull
#define HK3 0x8ebc6af09c88c6e3ull

/* Canonical 64-bit packing of a key of 1..8 bytes (injective for a given
 * length; reads only inside [p, p+n)). */
static inline uint64_t pack_short(const uint8_t *p, size_t n)
{
    if (n >= 4) return rd32(p) | (rd32(p + n - 4) << 32);
    return ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
}

/* Hash of a key longer than 8 bytes; reads only inside [p, p+n). */
static inline uint64_t hash_long(const uint8_t *p, size_t n)
{
    uint64_t a, b;
    if (n <= 16) { a = rd64(p); b = rd64(p + n - 8); }
    else {
        uint64_t s = HK3;
        size_t i = 0;
        while (i + 16 < n) {
            s = mix64(rd64(p + i) ^ HK1, rd64(p + i + 8) ^ s);
            i += 16;
        }
        a = rd64(p + n - 16) ^ s;
        b = rd64(p + n - 8);
    }
    return mix64(a ^ HK1 ^ (uint64_t)n, b ^ HK2);
}

static inline uint64_t hash_short(uint64_t k, size_t n) { return mix64(k ^ HK1, (uint64_t)n ^ HK2); }

static inline int long_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n <= 16) return rd64(a) == rd64(b) && rd64(a + n - 8) == rd64(b + n - 8);
    return memcmp(a, b, n) == 0;
}

/* ------------------------------------------------------------------ */
/* data structures                                                      */
/* ------------------------------------------------------------------ */

typedef struct { uint32_t off, len, id; } lt_entry;           /* bytes in arena */
/* Hash slot (16 bytes), len 0 = empty.  Keys of at most 8 bytes are stored
 * inline (key = pack_short); longer keys store (hash tag << 32 | arena
 * offset) and are compared against the arena. */
typedef struct { uint64_t key; uint32_t id, len; } lt_slot;
typedef struct { char *meta, *repl; size_t mlen, rlen; } lt_meta;

typedef struct {
    lt_slot *slots;
    size_t mask;
} lt_table;

struct lt_tiktoken {
    char *pattern;            /* as given */
    pcre2_code *re;
    int jit;                  /* JIT compiled ok */

    uint8_t *arena; size_t arena_len, arena_cap;
    lt_entry *ranks; size_t n_ranks, cap_ranks;
    lt_entry *specials; size_t n_specials, cap_specials;

    int finalized;
    lt_table rank_tab, spec_tab;
    uint32_t byte_rank[256];
    uint32_t *pair_rank;      /* 65536 entries: rank of every 2-byte string (L2-resident) */
    /* decoder: per id, entry index+1 into ranks (>0) or -(index+1) into specials */
    int32_t *dec; size_t dec_n;
    size_t vocab_size;
    /* special search */
    uint8_t spec_first[256];
    uint32_t *spec_lens; size_t n_spec_lens;  /* distinct lengths, descending */
    /* token_byte_values order (lazily built) */
    uint32_t *sorted; pthread_mutex_t sort_lock; int sort_lock_ok;

    size_t linear_max;

    lt_meta *metas; size_t n_metas, cap_metas;
    char *space_meta;
};

static int arena_put(lt_tiktoken *t, const void *b, size_t len, uint32_t *off)
{
    if (len > UINT32_MAX - t->arena_len) return LT_TIKTOKEN_ENOMEM;
    if (t->arena_len + len > t->arena_cap) {
        size_t nc = t->arena_cap ? t->arena_cap * 2 : 1 << 16;
        while (nc < t->arena_len + len) nc *= 2;
        uint8_t *na = realloc(t->arena, nc);
        if (!na) return LT_TIKTOKEN_ENOMEM;
        t->arena = na; t->arena_cap = nc;
    }
    memcpy(t->arena + t->arena_len, b, len);
    *off = (uint32_t)t->arena_len;
    t->arena_len += len;
    return 0;
}

static int entries_push(lt_entry **v, size_t *n, size_t *cap, lt_entry e)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        lt_entry *nv = realloc(*v, nc * sizeof(*nv));
        if (!nv) return LT_TIKTOKEN_ENOMEM;
        *v = nv; *cap = nc;
    }
    (*v)[(*n)++] = e;
    return 0;
}

/* ------------------------------------------------------------------ */
/* hash tables                                                          */
/* ------------------------------------------------------------------ */

static int table_build(lt_table *tb, const lt_tiktoken *t, const lt_entry *e, size_t n,
                       size_t *dup_index)
{
    size_t cap = 16;
    while (cap < n * 2 + 2) cap *= 2;
    tb->slots = calloc(cap, sizeof(lt_slot));
    if (!tb->slots) return LT_TIKTOKEN_ENOMEM;
    tb->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = t->arena + e[i].off;
        size_t len = e[i].len;
        uint64_t h, key;
        if (len <= 8) { key = pack_short(p, len); h = hash_short(key, len); }
        else { h = hash_long(p, len); key = (h & 0xffffffff00000000ull) | e[i].off; }
        size_t j = (size_t)h & tb->mask;
        for (;;) {
            lt_slot *s = &tb->slots[j];
            if (s->len == 0) { s->key = key; s->id = e[i].id; s->len = (uint32_t)len; break; }
            if (s->len == len &&
                (len <= 8 ? s->key == key
                          : ((s->key ^ key) >> 32) == 0 &&
                            long_eq(t->arena + (uint32_t)s->key, p, len))) {
                if (s->id != e[i].id) { *dup_index = i; return LT_TIKTOKEN_EDUP; }
                break; /* exact repeat: harmless */
            }
            j = (j + 1) & tb->mask;
        }
    }
    return 0;
}

static inline uint32_t table_get(const lt_table *tb, const uint8_t *arena,
                                 const uint8_t *p, size_t n)
{
    if (n <= 8) {
        uint64_t key = pack_short(p, n);
        size_t j = (size_t)hash_short(key, n) & tb->mask;
        for (;;) {
            const lt_slot *s = &tb->slots[j];
            if (s->len == n && s->key == key) return s->id;
            if (s->len == 0) return LT_NONE;
            j = (j + 1) & tb->mask;
        }
    }
    uint64_t h = hash_long(p, n);
    size_t j = (size_t)h & tb->mask;
    for (;;) {
        const lt_slot *s = &tb->slots[j];
        if (s->len == 0) return LT_NONE;
        if (s->len == n && ((s->key ^ h) >> 32) == 0 && long_eq(arena + (uint32_t)s->key, p, n))
            return s->id;
        j = (j + 1) & tb->mask;
    }
}

/* ------------------------------------------------------------------ */
/* pattern rewriting: \s, \S -> Unicode White_Space (Rust regex)        */
/* ------------------------------------------------------------------ */

#define WS_SET "\\x{9}-\\x{d}\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}" \
               "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

static char *rewrite_pattern(const char *pat, size_t plen)
{
    size_t cap, o = 0;
    size_t n_esc = 0;   /* each escape may grow by < sizeof(WS_SET) + 4 */
    for (size_t i = 0; i + 1 < plen; i++) if (pat[i] == '\\') n_esc++;
    cap = plen + n_esc * (sizeof(WS_SET) + 4) + 16;
    char *out = malloc(cap);
    if (!out) return NULL;
    int in_class = 0;
    size_t i = 0;
#define EMIT(s, l) do { memcpy(out + o, (s), (l)); o += (l); } while (0)
    while (i < plen) {
        char c = pat[i];
        if (c == '\\' && i + 1 < plen) {
            char d = pat[i + 1];
            if (d == 'Q') {               /* literal until \E */
                size_t j = i + 2;
                while (j < plen && !(pat[j] == '\\' && j + 1 < plen && pat[j + 1] == 'E')) j++;
                if (j < plen) j += 2; else j = plen;
                EMIT(pat + i, j - i); i = j; continue;
            }
            if (d == 's') {
                if (in_class) EMIT(WS_SET, sizeof(WS_SET) - 1);
                else { EMIT("[", 1); EMIT(WS_SET, sizeof(WS_SET) - 1); EMIT("]", 1); }
                i += 2; continue;
            }
            if (d == 'S' && !in_class) {
                EMIT("[^", 2); EMIT(WS_SET, sizeof(WS_SET) - 1); EMIT("]", 1);
                i += 2; continue;
            }
            EMIT(pat + i, 2); i += 2; continue;
        }
        if (!in_class && c == '[') {
            in_class = 1;
            EMIT(pat + i, 1); i++;
            if (i < plen && pat[i] == '^') { EMIT(pat + i, 1); i++; }
            if (i < plen && pat[i] == ']') { EMIT(pat + i, 1); i++; }
            continue;
        }
        if (in_class && c == '[' && i + 1 < plen && pat[i + 1] == ':') {
            /* POSIX class [:name:] */
            const char *end = strstr(pat + i + 2, ":]");
            if (end && (size_t)(end - pat) < plen) {
                size_t l = (size_t)(end - (pat + i)) + 2;
                EMIT(pat + i, l); i += l; continue;
            }
        }
        if (in_class && c == ']') in_class = 0;
        EMIT(pat + i, 1); i++;
    }
#undef EMIT
    out[o] = 0;
    return out;
}

/* ------------------------------------------------------------------ */
/* construction                                                         */
/* ------------------------------------------------------------------ */

lt_tiktoken *lt_tiktoken_new(const char *pattern, char *err, size_t errlen)
{
    if (!pattern) { set_err(err, errlen, "tiktoken: pattern is NULL"); return NULL; }
    lt_tiktoken *t = calloc(1, sizeof(*t));
    if (!t) { set_err(err, errlen, "tiktoken: out of memory"); return NULL; }
    t->linear_max = LT_DEFAULT_LINEAR_MAX;
    for (int i = 0; i < 256; i++) t->byte_rank[i] = LT_NONE;
    t->pattern = strdup(pattern);
    char *rew = rewrite_pattern(pattern, strlen(pattern));
    if (!t->pattern || !rew) {
        free(rew); lt_tiktoken_free(t);
        set_err(err, errlen, "tiktoken: out of memory");
        return NULL;
    }
    int ec = 0; PCRE2_SIZE eo = 0;
    /* first compile the original, so error offsets refer to the user's text */
    pcre2_code *chk = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
                                    &ec, &eo, NULL);
    if (!chk) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        set_err(err, errlen, "tiktoken: bad regex pattern at offset %zu: %s (pattern: \"%.80s%s\")",
                (size_t)eo, (const char *)msg, pattern, strlen(pattern) > 80 ? "..." : "");
        free(rew); lt_tiktoken_free(t);
        return NULL;
    }
    t->re = pcre2_compile((PCRE2_SPTR)rew, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
    if (t->re) pcre2_code_free(chk);
    else t->re = chk;   /* rewriting made it invalid (e.g. a range from \s): keep PCRE2's \s */
    free(rew);
    t->jit = pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE) == 0;
    if (pthread_mutex_init(&t->sort_lock, NULL) == 0) t->sort_lock_ok = 1;
    return t;
}

int lt_tiktoken_add_rank(lt_tiktoken *t, const uint8_t *bytes, size_t len, uint32_t rank)
{
    if (!t || !bytes || len == 0 || len > UINT32_MAX) return LT_TIKTOKEN_EINVAL;
    if (t->finalized) return LT_TIKTOKEN_ESTATE;
    lt_entry e = { 0, (uint32_t)len, rank };
    int rc = arena_put(t, bytes, len, &e.off);
    if (rc) return rc;
    return entries_push(&t->ranks, &t->n_ranks, &t->cap_ranks, e);
}

int lt_tiktoken_add_special(lt_tiktoken *t, const char *text, size_t len, uint32_t id)
{
    if (!t || !text || len == 0 || len > UINT32_MAX) return LT_TIKTOKEN_EINVAL;
    if (t->finalized) return LT_TIKTOKEN_ESTATE;
    lt_entry e = { 0, (uint32_t)len, id };
    int rc = arena_put(t, text, len, &e.off);
    if (rc) return rc;
    return entries_push(&t->specials, &t->n_specials, &t->cap_specials, e);
}

int lt_tiktoken_finalize(lt_tiktoken *t, char *err, size_t errlen)
{
    if (!t) { set_err(err, errlen, "tiktoken: NULL tokenizer"); return LT_TIKTOKEN_EINVAL; }
    if (t->finalized) { set_err(err, errlen, "tiktoken: already finalized"); return LT_TIKTOKEN_ESTATE; }
    uint32_t max_id = 0; int any = 0;
    for (size_t i = 0; i < t->n_ranks; i++) {
        if (t->ranks[i].id >= LT_MAX_ID) {
            set_err(err, errlen, "tiktoken: rank %u too large (limit %u)", t->ranks[i].id, LT_MAX_ID - 1);
            return LT_TIKTOKEN_EINVAL;
        }
        if (t->ranks[i].id > max_id) max_id = t->ranks[i].id;
        any = 1;
    }
    for (size_t i = 0; i < t->n_specials; i++) {
        if (t->specials[i].id >= LT_MAX_ID) {
            set_err(err, errlen, "tiktoken: special token id %u too large (limit %u)",
                    t->specials[i].id, LT_MAX_ID - 1);
            return LT_TIKTOKEN_EINVAL;
        }
        if (t->specials[i].id > max_id) max_id = t->specials[i].id;
        any = 1;
    }
    size_t dup = 0;
    int rc = table_build(&t->rank_tab, t, t->ranks, t->n_ranks, &dup);
    if (rc == LT_TIKTOKEN_EDUP) {
        set_err(err, errlen, "tiktoken: the same token bytes (%u bytes) have two ranks, one being %u",
                t->ranks[dup].len, t->ranks[dup].id);
        goto fail;
    }
    if (rc) { set_err(err, errlen, "tiktoken: out of memory"); goto fail; }
    rc = table_build(&t->spec_tab, t, t->specials, t->n_specials, &dup);
    if (rc == LT_TIKTOKEN_EDUP) {
        set_err(err, errlen, "tiktoken: special token \"%.*s\" given two ids, one being %u",
                (int)(t->specials[dup].len > 60 ? 60 : t->specials[dup].len),
                (const char *)t->arena + t->specials[dup].off, t->specials[dup].id);
        goto fail;
    }
    if (rc) { set_err(err, errlen, "tiktoken: out of memory"); goto fail; }

    t->pair_rank = malloc(65536 * sizeof(uint32_t));
    if (!t->pair_rank) { rc = LT_TIKTOKEN_ENOMEM; set_err(err, errlen, "tiktoken: out of memory"); goto fail; }
    memset(t->pair_rank, 0xff, 65536 * sizeof(uint32_t));   /* LT_NONE */
    t->dec_n = any ? (size_t)max_id + 1 : 0;
    t->dec = calloc(t->dec_n ? t->dec_n : 1, sizeof(int32_t));
    if (!t->dec) { rc = LT_TIKTOKEN_ENOMEM; set_err(err, errlen, "tiktoken: out of memory"); goto fail; }
    for (size_t i = 0; i < t->n_ranks; i++) {
        const lt_entry *e = &t->ranks[i];
        int32_t cur = t->dec[e->id];
        if (cur > 0) {
            const lt_entry *o = &t->ranks[cur - 1];
            if (o->len != e->len || memcmp(t->arena + o->off, t->arena + e->off, e->len) != 0) {
                set_err(err, errlen, "tiktoken: rank %u given to two different byte strings", e->id);
                rc = LT_TIKTOKEN_EDUP; goto fail;
            }
            continue;
        }
        t->dec[e->id] = (int32_t)(i + 1);
        if (e->len == 1) t->byte_rank[t->arena[e->off]] = e->id;
        if (e->len == 2) t->pair_rank[(size_t)t->arena[e->off] << 8 | t->arena[e->off + 1]] = e->id;
    }
    memset(t->spec_first, 0, sizeof(t->spec_first));
    t->spec_lens = malloc((t->n_specials ? t->n_specials : 1) * sizeof(uint32_t));
    if (!t->spec_lens) { rc = LT_TIKTOKEN_ENOMEM; set_err(err, errlen, "tiktoken: out of memory"); goto fail; }
    t->n_spec_lens = 0;
    for (size_t i = 0; i < t->n_specials; i++) {
        const lt_entry *e = &t->specials[i];
        if (t->dec[e->id] == 0) t->dec[e->id] = -(int32_t)(i + 1);  /* ranks win */
        t->spec_first[t->arena[e->off]] = 1;
        size_t k;
        for (k = 0; k < t->n_spec_lens; k++) if (t->spec_lens[k] == e->len) break;
        if (k == t->n_spec_lens) t->spec_lens[t->n_spec_lens++] = e->len;
    }
    /* lengths descending (longest match first) */
    for (size_t a = 1; a < t->n_spec_lens; a++) {
        uint32_t v = t->spec_lens[a]; size_t b = a;
        while (b > 0 && t->spec_lens[b - 1] < v) { t->spec_lens[b] = t->spec_lens[b - 1]; b--; }
        t->spec_lens[b] = v;
    }
    t->vocab_size = t->dec_n;
    t->finalized = 1;
    return 0;
fail:
    free(t->rank_tab.slots); t->rank_tab.slots = NULL;
    free(t->spec_tab.slots); t->spec_tab.slots = NULL;
    free(t->dec); t->dec = NULL; t->dec_n = 0;
    free(t->pair_rank); t->pair_rank = NULL;
    free(t->spec_lens); t->spec_lens = NULL; t->n_spec_lens = 0;
    return rc ? rc : LT_TIKTOKEN_EDUP;
}

void lt_tiktoken_free(lt_tiktoken *t)
{
    if (!t) return;
    free(t->pattern);
    if (t->re) pcre2_code_free(t->re);
    free(t->arena); free(t->ranks); free(t->specials);
    free(t->rank_tab.slots); free(t->spec_tab.slots);
    free(t->dec); free(t->pair_rank); free(t->spec_lens); free(t->sorted);
    if (t->sort_lock_ok) pthread_mutex_destroy(&t->sort_lock);
    for (size_t i = 0; i < t->n_metas; i++) { free(t->metas[i].meta); free(t->metas[i].repl); }
    free(t->metas); free(t->space_meta);
    free(t);
}

void lt_tiktoken_set_linear_max(lt_tiktoken *t, size_t n) { if (t) t->linear_max = n; }

/* ------------------------------------------------------------------ */
/* output vector                                                        */
/* ------------------------------------------------------------------ */

typedef struct { uint32_t *v; size_t n, cap; } idvec;

static int idvec_reserve(idvec *o, size_t extra)
{
    if (o->n + extra <= o->cap) return 0;
    size_t nc = o->cap ? o->cap : 64;
    while (nc < o->n + extra) nc *= 2;
    uint32_t *nv = realloc(o->v, nc * sizeof(uint32_t));
    if (!nv) return LT_TIKTOKEN_ENOMEM;
    o->v = nv; o->cap = nc;
    return 0;
}

static inline int idvec_push(idvec *o, uint32_t id)
{
    if (o->n == o->cap && idvec_reserve(o, 1)) return LT_TIKTOKEN_ENOMEM;
    o->v[o->n++] = id;
    return 0;
}

/* ------------------------------------------------------------------ */
/* byte pair merge                                                      */
/* ------------------------------------------------------------------ */

#define RANK(p, n) table_get(&t->rank_tab, t->arena, (p), (n))
#define PAIR(p) t->pair_rank[(size_t)(p)[0] << 8 | (p)[1]]

/* Linear scan merge (tiktoken's algorithm), n >= 2, n <= linear buffer. */
static int bpe_linear(const lt_tiktoken *t, const uint8_t *p, size_t n, idvec *out)
{
    uint32_t startb[LT_DEFAULT_LINEAR_MAX + 2], rankb[LT_DEFAULT_LINEAR_MAX + 2],
             tokb[LT_DEFAULT_LINEAR_MAX + 2];
    uint32_t *start = startb, *rk = rankb, *tk = tokb;
    void *heapbuf = NULL;
    if (n > LT_DEFAULT_LINEAR_MAX) {
        heapbuf = malloc((n + 2) * 3 * sizeof(uint32_t));
        if (!heapbuf) return LT_TIKTOKEN_ENOMEM;
        start = heapbuf; rk = start + n + 2; tk = rk + n + 2;
    }
    size_t m = n;  /* number of parts */
    uint32_t min_r = LT_NONE; size_t min_i = 0;
    for (size_t i = 0; i < n; i++) {
        start[i] = (uint32_t)i;
        tk[i] = t->byte_rank[p[i]];
    }
    start[n] = (uint32_t)n;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t r = PAIR(p + i);
        rk[i] = r;
        if (r < min_r) { min_r = r; min_i = i; }
    }
    rk[n - 1] = LT_NONE;
    while (min_r != LT_NONE) {
        size_t i = min_i;
        tk[i] = min_r;
        /* remove part i+1 */
        memmove(start + i + 1, start + i + 2, (m - i - 1) * sizeof(uint32_t));  /* includes sentinel */
        memmove(rk + i + 1, rk + i + 2, (m - i - 2) * sizeof(uint32_t));
        memmove(tk + i + 1, tk + i + 2, (m - i - 2) * sizeof(uint32_t));
        m--;
        rk[i] = (i + 1 < m) ? RANK(p + start[i], start[i + 2] - start[i]) : LT_NONE;
        if (i > 0) rk[i - 1] = RANK(p + start[i - 1], start[i + 1] - start[i - 1]);
        min_r = LT_NONE;
        for (size_t j = 0; j + 1 < m; j++)
            if (rk[j] < min_r) { min_r = rk[j]; min_i = j; }
    }
    int rc = idvec_reserve(out, m);
    if (!rc) {
        for (size_t j = 0; j < m; j++) {
            if (tk[j] == LT_NONE) { rc = LT_TIKTOKEN_ENOTOKEN; break; }
            out->v[out->n++] = tk[j];
        }
    }
    free(heapbuf);
    return rc;
}

/* Heap merge for long pieces: same result as bpe_linear (min rank, leftmost
 * on ties) in O(n log n). */
typedef struct { uint64_t key; uint32_t ver; } hent;   /* key = rank<<32 | pos */

static inline int hless(const hent *a, const hent *b) { return a->key < b->key; }

static void heap_push(hent *h, size_t *hn, hent e)
{
    size_t i = (*hn)++;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (!hless(&e, &h[par])) break;
        h[i] = h[par]; i = par;
    }
    h[i] = e;
}

static hent heap_pop(hent *h, size_t *hn)
{
    hent top = h[0], last = h[--(*hn)];
    size_t i = 0, n = *hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && hless(&h[c + 1], &h[c])) c++;
        if (!hless(&h[c], &last)) break;
        h[i] = h[c]; i = c;
    }
    if (n) h[i] = last;
    return top;
}

static int bpe_heap(const lt_tiktoken *t, const uint8_t *p, size_t n, idvec *out)
{
    /* nodes are identified by their start position */
    uint32_t *next = malloc(n * sizeof(uint32_t) * 5);
    hent *heap = malloc(n * 3 * sizeof(hent));  /* <= n initial + 2 per merge */
    if (!next || !heap) { free(next); free(heap); return LT_TIKTOKEN_ENOMEM; }
    uint32_t *prev = next + n, *tk = prev + n, *ver = tk + n, *rk = ver + n;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        next[i] = (uint32_t)(i + 1);
        prev[i] = (uint32_t)i - 1;  /* wraps to UINT32_MAX for i = 0 */
        tk[i] = t->byte_rank[p[i]];
        ver[i] = 0;
        rk[i] = (i + 1 < n) ? PAIR(p + i) : LT_NONE;
        if (rk[i] != LT_NONE) { hent e = { ((uint64_t)rk[i] << 32) | i, 0 }; heap_push(heap, &hn, e); }
    }
    while (hn) {
        hent e = heap_pop(heap, &hn);
        uint32_t i = (uint32_t)(e.key & 0xffffffffu), r = (uint32_t)(e.key >> 32);
        if (ver[i] != e.ver || rk[i] != r) continue;      /* stale */
        uint32_t j = next[i];                             /* merged away */
        tk[i] = r;
        ver[j] = UINT32_MAX; rk[j] = LT_NONE;             /* dead */
        next[i] = next[j];
        if (next[i] < n) prev[next[i]] = i;
        /* new pair i + next[i] */
        ver[i]++;
        if (next[i] < n) {
            rk[i] = RANK(p + i, next[next[i]] - i);
            if (rk[i] != LT_NONE) { hent x = { ((uint64_t)rk[i] << 32) | i, ver[i] }; heap_push(heap, &hn, x); }
        } else rk[i] = LT_NONE;
        if (i > 0) {
            uint32_t h = prev[i];
            ver[h]++;
            rk[h] = RANK(p + h, next[i] - h);
            if (rk[h] != LT_NONE) { hent x = { ((uint64_t)rk[h] << 32) | h, ver[h] }; heap_push(heap, &hn, x); }
        }
    }
    int rc = 0;
    for (uint32_t i = 0; i < n; i = next[i]) {
        if (tk[i] == LT_NONE) { rc = LT_TIKTOKEN_ENOTOKEN; break; }
        if ((rc = idvec_push(out, tk[i]))) break;
    }
    free(next); free(heap);
    return rc;
}

static int encode_piece(const lt_tiktoken *t, const uint8_t *p, size_t n, idvec *out)
{
    if (n == 0) return 0;
    if (n >= UINT32_MAX - 2) return LT_TIKTOKEN_EINVAL;   /* positions are 32-bit */
    uint32_t r = (n == 1) ? t->byte_rank[p[0]] : (n == 2) ? PAIR(p) : RANK(p, n);
    if (r != LT_NONE) return idvec_push(out, r);
    if (n == 1) return LT_TIKTOKEN_ENOTOKEN;
    if (n > t->linear_max || n > LT_DEFAULT_LINEAR_MAX * 64) return bpe_heap(t, p, n, out);
    return bpe_linear(t, p, n, out);
}

/* ------------------------------------------------------------------ */
/* regex pre-tokenization                                               */
/* ------------------------------------------------------------------ */

typedef struct {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
} match_ctx;

static void match_ctx_free(match_ctx *m)
{
    if (m->md) pcre2_match_data_free(m->md);
    if (m->mctx) pcre2_match_context_free(m->mctx);
    if (m->jstack) pcre2_jit_stack_free(m->jstack);
}

static int do_match(const lt_tiktoken *t, match_ctx *m, const uint8_t *s, size_t len, size_t from)
{
    int rc;
    if (t->jit) {
        rc = pcre2_jit_match(t->re, s, len, from, 0, m->md, m->mctx);
        if (rc != PCRE2_ERROR_JIT_STACKLIMIT) return rc;
        if (!m->jstack) {
            m->jstack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, NULL);
            if (!m->mctx) m->mctx = pcre2_match_context_create(NULL);
            if (m->jstack && m->mctx) {
                pcre2_jit_stack_assign(m->mctx, NULL, m->jstack);
                rc = pcre2_jit_match(t->re, s, len, from, 0, m->md, m->mctx);
                if (rc != PCRE2_ERROR_JIT_STACKLIMIT) return rc;
            }
        }
    }
    return pcre2_match(t->re, s, len, from, PCRE2_NO_JIT, m->md, NULL);
}

static inline size_t utf8_step(const uint8_t *s, size_t len, size_t i)
{
    uint8_t c = s[i];
    size_t l = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (i + l > len) l = 1;
    for (size_t k = 1; k < l; k++) if ((s[i + k] & 0xC0) != 0x80) return 1;
    return l;
}

/* Split s[0..len) into pieces and BPE-encode them. */
static int encode_ordinary_seg(const lt_tiktoken *t, match_ctx *m, const uint8_t *s, size_t len,
                               idvec *out)
{
    size_t last_end = 0, from = 0;
    int rc;
    while (from < len) {
        int mr = do_match(t, m, s, len, from);
        if (mr == PCRE2_ERROR_NOMATCH) break;
        if (mr < 0) return LT_TIKTOKEN_EREGEX;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
        size_t ms = ov[0], me = ov[1];
        if (ms > len || me > len || me < ms) return LT_TIKTOKEN_EREGEX;
        if (me == ms) { from = ms + utf8_step(s, len, ms); continue; }
        if (ms > last_end && (rc = encode_piece(t, s + last_end, ms - last_end, out))) return rc;
        if ((rc = encode_piece(t, s + ms, me - ms, out))) return rc;
        last_end = from = me;
    }
    if (last_end < len && (rc = encode_piece(t, s + last_end, len - last_end, out))) return rc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* encode                                                               */
/* ------------------------------------------------------------------ */

typedef struct { const uint32_t *ids; size_t n; int all; } allow_set;

static int find_special(const lt_tiktoken *t, const uint8_t *s, size_t len, size_t from,
                        const allow_set *al, size_t *pos, size_t *slen, uint32_t *sid)
{
    for (size_t i = from; i < len; i++) {
        if (!t->spec_first[s[i]]) continue;
        for (size_t k = 0; k < t->n_spec_lens; k++) {
            size_t L = t->spec_lens[k];
            if (L > len - i) continue;
            uint32_t id = table_get(&t->spec_tab, t->arena, s + i, L);
            if (id == LT_NONE) continue;
            int ok = al->all;
            for (size_t a = 0; !ok && a < al->n; a++) ok = al->ids[a] == id;
            if (!ok) continue;
            *pos = i; *slen = L; *sid = id;
            return 1;
        }
    }
    return 0;
}

static int encode_impl(const lt_tiktoken *t, const uint8_t *s, size_t len, const allow_set *al,
                       idvec *out)
{
    match_ctx m = { 0 };
    m.md = pcre2_match_data_create(1, NULL);
    if (!m.md) return LT_TIKTOKEN_ENOMEM;
    int rc = idvec_reserve(out, len / 4 + 8);
    if (rc) { match_ctx_free(&m); return rc; }
    int use_spec = (al->all || al->n) && t->n_specials;
    size_t start = 0;
    for (;;) {
        size_t sp = len, sl = 0; uint32_t sid = 0;
        int found = use_spec && find_special(t, s, len, start, al, &sp, &sl, &sid);
        if ((rc = encode_ordinary_seg(t, &m, s + start, (found ? sp : len) - start, out))) break;
        if (!found) break;
        if ((rc = idvec_push(out, sid))) break;
        start = sp + sl;
    }
    match_ctx_free(&m);
    return rc;
}

int lt_tiktoken_encode(const lt_tiktoken *t, const char *text, size_t len, int allow_all_special,
                       const char *const *allowed_special, size_t n_allowed,
                       uint32_t **out_ids, size_t *out_n)
{
    if (out_ids) *out_ids = NULL;
    if (out_n) *out_n = 0;
    if (!t || !out_ids || !out_n || (!text && len) || (n_allowed && !allowed_special))
        return LT_TIKTOKEN_EINVAL;
    if (!t->finalized) return LT_TIKTOKEN_ESTATE;
    uint32_t abuf[16], *aids = abuf;
    size_t na = 0;
    if (!allow_all_special && n_allowed) {
        if (n_allowed > 16 && !(aids = malloc(n_allowed * sizeof(uint32_t)))) return LT_TIKTOKEN_ENOMEM;
        for (size_t i = 0; i < n_allowed; i++) {
            if (!allowed_special[i]) continue;
            uint32_t id = table_get(&t->spec_tab, t->arena, (const uint8_t *)allowed_special[i],
                                    strlen(allowed_special[i]));
            if (id != LT_NONE) aids[na++] = id;
        }
    }
    allow_set al = { aids, na, allow_all_special != 0 };
    idvec out = { 0 };
    int rc = encode_impl(t, (const uint8_t *)(text ? text : ""), len, &al, &out);
    if (aids != abuf) free(aids);
    if (rc) { free(out.v); return rc; }
    if (!out.v && !(out.v = malloc(sizeof(uint32_t)))) return LT_TIKTOKEN_ENOMEM;
    *out_ids = out.v; *out_n = out.n;
    return 0;
}

int lt_tiktoken_encode_ordinary(const lt_tiktoken *t, const char *text, uint32_t **out_ids,
                                size_t *out_n)
{
    if (!text) { if (out_ids) *out_ids = NULL; if (out_n) *out_n = 0; return LT_TIKTOKEN_EINVAL; }
    return lt_tiktoken_encode(t, text, strlen(text), 0, NULL, 0, out_ids, out_n);
}

int lt_tiktoken_encode_single_token(const lt_tiktoken *t, const uint8_t *bytes, size_t len,
                                    uint32_t *id)
{
    if (!t || (!bytes && len) || !id) return LT_TIKTOKEN_EINVAL;
    if (!t->finalized) return LT_TIKTOKEN_ESTATE;
    if (len == 0) return LT_TIKTOKEN_ENOTFOUND;
    uint32_t r = table_get(&t->rank_tab, t->arena, bytes, len);
    if (r == LT_NONE) r = table_get(&t->spec_tab, t->arena, bytes, len);
    if (r == LT_NONE) return LT_TIKTOKEN_ENOTFOUND;
    *id = r;
    return 0;
}

int64_t lt_tiktoken_special_id(const lt_tiktoken *t, const char *text, size_t len)
{
    if (!t || !text || !t->finalized || len == 0) return -1;
    uint32_t r = table_get(&t->spec_tab, t->arena, (const uint8_t *)text, len);
    return r == LT_NONE ? -1 : (int64_t)r;
}

/* ------------------------------------------------------------------ */
/* batch                                                                */
/* ------------------------------------------------------------------ */

typedef struct {
    const lt_tiktoken *t;
    const char *const *texts; const size_t *lens; size_t n;
    int all;
    uint32_t **ids; size_t *ns;
    size_t next; int err;
    pthread_mutex_t lock;
} batch_job;

static void *batch_worker(void *arg)
{
    batch_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        int stop = j->err != 0;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->n || stop) break;
        const char *tx = j->texts[i] ? j->texts[i] : "";
        size_t l = j->lens ? j->lens[i] : strlen(tx);
        if (!j->texts[i] && j->lens && j->lens[i]) l = 0;
        int rc = lt_tiktoken_encode(j->t, tx, l, j->all, NULL, 0, &j->ids[i], &j->ns[i]);
        if (rc) {
            pthread_mutex_lock(&j->lock);
            if (!j->err) j->err = rc;
            pthread_mutex_unlock(&j->lock);
        }
    }
    return NULL;
}

void lt_tiktoken_free_batch(uint32_t **ids, size_t *ns, size_t n)
{
    if (ids) for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids); free(ns);
}

int lt_tiktoken_encode_batch(const lt_tiktoken *t, const char *const *texts, const size_t *lens,
                             size_t n, int allow_all_special, int n_threads,
                             uint32_t ***out_ids, size_t **out_ns)
{
    if (out_ids) *out_ids = NULL;
    if (out_ns) *out_ns = NULL;
    if (!t || !out_ids || !out_ns || (n && !texts)) return LT_TIKTOKEN_EINVAL;
    if (!t->finalized) return LT_TIKTOKEN_ESTATE;
    batch_job j = { 0 };
    j.t = t; j.texts = texts; j.lens = lens; j.n = n; j.all = allow_all_special;
    j.ids = calloc(n ? n : 1, sizeof(uint32_t *));
    j.ns = calloc(n ? n : 1, sizeof(size_t));
    if (!j.ids || !j.ns) { free(j.ids); free(j.ns); return LT_TIKTOKEN_ENOMEM; }
    if (n_threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = c > 0 ? (int)c : 1;
    }
    if ((size_t)n_threads > n) n_threads = (int)(n ? n : 1);
    if (n_threads > 256) n_threads = 256;
    pthread_mutex_init(&j.lock, NULL);
    pthread_t th[256];
    int started = 0;
    for (int k = 1; k < n_threads; k++) {
        if (pthread_create(&th[started], NULL, batch_worker, &j) != 0) break;
        started++;
    }
    batch_worker(&j);              /* the calling thread works too */
    for (int k = 0; k < started; k++) pthread_join(th[k], NULL);
    pthread_mutex_destroy(&j.lock);
    if (j.err) { lt_tiktoken_free_batch(j.ids, j.ns, n); return j.err; }
    *out_ids = j.ids; *out_ns = j.ns;
    return 0;
}

/* ------------------------------------------------------------------ */
/* decode                                                               */
/* ------------------------------------------------------------------ */

static inline const lt_entry *dec_entry(const lt_tiktoken *t, uint32_t id)
{
    if (id >= t->dec_n) return NULL;
    int32_t d = t->dec[id];
    if (d > 0) return &t->ranks[d - 1];
    if (d < 0) return &t->specials[-d - 1];
    return NULL;
}

int lt_tiktoken_decode_single(const lt_tiktoken *t, uint32_t id, const uint8_t **bytes, size_t *len)
{
    if (!t || !bytes || !len) return LT_TIKTOKEN_EINVAL;
    if (!t->finalized) return LT_TIKTOKEN_ESTATE;
    const lt_entry *e = dec_entry(t, id);
    if (!e) return LT_TIKTOKEN_EUNKNOWN_ID;
    *bytes = t->arena + e->off; *len = e->len;
    return 0;
}

int lt_tiktoken_decode_bytes(const lt_tiktoken *t, const uint32_t *ids, size_t n, uint8_t **out,
                             size_t *out_len, char *err, size_t errlen)
{
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!t || !out || !out_len || (n && !ids)) {
        set_err(err, errlen, "tiktoken decode: invalid argument");
        return LT_TIKTOKEN_EINVAL;
    }
    if (!t->finalized) { set_err(err, errlen, "tiktoken decode: tokenizer not finalized"); return LT_TIKTOKEN_ESTATE; }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const lt_entry *e = dec_entry(t, ids[i]);
        if (!e) {
            set_err(err, errlen, "tiktoken decode: unknown token id %u at position %zu (vocab size %zu)",
                    ids[i], i, t->vocab_size);
            return LT_TIKTOKEN_EUNKNOWN_ID;
        }
        total += e->len;
    }
    uint8_t *b = malloc(total + 1);
    if (!b) { set_err(err, errlen, "tiktoken decode: out of memory"); return LT_TIKTOKEN_ENOMEM; }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const lt_entry *e = dec_entry(t, ids[i]);
        memcpy(b + o, t->arena + e->off, e->len);
        o += e->len;
    }
    b[o] = 0;
    *out = b; *out_len = o;
    return 0;
}

/* Python's bytes.decode('utf-8', 'replace'): maximal subpart replacement. */
int lt_tiktoken_utf8_replace(const uint8_t *in, size_t len, char **out, size_t *out_len)
{
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out || !out_len || (!in && len)) return LT_TIKTOKEN_EINVAL;
    uint8_t *b = malloc(len * 3 + 1);   /* each invalid byte -> 3 bytes at most */
    if (!b) return LT_TIKTOKEN_ENOMEM;
    size_t i = 0, o = 0;
    while (i < len) {
        uint8_t c = in[i];
        if (c < 0x80) { b[o++] = c; i++; continue; }
        size_t need; uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else { b[o++] = 0xEF; b[o++] = 0xBF; b[o++] = 0xBD; i++; continue; }
        size_t k = 1;
        while (k <= need && i + k < len) {
            uint8_t d = in[i + k];
            uint8_t l2 = (k == 1) ? lo : 0x80, h2 = (k == 1) ? hi : 0xBF;
            if (d < l2 || d > h2) break;
            k++;
        }
        if (k == need + 1) { memcpy(b + o, in + i, k); o += k; i += k; }
        else { b[o++] = 0xEF; b[o++] = 0xBF; b[o++] = 0xBD; i += k; }
    }
    b[o] = 0;
    *out = (char *)b; *out_len = o;
    return 0;
}

static int apply_metas(const lt_tiktoken *t, char *in, size_t len, char **out, size_t *out_len)
{
    if (t->n_metas == 0) { *out = in; *out_len = len; return 0; }
    size_t cap = len + 16, o = 0;
    char *b = malloc(cap);
    if (!b) { free(in); return LT_TIKTOKEN_ENOMEM; }
    size_t i = 0;
    while (i < len) {
        const lt_meta *best = NULL;
        for (size_t k = 0; k < t->n_metas; k++) {
            const lt_meta *mt = &t->metas[k];
            if (mt->mlen <= len - i && (!best || mt->mlen > best->mlen) &&
                memcmp(in + i, mt->meta, mt->mlen) == 0)
                best = mt;
        }
        const char *src = best ? best->repl : in + i;
        size_t sl = best ? best->rlen : 1;
        if (o + sl + 1 > cap) {
            while (o + sl + 1 > cap) cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb) { free(b); free(in); return LT_TIKTOKEN_ENOMEM; }
            b = nb;
        }
        memcpy(b + o, src, sl); o += sl;
        i += best ? best->mlen : 1;
    }
    b[o] = 0;
    free(in);
    *out = b; *out_len = o;
    return 0;
}

int lt_tiktoken_decode_text(const lt_tiktoken *t, const uint32_t *ids, size_t n, char **out,
                            size_t *out_len, char *err, size_t errlen)
{
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out || !out_len) { set_err(err, errlen, "tiktoken decode: invalid argument"); return LT_TIKTOKEN_EINVAL; }
    uint8_t *raw; size_t rl;
    int rc = lt_tiktoken_decode_bytes(t, ids, n, &raw, &rl, err, errlen);
    if (rc) return rc;
    char *txt; size_t tl;
    rc = lt_tiktoken_utf8_replace(raw, rl, &txt, &tl);
    free(raw);
    if (!rc) rc = apply_metas(t, txt, tl, out, out_len);
    if (rc) set_err(err, errlen, "tiktoken decode: out of memory");
    return rc;
}

/* ------------------------------------------------------------------ */
/* vocabulary accessors                                                 */
/* ------------------------------------------------------------------ */

size_t lt_tiktoken_vocab_size(const lt_tiktoken *t) { return t && t->finalized ? t->vocab_size : 0; }
size_t lt_tiktoken_n_ranks(const lt_tiktoken *t) { return t ? t->n_ranks : 0; }
size_t lt_tiktoken_n_special(const lt_tiktoken *t) { return t ? t->n_specials : 0; }
const char *lt_tiktoken_pattern(const lt_tiktoken *t) { return t ? t->pattern : NULL; }

static const uint8_t *g_sort_arena;   /* qsort has no context argument in C11 */
static const lt_entry *g_sort_ranks;
static pthread_mutex_t g_sort_mutex = PTHREAD_MUTEX_INITIALIZER;

static int cmp_tokbytes(const void *a, const void *b)
{
    const lt_entry *x = &g_sort_ranks[*(const uint32_t *)a], *y = &g_sort_ranks[*(const uint32_t *)b];
    size_t l = x->len < y->len ? x->len : y->len;
    int c = memcmp(g_sort_arena + x->off, g_sort_arena + y->off, l);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

int lt_tiktoken_token_byte_value(const lt_tiktoken *tc, size_t i, const uint8_t **bytes, size_t *len,
                                 uint32_t *id)
{
    if (!tc || !bytes || !len) return LT_TIKTOKEN_EINVAL;
    if (!tc->finalized) return LT_TIKTOKEN_ESTATE;
    if (i >= tc->n_ranks) return LT_TIKTOKEN_ENOTFOUND;
    lt_tiktoken *t = (lt_tiktoken *)tc;   /* lazily built cache, guarded by sort_lock */
    if (!t->sort_lock_ok) return LT_TIKTOKEN_ENOMEM;
    pthread_mutex_lock(&t->sort_lock);
    if (!t->sorted) {
        uint32_t *s = malloc(t->n_ranks * sizeof(uint32_t));
        if (s) {
            for (size_t k = 0; k < t->n_ranks; k++) s[k] = (uint32_t)k;
            pthread_mutex_lock(&g_sort_mutex);
            g_sort_arena = t->arena; g_sort_ranks = t->ranks;
            qsort(s, t->n_ranks, sizeof(uint32_t), cmp_tokbytes);
            pthread_mutex_unlock(&g_sort_mutex);
            t->sorted = s;
        }
    }
    pthread_mutex_unlock(&t->sort_lock);
    if (!t->sorted) return LT_TIKTOKEN_ENOMEM;
    const lt_entry *e = &t->ranks[t->sorted[i]];
    *bytes = t->arena + e->off; *len = e->len;
    if (id) *id = e->id;
    return 0;
}

int lt_tiktoken_special_at(const lt_tiktoken *t, size_t i, const char **text, size_t *len, uint32_t *id)
{
    if (!t || !text || !len) return LT_TIKTOKEN_EINVAL;
    if (i >= t->n_specials) return LT_TIKTOKEN_ENOTFOUND;
    const lt_entry *e = &t->specials[i];
    *text = (const char *)t->arena + e->off; *len = e->len;
    if (id) *id = e->id;
    return 0;
}

/* ------------------------------------------------------------------ */
/* meta characters                                                      */
/* ------------------------------------------------------------------ */

static size_t meta_find(const lt_tiktoken *t, const char *meta)
{
    for (size_t i = 0; i < t->n_metas; i++) if (strcmp(t->metas[i].meta, meta) == 0) return i;
    return (size_t)-1;
}

int lt_tiktoken_add_meta(lt_tiktoken *t, const char *meta, const char *repl)
{
    if (!t || !meta || !*meta || !repl) return LT_TIKTOKEN_EINVAL;
    char *r = strdup(repl);
    if (!r) return LT_TIKTOKEN_ENOMEM;
    size_t k = meta_find(t, meta);
    if (k != (size_t)-1) {
        free(t->metas[k].repl);
        t->metas[k].repl = r; t->metas[k].rlen = strlen(r);
        return 0;
    }
    char *m = strdup(meta);
    if (!m) { free(r); return LT_TIKTOKEN_ENOMEM; }
    if (t->n_metas == t->cap_metas) {
        size_t nc = t->cap_metas ? t->cap_metas * 2 : 8;
        lt_meta *nm = realloc(t->metas, nc * sizeof(*nm));
        if (!nm) { free(r); free(m); return LT_TIKTOKEN_ENOMEM; }
        t->metas = nm; t->cap_metas = nc;
    }
    lt_meta e = { m, r, strlen(m), strlen(r) };
    t->metas[t->n_metas++] = e;
    return 0;
}

int lt_tiktoken_remove_meta(lt_tiktoken *t, const char *meta)
{
    if (!t || !meta) return LT_TIKTOKEN_EINVAL;
    size_t k = meta_find(t, meta);
    if (k == (size_t)-1) return LT_TIKTOKEN_ENOTFOUND;
    free(t->metas[k].meta); free(t->metas[k].repl);
    memmove(t->metas + k, t->metas + k + 1, (t->n_metas - k - 1) * sizeof(lt_meta));
    t->n_metas--;
    if (t->space_meta && strcmp(t->space_meta, meta) == 0) { free(t->space_meta); t->space_meta = NULL; }
    return 0;
}

void lt_tiktoken_clear_meta(lt_tiktoken *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_metas; i++) { free(t->metas[i].meta); free(t->metas[i].repl); }
    t->n_metas = 0;
    free(t->space_meta); t->space_meta = NULL;
}

int lt_tiktoken_set_space(lt_tiktoken *t, const char *space_meta)
{
    if (!t) return LT_TIKTOKEN_EINVAL;
    if (t->space_meta) {
        char *old = t->space_meta;
        t->space_meta = NULL;
        lt_tiktoken_remove_meta(t, old);
        free(old);
    }
    if (!space_meta || !*space_meta) return 0;
    int rc = lt_tiktoken_add_meta(t, space_meta, " ");
    if (rc) return rc;
    t->space_meta = strdup(space_meta);
    return t->space_meta ? 0 : LT_TIKTOKEN_ENOMEM;
}

size_t lt_tiktoken_list_meta(const lt_tiktoken *t, const char **metas, const char **repls, size_t max)
{
    if (!t) return 0;
    for (size_t i = 0; i < t->n_metas && i < max; i++) {
        if (metas) metas[i] = t->metas[i].meta;
        if (repls) repls[i] = t->metas[i].repl;
    }
    return t->n_metas;
}
