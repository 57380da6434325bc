/*
 * test_tiktoken.c -- tests for the tiktoken-compatible BPE tokenizer.
 *
 * Usage: test_tiktoken [SHARED_DATA_DIR]
 *   The shared data directory is taken from argv[1], else the environment
 *   variable LT_SHARED_DATA, else "../shared/data".  Parts whose data is
 *   absent print "skipped: <reason>".  Always-run parts build a small
 *   vocabulary themselves.  Exit status is nonzero when any check failed.
 *
 * Build (development):
 *   gcc -std=c11 -O2 -Wall -Wextra -Iinclude src/tokenizers/tiktoken*.c \
 *       tests/c/test_tiktoken.c $(pkg-config --cflags --libs libpcre2-8 json-c) -lpthread
 */
#define _POSIX_C_SOURCE 200809L

#include "lt_tiktoken.h"

#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int g_pass, g_fail, g_skip;
static const char *g_data;
static char g_tmpdir[512];

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) g_pass++;                                                  \
        else {                                                               \
            g_fail++;                                                        \
            printf("  FAIL %s:%d: ", __FILE__, __LINE__);                    \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        }                                                                    \
    } while (0)

static void skipped(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  skipped: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    g_skip++;
}

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0) { fclose(f); return NULL; }
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    if (b) { b[n] = 0; if (len) *len = (size_t)n; }
    return b;
}

static char *dpath(const char *rel)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_data, rel);
    return buf[k];
}

static int exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

static const char *write_tmp(const char *name, const char *content, size_t len)
{
    static char p[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", g_tmpdir, name);
    FILE *f = fopen(p[k], "wb");
    if (!f) return p[k];
    fwrite(content, 1, len, f);
    fclose(f);
    return p[k];
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return g_rng;
}

static int ids_eq(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(uint32_t)) == 0);
}

static void print_ids(const char *label, const uint32_t *v, size_t n)
{
    printf("    %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 40; i++) printf(" %u", v[i]);
    if (n > 40) printf(" ...");
    printf("\n");
}

/* first index where two id arrays differ */
static size_t first_diff(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

static int roundtrip(const lt_tiktoken *t, const uint32_t *ids, size_t n, const char *text, size_t len)
{
    uint8_t *out; size_t ol; char err[256];
    if (lt_tiktoken_decode_bytes(t, ids, n, &out, &ol, err, sizeof err)) return 0;
    int ok = ol == len && memcmp(out, text, len) == 0;
    free(out);
    return ok;
}

/* ------------------------------------------------------------------ */
/* SHA-256 (to check golden corpus hashes without ids files)            */
/* ------------------------------------------------------------------ */

typedef struct { uint32_t h[8]; uint64_t n; uint8_t buf[64]; size_t bl; } sha256;
static const uint32_t K256[64] = {
    0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
    0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
    0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
    0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
    0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
    0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
    0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
    0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2 };
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha_block(sha256 *s, const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, h;
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4*i] << 24 | (uint32_t)p[4*i+1] << 16 | (uint32_t)p[4*i+2] << 8 | p[4*i+3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i-15], 7) ^ ROR(w[i-15], 18) ^ (w[i-15] >> 3);
        uint32_t s1 = ROR(w[i-2], 17) ^ ROR(w[i-2], 19) ^ (w[i-2] >> 10);
        w[i] = w[i-16] + s0 + w[i-7] + s1;
    }
    a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}
static void sha_hex(const uint8_t *data, size_t len, char out[65])
{
    sha256 s = { { 0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19 }, 0, {0}, 0 };
    size_t i = 0;
    for (; i + 64 <= len; i += 64) sha_block(&s, data + i);
    uint8_t tail[128] = { 0 };
    size_t r = len - i;
    memcpy(tail, data + i, r);
    tail[r] = 0x80;
    size_t tl = r + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++) tail[tl - 1 - k] = (uint8_t)(bits >> (8 * k));
    sha_block(&s, tail);
    if (tl == 128) sha_block(&s, tail + 64);
    for (int k = 0; k < 8; k++) sprintf(out + 8 * k, "%08x", s.h[k]);
}

static void ids_to_le(const uint32_t *ids, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        out[4*i] = (uint8_t)ids[i]; out[4*i+1] = (uint8_t)(ids[i] >> 8);
        out[4*i+2] = (uint8_t)(ids[i] >> 16); out[4*i+3] = (uint8_t)(ids[i] >> 24);
    }
}

/* ------------------------------------------------------------------ */
/* small self-built vocabulary                                          */
/* ------------------------------------------------------------------ */

typedef struct { const char *s; uint32_t r; } mrank;
static const mrank small_merges[] = {
    { "ab", 256 }, { "bc", 257 }, { "abc", 258 }, { "cc", 259 }, { " a", 260 }, { "aa", 261 },
    { "aaaa", 262 }, { "ca", 263 }, { " ab", 264 }, { "bb", 265 }, { "dd", 266 }, { "abcab", 267 },
    { "ba", 268 }, { "bab", 269 }, { "  ", 270 }, { "cab", 271 }, { "\xe2\x96\x81", 272 },
    { "aaa", 273 }, { "ddd", 274 }, { "\xc3\xa9", 275 },
};
#define N_SMALL_MERGES (sizeof(small_merges) / sizeof(small_merges[0]))
#define SMALL_PATTERN "[a-z]+|[^a-z]+"

static lt_tiktoken *small_vocab(int with_specials)
{
    char err[256];
    lt_tiktoken *t = lt_tiktoken_new(SMALL_PATTERN, err, sizeof err);
    if (!t) { printf("  cannot create small vocab: %s\n", err); return NULL; }
    for (int b = 0; b < 256; b++) { uint8_t c = (uint8_t)b; lt_tiktoken_add_rank(t, &c, 1, (uint32_t)b); }
    for (size_t i = 0; i < N_SMALL_MERGES; i++)
        lt_tiktoken_add_rank(t, (const uint8_t *)small_merges[i].s, strlen(small_merges[i].s), small_merges[i].r);
    if (with_specials) {
        lt_tiktoken_add_special(t, "<|x|>", 5, 1000);
        lt_tiktoken_add_special(t, "<|x|>y", 6, 1001);
        lt_tiktoken_add_special(t, "<|end|>", 7, 1002);
    }
    if (lt_tiktoken_finalize(t, err, sizeof err)) { printf("  finalize: %s\n", err); lt_tiktoken_free(t); return NULL; }
    return t;
}

static uint32_t ref_rank(const uint8_t *p, size_t n)
{
    if (n == 1) return p[0];
    for (size_t i = 0; i < N_SMALL_MERGES; i++)
        if (strlen(small_merges[i].s) == n && memcmp(small_merges[i].s, p, n) == 0) return small_merges[i].r;
    return UINT32_MAX;
}

/* Obviously-correct reference: tiktoken's byte_pair_encode, naively. */
static size_t ref_bpe(const uint8_t *p, size_t n, uint32_t *out)
{
    size_t st[1024], m = n;
    for (size_t i = 0; i <= n; i++) st[i] = i;
    for (;;) {
        uint32_t best = UINT32_MAX; size_t bi = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            uint32_t r = ref_rank(p + st[i], st[i + 2] - st[i]);
            if (r < best) { best = r; bi = i; }
        }
        if (best == UINT32_MAX) break;
        memmove(st + bi + 1, st + bi + 2, (m - bi - 1) * sizeof(size_t));
        m--;
    }
    for (size_t i = 0; i < m; i++) out[i] = ref_rank(p + st[i], st[i + 1] - st[i]);
    return m;
}

/* reference for SMALL_PATTERN: runs of [a-z] / runs of anything else */
static size_t ref_encode(const uint8_t *s, size_t n, uint32_t *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        int az = s[i] >= 'a' && s[i] <= 'z';
        size_t j = i;
        while (j < n && ((s[j] >= 'a' && s[j] <= 'z') == az)) j++;
        uint32_t whole = ref_rank(s + i, j - i);
        if (whole != UINT32_MAX) out[o++] = whole;
        else o += ref_bpe(s + i, j - i, out + o);
        i = j;
    }
    return o;
}

static void test_small(void)
{
    printf("[small vocabulary]\n");
    lt_tiktoken *t = small_vocab(1);
    CHECK(t != NULL, "small vocab builds");
    if (!t) return;
    CHECK(lt_tiktoken_vocab_size(t) == 1003, "vocab_size %zu", lt_tiktoken_vocab_size(t));
    CHECK(lt_tiktoken_n_ranks(t) == 256 + N_SMALL_MERGES, "n_ranks");
    CHECK(lt_tiktoken_n_special(t) == 3, "n_special");

    /* hand-checked cases */
    struct { const char *in; uint32_t ids[8]; size_t n; } cases[] = {
        { "abc", { 258 }, 1 },
        { "abcab", { 267 }, 1 },
        { "abcabc", { 267, 'c' }, 2 },           /* ab, bc? -> ab(256) first, then ab c ab c -> abc(258)... */
        { "aaaaa", { 262, 'a' }, 2 },            /* leftmost tie: aa aa a -> aaaa a */
        { "", { 0 }, 0 },
        { " a", { ' ', 'a' }, 2 },
        { "dddd", { 266, 266 }, 2 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t *ids; size_t n;
        uint32_t ref[64];
        size_t rn = ref_encode((const uint8_t *)cases[c].in, strlen(cases[c].in), ref);
        int rc = lt_tiktoken_encode(t, cases[c].in, strlen(cases[c].in), 0, NULL, 0, &ids, &n);
        CHECK(rc == 0 && ids_eq(ids, n, ref, rn), "small encode \"%s\" matches reference", cases[c].in);
        if (c != 2) CHECK(rc == 0 && ids_eq(ids, n, cases[c].ids, cases[c].n), "small encode \"%s\" expected ids", cases[c].in);
        if (rc == 0) free(ids);
    }

    /* random strings vs the reference, linear and heap merge paths */
    /* valid UTF-8 units (invalid bytes are covered by the fuzz round trips) */
    static const char *units[] = { "a", "b", "c", "d", " ", "  ", "aab", "\xe2\x96\x81", "\xc3\xa9", "\xc3\xbf", "ca" };
    int ok_lin = 1, ok_heap = 1, ok_rt = 1;
    for (int it = 0; it < 3000; it++) {
        size_t n = (size_t)(rnd() % (it % 50 == 0 ? 900 : 40));
        char s[1024];
        size_t target = n;
        n = 0;
        while (n < target) {
            const char *u = units[rnd() % (sizeof units / sizeof units[0])];
            size_t ul = strlen(u);
            if (n + ul > sizeof s) break;
            memcpy(s + n, u, ul); n += ul;
        }
        uint32_t ref[1024];
        size_t rn = ref_encode((const uint8_t *)s, n, ref);
        uint32_t *ids; size_t m;
        lt_tiktoken_set_linear_max(t, 128);
        if (lt_tiktoken_encode(t, s, n, 0, NULL, 0, &ids, &m) == 0) {
            if (!ids_eq(ids, m, ref, rn)) ok_lin = 0;
            if (!roundtrip(t, ids, m, s, n)) ok_rt = 0;
            free(ids);
        } else ok_lin = 0;
        lt_tiktoken_set_linear_max(t, 0);
        if (lt_tiktoken_encode(t, s, n, 0, NULL, 0, &ids, &m) == 0) {
            if (!ids_eq(ids, m, ref, rn)) ok_heap = 0;
            free(ids);
        } else ok_heap = 0;
        if (!ok_lin || !ok_heap) {
            printf("    mismatch on length %zu: \"", n);
            for (size_t i = 0; i < n; i++) printf((unsigned char)s[i] >= 0x80 ? "\\x%02x" : "%c", (unsigned char)s[i]);
            printf("\"\n");
            print_ids("ref", ref, rn);
            if (lt_tiktoken_encode(t, s, n, 0, NULL, 0, &ids, &m) == 0) { print_ids("got", ids, m); free(ids); }
            break;
        }
    }
    lt_tiktoken_set_linear_max(t, 128);
    CHECK(ok_lin, "3000 random strings: linear merge == reference");
    CHECK(ok_heap, "3000 random strings: heap merge == reference");
    CHECK(ok_rt, "3000 random strings: decode(encode(x)) == x");

    /* special tokens */
    const char *txt = "ab<|x|>yc<|end|>a<|x|>";
    uint32_t *ids; size_t n;
    int rc = lt_tiktoken_encode(t, txt, strlen(txt), 1, NULL, 0, &ids, &n);
    uint32_t exp_all[] = { 256, 1001, 'c', 1002, 'a', 1000 };
    CHECK(rc == 0 && ids_eq(ids, n, exp_all, 6), "allow all specials (longest special wins)");
    if (!rc) { CHECK(roundtrip(t, ids, n, txt, strlen(txt)), "special round trip"); free(ids); }
    const char *allowed[] = { "<|x|>", "not-a-special" };
    rc = lt_tiktoken_encode(t, txt, strlen(txt), 0, allowed, 2, &ids, &n);
    int has1000 = 0, has1002 = 0, has1001 = 0;
    for (size_t i = 0; !rc && i < n; i++) { has1000 |= ids[i] == 1000; has1001 |= ids[i] == 1001; has1002 |= ids[i] == 1002; }
    CHECK(rc == 0 && has1000 && !has1001 && !has1002, "allowed subset: only <|x|> split out");
    if (!rc) { CHECK(roundtrip(t, ids, n, txt, strlen(txt)), "subset round trip"); free(ids); }
    rc = lt_tiktoken_encode(t, txt, strlen(txt), 0, NULL, 0, &ids, &n);
    int anysp = 0;
    for (size_t i = 0; !rc && i < n; i++) anysp |= ids[i] >= 1000;
    CHECK(rc == 0 && !anysp, "ordinary: special text is plain text");
    if (!rc) { CHECK(roundtrip(t, ids, n, txt, strlen(txt)), "ordinary round trip"); free(ids); }
    CHECK(lt_tiktoken_special_id(t, "<|end|>", 7) == 1002, "special_id");
    CHECK(lt_tiktoken_special_id(t, "<|nope|>", 8) == -1, "special_id unknown = -1");
    uint32_t sid;
    CHECK(lt_tiktoken_encode_single_token(t, (const uint8_t *)"abc", 3, &sid) == 0 && sid == 258, "encode_single_token rank");
    CHECK(lt_tiktoken_encode_single_token(t, (const uint8_t *)"<|x|>", 5, &sid) == 0 && sid == 1000, "encode_single_token special");
    CHECK(lt_tiktoken_encode_single_token(t, (const uint8_t *)"zzz", 3, &sid) == LT_TIKTOKEN_ENOTFOUND, "encode_single_token missing");

    /* decode */
    const uint8_t *b; size_t bl;
    CHECK(lt_tiktoken_decode_single(t, 258, &b, &bl) == 0 && bl == 3 && memcmp(b, "abc", 3) == 0, "decode_single");
    CHECK(lt_tiktoken_decode_single(t, 1002, &b, &bl) == 0 && bl == 7 && memcmp(b, "<|end|>", 7) == 0, "decode_single special");
    CHECK(lt_tiktoken_decode_single(t, 999, &b, &bl) == LT_TIKTOKEN_EUNKNOWN_ID, "decode_single unknown");
    uint32_t bad[] = { 97, 500, 98 };
    uint8_t *out; size_t ol; char err[256] = "";
    rc = lt_tiktoken_decode_bytes(t, bad, 3, &out, &ol, err, sizeof err);
    CHECK(rc == LT_TIKTOKEN_EUNKNOWN_ID && strstr(err, "500") && out == NULL, "decode unknown id -> error naming it (%s)", err);
    rc = lt_tiktoken_decode_bytes(t, NULL, 0, &out, &ol, err, sizeof err);
    CHECK(rc == 0 && ol == 0 && out && out[0] == 0, "decode empty");
    if (!rc) free(out);

    /* decode_text and UTF-8 repair (expected values from Python) */
    struct { const char *in; size_t len; const char *exp; } u[] = {
        { "a\xe2\x82", 3, "a\xef\xbf\xbd" },
        { "\xe2\x28\xa1", 3, "\xef\xbf\xbd(\xef\xbf\xbd" },
        { "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf0\x9f\x98", 3, "\xef\xbf\xbd" },
        { "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf0\x9f\x98\xc3\xa9", 5, "\xef\xbf\xbd\xc3\xa9" },
        { "\xf0\x9f\x98\x80 ok", 7, "\xf0\x9f\x98\x80 ok" },
    };
    for (size_t k = 0; k < sizeof u / sizeof u[0]; k++) {
        char *o; size_t l;
        rc = lt_tiktoken_utf8_replace((const uint8_t *)u[k].in, u[k].len, &o, &l);
        CHECK(rc == 0 && l == strlen(u[k].exp) && memcmp(o, u[k].exp, l) == 0, "utf8 replace case %zu", k);
        if (!rc) free(o);
    }
    uint32_t tx[] = { 0xe2, 0x82, 'a', 0xff };
    char *o; size_t l;
    rc = lt_tiktoken_decode_text(t, tx, 4, &o, &l, err, sizeof err);
    CHECK(rc == 0 && strcmp(o, "\xef\xbf\xbd" "a" "\xef\xbf\xbd") == 0, "decode_text replaces invalid UTF-8");
    if (!rc) free(o);

    /* token_byte_values */
    size_t nr = lt_tiktoken_n_ranks(t);
    int sorted_ok = 1;
    const uint8_t *pb = NULL; size_t pl = 0;
    for (size_t i = 0; i < nr; i++) {
        const uint8_t *cb; size_t cl; uint32_t cid;
        if (lt_tiktoken_token_byte_value(t, i, &cb, &cl, &cid)) { sorted_ok = 0; break; }
        if (pb) {
            size_t ml = pl < cl ? pl : cl;
            int c = memcmp(pb, cb, ml);
            if (c > 0 || (c == 0 && pl >= cl)) sorted_ok = 0;
        }
        const uint8_t *db; size_t dl;
        if (lt_tiktoken_decode_single(t, cid, &db, &dl) || dl != cl || memcmp(db, cb, cl)) sorted_ok = 0;
        pb = cb; pl = cl;
    }
    CHECK(sorted_ok, "token_byte_value: %zu values sorted, consistent with ids", nr);
    CHECK(lt_tiktoken_token_byte_value(t, nr, &pb, &pl, NULL) == LT_TIKTOKEN_ENOTFOUND, "token_byte_value past end");
    const char *st; size_t sl; uint32_t sp;
    CHECK(lt_tiktoken_special_at(t, 2, &st, &sl, &sp) == 0 && sp == 1002 && sl == 7, "special_at");

    /* batch */
    const char *texts[] = { "abcab", "", "aaaaa <|x|>", "dddd", "\xff\xfe" };
    uint32_t **bids; size_t *bns;
    rc = lt_tiktoken_encode_batch(t, texts, NULL, 5, 1, 3, &bids, &bns);
    int bok = rc == 0;
    for (size_t i = 0; bok && i < 5; i++) {
        uint32_t *one; size_t on;
        if (lt_tiktoken_encode(t, texts[i], strlen(texts[i]), 1, NULL, 0, &one, &on)) { bok = 0; break; }
        if (!ids_eq(one, on, bids[i], bns[i])) bok = 0;
        free(one);
    }
    CHECK(bok, "encode_batch == encode");
    if (!rc) lt_tiktoken_free_batch(bids, bns, 5);
    lt_tiktoken_free(t);
}

static void test_pattern(void)
{
    printf("[pattern semantics]\n");
    char err[256];
    /* \s is Unicode White_Space as in tiktoken's Rust regex: U+180E is not
     * a space there (PCRE2's own \s says it is), U+0085 and U+3000 are. */
    lt_tiktoken *t = lt_tiktoken_new("\\s+|\\S+", err, sizeof err);
    CHECK(t != NULL, "compile \\s+|\\S+");
    if (!t) return;
    for (int b = 0; b < 256; b++) { uint8_t c = (uint8_t)b; lt_tiktoken_add_rank(t, &c, 1, (uint32_t)b); }
    lt_tiktoken_add_rank(t, (const uint8_t *)"a\xe1", 2, 300);
    lt_tiktoken_add_rank(t, (const uint8_t *)"a\xe1\xa0", 3, 301);
    lt_tiktoken_add_rank(t, (const uint8_t *)"a\xe1\xa0\x8e", 4, 302);
    lt_tiktoken_add_rank(t, (const uint8_t *)"a\xc2", 2, 303);
    lt_tiktoken_add_rank(t, (const uint8_t *)"a\xc2\x85", 3, 304);
    CHECK(lt_tiktoken_finalize(t, err, sizeof err) == 0, "finalize");
    uint32_t *ids; size_t n;
    int rc = lt_tiktoken_encode(t, "a\xe1\xa0\x8e" "b", 5, 0, NULL, 0, &ids, &n);
    CHECK(rc == 0 && n == 2 && ids[0] == 302 && ids[1] == 'b', "U+180E is not \\s (one piece)");
    if (!rc) free(ids);
    rc = lt_tiktoken_encode(t, "a\xc2\x85" "b", 4, 0, NULL, 0, &ids, &n);
    CHECK(rc == 0 && n == 4 && ids[0] == 'a', "U+0085 is \\s (three pieces)");
    if (!rc) free(ids);
    rc = lt_tiktoken_encode(t, "x\xe3\x80\x80y", 5, 0, NULL, 0, &ids, &n);
    CHECK(rc == 0 && n == 5 && ids[0] == 'x' && ids[4] == 'y', "U+3000 is \\s");
    if (!rc) free(ids);
    lt_tiktoken_free(t);
    /* \s inside a class and \Q..\E are handled */
    t = lt_tiktoken_new("[^\\s\\p{L}]+|\\Q\\s\\E|[\\s]+|\\p{L}+", err, sizeof err);
    CHECK(t != NULL, "class and \\Q rewrite compiles (%s)", t ? "" : err);
    lt_tiktoken_free(t);
}

static void test_meta(void)
{
    printf("[meta characters]\n");
    lt_tiktoken *t = small_vocab(0);
    if (!t) { CHECK(0, "small vocab"); return; }
    uint32_t ids[] = { 272, 'a', 'b', 272, 'c' };    /* "▁ab▁c" */
    char *o; size_t l; char err[256];
    lt_tiktoken_decode_text(t, ids, 5, &o, &l, err, sizeof err);
    CHECK(strcmp(o, "\xe2\x96\x81" "ab" "\xe2\x96\x81" "c") == 0, "no meta by default");
    free(o);
    CHECK(lt_tiktoken_set_space(t, "\xe2\x96\x81") == 0, "set_space");
    lt_tiktoken_decode_text(t, ids, 5, &o, &l, err, sizeof err);
    CHECK(strcmp(o, " ab c") == 0, "set_space: '\xe2\x96\x81' shown as space (got \"%s\")", o);
    free(o);
    CHECK(lt_tiktoken_add_meta(t, "ab", "[AB]") == 0, "add_meta");
    CHECK(lt_tiktoken_add_meta(t, "a", "A") == 0, "add_meta 2");
    lt_tiktoken_decode_text(t, ids, 5, &o, &l, err, sizeof err);
    CHECK(strcmp(o, " [AB] c") == 0, "longest meta wins (got \"%s\")", o);
    free(o);
    const char *ms[8], *rs[8];
    size_t n = lt_tiktoken_list_meta(t, ms, rs, 8);
    CHECK(n == 3 && strcmp(ms[0], "\xe2\x96\x81") == 0 && strcmp(rs[0], " ") == 0 && strcmp(rs[1], "[AB]") == 0, "list_meta");
    CHECK(lt_tiktoken_add_meta(t, "ab", "X") == 0 && lt_tiktoken_list_meta(t, NULL, NULL, 0) == 3, "add_meta replaces");
    CHECK(lt_tiktoken_remove_meta(t, "ab") == 0, "remove_meta");
    CHECK(lt_tiktoken_remove_meta(t, "ab") == LT_TIKTOKEN_ENOTFOUND, "remove_meta absent");
    lt_tiktoken_decode_text(t, ids, 5, &o, &l, err, sizeof err);
    CHECK(strcmp(o, " Ab c") == 0, "after remove (got \"%s\")", o);
    free(o);
    CHECK(lt_tiktoken_set_space(t, "b") == 0, "set_space replaces previous");
    lt_tiktoken_decode_text(t, ids, 5, &o, &l, err, sizeof err);
    CHECK(strcmp(o, "\xe2\x96\x81" "A " "\xe2\x96\x81" "c") == 0, "new space meta (got \"%s\")", o);
    free(o);
    CHECK(lt_tiktoken_set_space(t, NULL) == 0 && lt_tiktoken_list_meta(t, NULL, NULL, 0) == 1, "set_space(NULL) removes");
    uint8_t *raw; size_t rl;
    lt_tiktoken_decode_bytes(t, ids, 5, &raw, &rl, err, sizeof err);
    CHECK(rl == 9 && memcmp(raw, "\xe2\x96\x81" "ab" "\xe2\x96\x81" "c", 9) == 0, "decode_bytes ignores metas");
    free(raw);
    lt_tiktoken_clear_meta(t);
    CHECK(lt_tiktoken_list_meta(t, NULL, NULL, 0) == 0, "clear_meta");
    CHECK(lt_tiktoken_add_meta(t, "", "x") == LT_TIKTOKEN_EINVAL, "empty meta rejected");
    lt_tiktoken_free(t);
}

/* ------------------------------------------------------------------ */
/* errors                                                               */
/* ------------------------------------------------------------------ */

static void test_errors(void)
{
    printf("[errors]\n");
    char err[512];
    err[0] = 0;
    lt_tiktoken *t = lt_tiktoken_new("(abc|[x", err, sizeof err);
    CHECK(!t && strstr(err, "offset") && strstr(err, "regex"), "bad regex -> %s", err);
    t = lt_tiktoken_new("a{2,1}", err, sizeof err);
    CHECK(!t && strstr(err, "offset"), "bad regex 2 -> %s", err);
    CHECK(lt_tiktoken_new(NULL, err, sizeof err) == NULL, "NULL pattern");

    t = lt_tiktoken_load_file("/nonexistent/dir/x.tiktoken", err, sizeof err);
    CHECK(!t && strstr(err, "cannot open"), "missing file -> %s", err);
    t = lt_tiktoken_load_file(NULL, err, sizeof err);
    CHECK(!t, "NULL path");

    const char *p = write_tmp("empty.tiktoken", "", 0);
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "empty"), "empty file -> %s", err);

    const char *j1 = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\"";
    p = write_tmp("trunc_tokenizer.json", j1, strlen(j1));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "JSON"), "truncated tokenizer.json -> %s", err);
    const char *j2 = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"zero\"}}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}";
    p = write_tmp("badid_tokenizer.json", j2, strlen(j2));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "\"a\""), "non-integer vocab id -> %s", err);
    const char *j3 = "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}";
    p = write_tmp("unigram_tokenizer.json", j3, strlen(j3));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "Unigram"), "unsupported model -> %s", err);
    const char *j4 = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"\xc4\xa0\": 2}, \"merges\": [\"a b\"]},"
                     " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"use_regex\": true}}";
    p = write_tmp("badmerge_tokenizer.json", j4, strlen(j4));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "merges[0]"), "merge result not in vocab -> %s", err);
    const char *j5 = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"Split\","
                     " \"pattern\": {\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\"}}";
    p = write_tmp("badregex_tokenizer.json", j5, strlen(j5));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "offset"), "bad regex in tokenizer.json -> %s", err);
    const char *j6 = "[1, 2, 3]";
    p = write_tmp("array_tokenizer.json", j6, strlen(j6));
    t = lt_tiktoken_load_file(p, err, sizeof err);   /* not '{' -> parsed as rank file */
    CHECK(!t, "JSON array is neither format -> %s", err);

    const char *r1 = "YQ== 0\nYg== 1\n!!!! 2\n";
    p = write_tmp("bad_gpt2.tiktoken", r1, strlen(r1));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, ":3:") && strstr(err, "base64"), "corrupt .tiktoken line -> %s", err);
    const char *r2 = "YQ== 0\nYg== x1\n";
    p = write_tmp("bad2_gpt2.tiktoken", r2, strlen(r2));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, ":2:") && strstr(err, "rank"), "bad rank -> %s", err);
    const char *r3 = "YQ== 0\nYg==\n";
    p = write_tmp("bad3_gpt2.tiktoken", r3, strlen(r3));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, ":2:"), "missing rank -> %s", err);
    const char *r4 = "YQ== 0\nYQ== 1\n";
    p = write_tmp("dup_gpt2.tiktoken", r4, strlen(r4));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "two ranks"), "duplicate token -> %s", err);
    const char *r5 = "YQ== 0\nYg== 1\n";
    p = write_tmp("mystery.tiktoken", r5, strlen(r5));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "meta.json"), "unknown name without meta -> %s", err);
    /* now with a meta file */
    const char *m5 = "{\"pat_str\": \"[a-z]+|[^a-z]+\", \"special_tokens\": {\"<s>\": 7}}";
    write_tmp("mystery.meta.json", m5, strlen(m5));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(t != NULL, "rank file + meta.json loads (%s)", t ? "" : err);
    if (t) {
        uint32_t *ids; size_t n;
        int rc = lt_tiktoken_encode(t, "ab<s>", 5, 1, NULL, 0, &ids, &n);
        CHECK(rc == LT_TIKTOKEN_OK && n == 3 && ids[0] == 0 && ids[1] == 1 && ids[2] == 7, "meta specials used");
        if (!rc) free(ids);
        rc = lt_tiktoken_encode(t, "abc", 3, 0, NULL, 0, &ids, &n);
        CHECK(rc == LT_TIKTOKEN_ENOTOKEN, "byte without token -> ENOTOKEN (%s)", lt_tiktoken_strerror(rc));
        lt_tiktoken_free(t);
    }
    const char *m6 = "{\"pat_str\": 12}";
    write_tmp("mystery.meta.json", m6, strlen(m6));
    t = lt_tiktoken_load_file(p, err, sizeof err);
    CHECK(!t && strstr(err, "pat_str"), "bad meta.json -> %s", err);

    /* from_hf_parts */
    t = lt_tiktoken_from_hf_parts("{\"a\": 0,", NULL, "[a-z]+", err, sizeof err);
    CHECK(!t && strstr(err, "vocab"), "bad vocab JSON -> %s", err);
    t = lt_tiktoken_from_hf_parts("{\"a\": 0}", "[{\"content\": 5}]", "[a-z]+", err, sizeof err);
    CHECK(!t && strstr(err, "added_tokens[0]"), "bad added tokens -> %s", err);
    t = lt_tiktoken_from_hf_parts("[1]", NULL, NULL, err, sizeof err);
    CHECK(!t && strstr(err, "object"), "vocab not an object -> %s", err);
    t = lt_tiktoken_from_hf_parts("{\"a\": 0}", NULL, "(", err, sizeof err);
    CHECK(!t && strstr(err, "offset"), "bad pattern -> %s", err);
    t = lt_tiktoken_from_hf_parts("{\"a\": 0, \"b\": 1, \"ab\": 2}", "{\"<e>\": 3}", "[a-z]+|<e>", err, sizeof err);
    CHECK(t != NULL, "from_hf_parts with object added tokens");
    if (t) {
        uint32_t *ids; size_t n;
        int rc = lt_tiktoken_encode(t, "ab<e>ba", 7, 1, NULL, 0, &ids, &n);
        CHECK(rc == 0 && n == 4 && ids[0] == 2 && ids[1] == 3 && ids[2] == 1 && ids[3] == 0, "non byte-level vocab encodes");
        if (!rc) free(ids);
        lt_tiktoken_free(t);
    }

    /* state errors */
    t = lt_tiktoken_new("[a-z]+", err, sizeof err);
    uint32_t *ids; size_t n;
    CHECK(lt_tiktoken_encode(t, "a", 1, 0, NULL, 0, &ids, &n) == LT_TIKTOKEN_ESTATE, "encode before finalize");
    CHECK(lt_tiktoken_add_rank(t, (const uint8_t *)"a", 0, 1) == LT_TIKTOKEN_EINVAL, "empty rank rejected");
    lt_tiktoken_add_rank(t, (const uint8_t *)"a", 1, 0);
    lt_tiktoken_add_rank(t, (const uint8_t *)"b", 1, 0);
    CHECK(lt_tiktoken_finalize(t, err, sizeof err) == LT_TIKTOKEN_EDUP, "same rank for two byte strings -> %s", err);
    lt_tiktoken_free(t);
    t = lt_tiktoken_new("[a-z]+", err, sizeof err);
    lt_tiktoken_add_rank(t, (const uint8_t *)"a", 1, 0);
    CHECK(lt_tiktoken_finalize(t, err, sizeof err) == 0, "finalize");
    CHECK(lt_tiktoken_add_rank(t, (const uint8_t *)"b", 1, 1) == LT_TIKTOKEN_ESTATE, "add after finalize");
    CHECK(lt_tiktoken_encode(t, "a", 1, 0, NULL, 0, NULL, &n) == LT_TIKTOKEN_EINVAL, "NULL out");
    CHECK(lt_tiktoken_encode(NULL, "a", 1, 0, NULL, 0, &ids, &n) == LT_TIKTOKEN_EINVAL, "NULL tokenizer");
    lt_tiktoken_free(t);
    lt_tiktoken_free(NULL);
}

/* ------------------------------------------------------------------ */
/* fuzz                                                                 */
/* ------------------------------------------------------------------ */

static void fuzz_one(lt_tiktoken *t, const char *name, int iters, int expect_all_ok)
{
    static const char *frag[] = { "\xe2\x96", "\xf0\x9f\x98\x80", "\xc3", "\xa9", " ", "  ", "\n", "\r\n", "<|endoftext|>",
                                  "<|x|>", "'s", "123", "\xed\xa0\x80", "\xef\xbb\xbf", "\xe1\xa0\x8e", "\xc2\x85", "abc" };
    int ok = 1, rt = 1, dec_ok = 1;
    size_t vs = lt_tiktoken_vocab_size(t);
    for (int it = 0; it < iters; it++) {
        char s[2048];
        size_t n = 0, target = (size_t)(rnd() % (it % 100 == 0 ? 2000 : 200));
        while (n < target) {
            uint64_t r = rnd();
            if (r % 3 == 0) {
                const char *f = frag[(r >> 8) % (sizeof frag / sizeof frag[0])];
                size_t fl = strlen(f);
                if (n + fl > sizeof s) break;
                memcpy(s + n, f, fl); n += fl;
            } else s[n++] = (char)(r >> 16);
        }
        uint32_t *ids; size_t m;
        int rc = lt_tiktoken_encode(t, s, n, (int)(it & 1), NULL, 0, &ids, &m);
        if (rc == 0) {
            if (!roundtrip(t, ids, m, s, n)) rt = 0;
            free(ids);
        } else if (expect_all_ok || rc != LT_TIKTOKEN_ENOTOKEN) ok = 0;
        /* random ids */
        uint32_t rid[64];
        size_t k = (size_t)(rnd() % 64);
        for (size_t i = 0; i < k; i++) rid[i] = (uint32_t)(rnd() % (vs + 50));
        if (rnd() % 10 == 0 && k) rid[0] = (uint32_t)rnd();
        uint8_t *out; size_t ol; char err[128]; char *txt; size_t tl;
        rc = lt_tiktoken_decode_bytes(t, rid, k, &out, &ol, err, sizeof err);
        if (rc == 0) free(out); else if (rc != LT_TIKTOKEN_EUNKNOWN_ID) dec_ok = 0;
        rc = lt_tiktoken_decode_text(t, rid, k, &txt, &tl, err, sizeof err);
        if (rc == 0) free(txt); else if (rc != LT_TIKTOKEN_EUNKNOWN_ID) dec_ok = 0;
    }
    CHECK(ok, "fuzz %s: %d random byte strings encode without error", name, iters);
    CHECK(rt, "fuzz %s: every byte round-trips (invalid UTF-8 included)", name);
    CHECK(dec_ok, "fuzz %s: random ids decode or fail cleanly", name);
}

static void test_fuzz(void)
{
    printf("[fuzz]\n");
    g_rng = 12345;
    lt_tiktoken *t = small_vocab(1);
    if (t) { fuzz_one(t, "small", 3000, 1); lt_tiktoken_free(t); }
    /* non byte-level vocabulary: some bytes have no token -> clean error */
    char err[256];
    t = lt_tiktoken_from_hf_parts("{\"a\": 0, \"b\": 1, \"ab\": 2, \" \": 3}", NULL, "\\S+|\\s+", err, sizeof err);
    if (t) { fuzz_one(t, "partial-vocab", 1000, 0); lt_tiktoken_free(t); }
    else CHECK(0, "partial vocab: %s", err);
}

/* ------------------------------------------------------------------ */
/* data-driven                                                          */
/* ------------------------------------------------------------------ */

static lt_tiktoken *load_enc(const char *name)
{
    char rel[256], err[512];
    snprintf(rel, sizeof rel, "tiktoken/%s.tiktoken", name);
    lt_tiktoken *t = lt_tiktoken_load_file(dpath(rel), err, sizeof err);
    if (!t) printf("  load %s: %s\n", name, err);
    return t;
}

static int json_ids(json_object *arr, uint32_t **out, size_t *n)
{
    size_t k = json_object_array_length(arr);
    *out = malloc((k ? k : 1) * sizeof(uint32_t));
    for (size_t i = 0; i < k; i++) (*out)[i] = (uint32_t)json_object_get_int64(json_object_array_get_idx(arr, i));
    *n = k;
    return 0;
}

static void test_golden(void)
{
    printf("[golden vectors]\n");
    const char *gp = dpath("tiktoken/golden_vectors.json");
    if (!exists(gp)) { skipped("no %s (no ../shared/data)", gp); return; }
    json_object *root = json_object_from_file(gp), *encs;
    if (!root || !json_object_object_get_ex(root, "encodings", &encs)) { CHECK(0, "parse golden_vectors.json"); return; }
    json_object_object_foreach(encs, name, ev) {
        lt_tiktoken *t = load_enc(name);
        CHECK(t != NULL, "load %s", name);
        if (!t) continue;
        json_object *vecs;
        json_object_object_get_ex(ev, "vectors", &vecs);
        size_t nv = json_object_array_length(vecs), ok_o = 0, ok_s = 0, ok_rt = 0;
        for (size_t i = 0; i < nv; i++) {
            json_object *v = json_object_array_get_idx(vecs, i), *jt, *jo, *js;
            json_object_object_get_ex(v, "text", &jt);
            json_object_object_get_ex(v, "ordinary", &jo);
            json_object_object_get_ex(v, "with_special", &js);
            const char *text = json_object_get_string(jt);
            size_t tl = (size_t)json_object_get_string_len(jt);
            uint32_t *eo, *es, *ids, *ids2; size_t neo, nes, n, n2;
            json_ids(jo, &eo, &neo); json_ids(js, &es, &nes);
            int rc = lt_tiktoken_encode(t, text, tl, 0, NULL, 0, &ids, &n);
            int rc2 = lt_tiktoken_encode(t, text, tl, 1, NULL, 0, &ids2, &n2);
            if (!rc && ids_eq(ids, n, eo, neo)) ok_o++;
            else { printf("    %s ordinary mismatch on \"%.60s\"\n", name, text); if (!rc) { print_ids("got", ids, n); print_ids("exp", eo, neo); } }
            if (!rc2 && ids_eq(ids2, n2, es, nes)) ok_s++;
            else { printf("    %s with_special mismatch on \"%.60s\"\n", name, text); if (!rc2) { print_ids("got", ids2, n2); print_ids("exp", es, nes); } }
            if (!rc && !rc2 && roundtrip(t, ids, n, text, tl) && roundtrip(t, ids2, n2, text, tl)) ok_rt++;
            if (!rc) free(ids);
            if (!rc2) free(ids2);
            free(eo); free(es);
        }
        /* the same rank file without its meta.json: built-in pattern and specials chosen by name */
        size_t ok_b = 0;
        {
            char rel[256], nm[256];
            snprintf(rel, sizeof rel, "tiktoken/%s.tiktoken", name);
            snprintf(nm, sizeof nm, "copy_%s.tiktoken", name);
            size_t rl;
            char *rf = slurp(dpath(rel), &rl);
            char err[512];
            lt_tiktoken *tb = rf ? lt_tiktoken_load_file(write_tmp(nm, rf, rl), err, sizeof err) : NULL;
            free(rf);
            CHECK(tb != NULL, "%s without meta.json loads", name);
            for (size_t i = 0; tb && i < nv; i++) {
                json_object *v = json_object_array_get_idx(vecs, i), *jt, *js;
                json_object_object_get_ex(v, "text", &jt);
                json_object_object_get_ex(v, "with_special", &js);
                uint32_t *es, *ids; size_t nes, n;
                json_ids(js, &es, &nes);
                if (lt_tiktoken_encode(tb, json_object_get_string(jt), (size_t)json_object_get_string_len(jt),
                                       1, NULL, 0, &ids, &n) == 0) {
                    ok_b += ids_eq(ids, n, es, nes);
                    free(ids);
                }
                free(es);
            }
            CHECK(ok_b == nv, "%s built-in pattern/specials: %zu/%zu", name, ok_b, nv);
            lt_tiktoken_free(tb);
        }
        printf("  %-12s ordinary %zu/%zu, with_special %zu/%zu, round trips %zu/%zu, built-in defaults %zu/%zu\n",
               name, ok_o, nv, ok_s, nv, ok_rt, nv, ok_b, nv);
        CHECK(ok_o == nv && nv > 0, "%s: golden ordinary %zu/%zu", name, ok_o, nv);
        CHECK(ok_s == nv && nv > 0, "%s: golden with_special %zu/%zu", name, ok_s, nv);
        CHECK(ok_rt == nv, "%s: golden round trips %zu/%zu", name, ok_rt, nv);

        /* the corpus entry: n_tokens and sha256 of the ids (covers encodings without an ids file) */
        json_object *corp, *jf, *jn, *jh;
        if (json_object_object_get_ex(ev, "corpus", &corp) && json_object_object_get_ex(corp, "file", &jf) &&
            json_object_object_get_ex(corp, "n_tokens", &jn) && json_object_object_get_ex(corp, "ids_u32le_sha256", &jh)) {
            size_t cl;
            char *ctext = slurp(dpath(json_object_get_string(jf)), &cl);
            if (!ctext) skipped("corpus %s absent", json_object_get_string(jf));
            else {
                uint32_t *ids; size_t n;
                int rc = lt_tiktoken_encode(t, ctext, cl, 0, NULL, 0, &ids, &n);
                char hex[65] = "";
                if (!rc) {
                    uint8_t *le = malloc(n * 4 + 1);
                    ids_to_le(ids, n, le);
                    sha_hex(le, n * 4, hex);
                    free(le);
                }
                int ok = !rc && n == (size_t)json_object_get_int64(jn) && strcmp(hex, json_object_get_string(jh)) == 0;
                printf("  %-12s %s: %zu tokens, sha256 %s\n", name, json_object_get_string(jf), n, ok ? "matches" : "DIFFERS");
                CHECK(ok, "%s: corpus token count and sha256", name);
                if (!rc) free(ids);
                free(ctext);
            }
        }
        lt_tiktoken_free(t);
    }
    json_object_put(root);
}

static void test_corpora(void)
{
    printf("[1 MiB corpora]\n");
    const char *encs[] = { "gpt2", "r50k_base", "p50k_base", "cl100k_base", "o200k_base" };
    const char *corp[] = { "licenses_1MiB", "compose_licenses_1MiB" };
    int any = 0;
    for (size_t c = 0; c < 2; c++) {
        char rel[256];
        snprintf(rel, sizeof rel, "corpus/%s.txt", corp[c]);
        size_t tl;
        char *text = slurp(dpath(rel), &tl);
        if (!text) { skipped("no %s", dpath(rel)); continue; }
        for (size_t e = 0; e < 5; e++) {
            snprintf(rel, sizeof rel, "tiktoken/%s.%s.ids.u32le", encs[e], corp[c]);
            size_t bl;
            char *raw = slurp(dpath(rel), &bl);
            if (!raw) continue;   /* this encoding has no ids for this corpus */
            any = 1;
            size_t ne = bl / 4;
            uint32_t *exp = malloc((ne ? ne : 1) * sizeof(uint32_t));
            for (size_t i = 0; i < ne; i++)
                exp[i] = (uint32_t)(uint8_t)raw[4*i] | (uint32_t)(uint8_t)raw[4*i+1] << 8 |
                         (uint32_t)(uint8_t)raw[4*i+2] << 16 | (uint32_t)(uint8_t)raw[4*i+3] << 24;
            free(raw);
            lt_tiktoken *t = load_enc(encs[e]);
            if (!t) { CHECK(0, "load %s", encs[e]); free(exp); continue; }
            uint32_t *ids; size_t n;
            int rc = lt_tiktoken_encode(t, text, tl, 0, NULL, 0, &ids, &n);
            int ok = !rc && ids_eq(ids, n, exp, ne);
            if (!rc && !ok) {
                size_t d = first_diff(ids, n, exp, ne);
                printf("    first difference at id %zu (got %zu ids, expected %zu)\n", d, n, ne);
            }
            printf("  %-12s %-22s %zu ids: %s\n", encs[e], corp[c], ne, ok ? "identical" : "DIFFERENT");
            CHECK(ok, "%s on %s identical", encs[e], corp[c]);
            CHECK(!rc && roundtrip(t, ids, n, text, tl), "%s on %s round trip", encs[e], corp[c]);
            if (!rc) free(ids);
            if (e == 3 && c == 1) {
                /* the heap merge path on a whole corpus */
                lt_tiktoken_set_linear_max(t, 0);
                rc = lt_tiktoken_encode(t, text, tl, 0, NULL, 0, &ids, &n);
                CHECK(!rc && ids_eq(ids, n, exp, ne), "%s on %s with heap merge only", encs[e], corp[c]);
                if (!rc) free(ids);
                lt_tiktoken_set_linear_max(t, 128);
                /* batch (2 threads) over lines == per-line encode */
                size_t nl = 0;
                for (size_t i = 0; i < tl; i++) nl += text[i] == '\n';
                nl++;
                const char **lines = malloc(nl * sizeof(char *));
                size_t *lens = malloc(nl * sizeof(size_t));
                size_t k = 0, st = 0;
                for (size_t i = 0; i <= tl; i++)
                    if (i == tl || text[i] == '\n') { lines[k] = text + st; lens[k] = i - st + (i < tl); k++; st = i + 1; }
                uint32_t **bids; size_t *bns;
                rc = lt_tiktoken_encode_batch(t, lines, lens, k, 1, 2, &bids, &bns);
                int bok = rc == 0;
                for (size_t i = 0; bok && i < k; i += 7) {
                    if (lt_tiktoken_encode(t, lines[i], lens[i], 1, NULL, 0, &ids, &n)) { bok = 0; break; }
                    if (!ids_eq(ids, n, bids[i], bns[i])) bok = 0;
                    free(ids);
                }
                CHECK(bok, "encode_batch (2 threads, %zu lines) == encode", k);
                if (!rc) lt_tiktoken_free_batch(bids, bns, k);
                free(lines); free(lens);
            }
            if (c == 1) fuzz_one(t, encs[e], 300, 1);
            lt_tiktoken_free(t);
            free(exp);
        }
        free(text);
    }
    if (!any) skipped("no ids files under %s/tiktoken", g_data);
}

/* llama.cpp vectors: texts separated by "\n__ggml_vocab_test__\n", one id line per text */
typedef struct { char **texts; size_t *tlen; uint32_t **ids; size_t *nids; size_t n; } vecset;

static int load_vecset(const char *base, vecset *vs)
{
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s.inp", base);
    snprintf(p2, sizeof p2, "%s.out", base);
    size_t il, ol;
    char *inp = slurp(p1, &il), *out = slurp(p2, &ol);
    if (!inp || !out) { free(inp); free(out); return -1; }
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t sl = strlen(sep);
    memset(vs, 0, sizeof *vs);
    size_t cap = 256;
    vs->texts = malloc(cap * sizeof(char *)); vs->tlen = malloc(cap * sizeof(size_t));
    vs->ids = calloc(cap, sizeof(uint32_t *)); vs->nids = calloc(cap, sizeof(size_t));
    size_t pos = 0;
    for (;;) {   /* like llama.cpp: each text is followed by the separator */
        char *f = NULL;
        for (size_t i = pos; i + sl <= il; i++) if (memcmp(inp + i, sep, sl) == 0) { f = inp + i; break; }
        if (!f || vs->n == cap) break;
        size_t len = (size_t)(f - (inp + pos));
        vs->texts[vs->n] = malloc(len + 1);
        memcpy(vs->texts[vs->n], inp + pos, len);
        vs->texts[vs->n][len] = 0;
        vs->tlen[vs->n] = len;
        vs->n++;
        pos = (size_t)(f - inp) + sl;
    }
    /* out: one line per text */
    size_t k = 0, st = 0;
    for (size_t i = 0; i <= ol && k < vs->n; i++) {
        if (i == ol || out[i] == '\n') {
            if (i == ol && st == ol) break;
            uint32_t *v = malloc((i - st + 1) * sizeof(uint32_t));
            size_t n = 0;
            char *q = out + st;
            while (q < out + i) {
                while (q < out + i && *q == ' ') q++;
                if (q >= out + i) break;
                v[n++] = (uint32_t)strtoul(q, &q, 10);
            }
            vs->ids[k] = v; vs->nids[k] = n; k++;
            st = i + 1;
        }
    }
    free(inp); free(out);
    if (k != vs->n) { printf("    %s: %zu texts but %zu id lines\n", base, vs->n, k); }
    return k == vs->n ? 0 : -2;
}

static void free_vecset(vecset *vs)
{
    for (size_t i = 0; i < vs->n; i++) { free(vs->texts[i]); free(vs->ids[i]); }
    free(vs->texts); free(vs->tlen); free(vs->ids); free(vs->nids);
}

static void run_vecset(lt_tiktoken *t, const vecset *vs, const char *label)
{
    size_t ok = 0, rt = 0;
    for (size_t i = 0; i < vs->n; i++) {
        uint32_t *ids; size_t n;
        int rc = lt_tiktoken_encode(t, vs->texts[i], vs->tlen[i], 0, NULL, 0, &ids, &n);
        if (!rc && ids_eq(ids, n, vs->ids[i], vs->nids[i])) ok++;
        else {
            printf("    %s mismatch on text %zu \"%.50s\"\n", label, i, vs->texts[i]);
            if (!rc) { print_ids("got", ids, n); print_ids("exp", vs->ids[i], vs->nids[i]); }
        }
        if (!rc && roundtrip(t, ids, n, vs->texts[i], vs->tlen[i])) rt++;
        if (!rc) free(ids);
    }
    printf("  %-40s %zu/%zu identical, %zu/%zu round trips\n", label, ok, vs->n, rt, vs->n);
    CHECK(ok == vs->n && vs->n > 0, "%s: %zu/%zu", label, ok, vs->n);
    CHECK(rt == vs->n, "%s round trips: %zu/%zu", label, rt, vs->n);
}

static void test_llamacpp(void)
{
    printf("[llama.cpp vectors]\n");
    vecset vs;
    char err[512];
    int rc = load_vecset(dpath("llamacpp-vectors/ggml-vocab-llama-bpe.gguf"), &vs);
    const char *tj = dpath("hf-tokenizers/llama3_tokenizer.json");
    if (rc == -1 || !exists(tj)) skipped("no llama-bpe vectors or llama3_tokenizer.json (no ../shared/data)");
    else {
        CHECK(rc == 0 && vs.n == 46, "llama-bpe vectors parsed: %zu texts", vs.n);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        lt_tiktoken *t = lt_tiktoken_load_file(tj, err, sizeof err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        CHECK(t != NULL, "load llama3_tokenizer.json: %s", t ? "ok" : err);
        if (t) {
            printf("  llama3_tokenizer.json loaded in %.0f ms, vocab size %zu, %zu specials\n",
                   (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6,
                   lt_tiktoken_vocab_size(t), lt_tiktoken_n_special(t));
            CHECK(lt_tiktoken_vocab_size(t) == 128256, "llama3 vocab size");
            CHECK(lt_tiktoken_special_id(t, "<|eot_id|>", 10) == 128009, "llama3 <|eot_id|>");
            run_vecset(t, &vs, "llama3 tokenizer.json (load_file)");
            /* chat template with specials */
            const char *chat = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>";
            uint32_t *ids; size_t n;
            if (lt_tiktoken_encode(t, chat, strlen(chat), 1, NULL, 0, &ids, &n) == 0) {
                CHECK(n >= 5 && ids[0] == 128000 && ids[1] == 128006 && ids[n - 1] == 128009, "llama3 chat specials");
                CHECK(roundtrip(t, ids, n, chat, strlen(chat)), "llama3 chat round trip");
                free(ids);
            }
            lt_tiktoken_free(t);
        }
        /* the same through from_hf_parts, as a LispE script passes the pieces */
        json_object *root = json_object_from_file(tj), *model, *vocab, *added, *pre, *pts, *p0, *pat, *rx;
        if (root && json_object_object_get_ex(root, "model", &model) && json_object_object_get_ex(model, "vocab", &vocab) &&
            json_object_object_get_ex(root, "added_tokens", &added) && json_object_object_get_ex(root, "pre_tokenizer", &pre) &&
            json_object_object_get_ex(pre, "pretokenizers", &pts) && (p0 = json_object_array_get_idx(pts, 0)) &&
            json_object_object_get_ex(p0, "pattern", &pat) && json_object_object_get_ex(pat, "Regex", &rx)) {
            char *vj = strdup(json_object_to_json_string_ext(vocab, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
            char *aj = strdup(json_object_to_json_string_ext(added, JSON_C_TO_STRING_PLAIN));
            t = lt_tiktoken_from_hf_parts(vj, aj, json_object_get_string(rx), err, sizeof err);
            CHECK(t != NULL, "from_hf_parts(llama3): %s", t ? "ok" : err);
            if (t) {
                CHECK(lt_tiktoken_vocab_size(t) == 128256, "from_hf_parts llama3 vocab size");
                run_vecset(t, &vs, "llama3 from_hf_parts");
                lt_tiktoken_free(t);
            }
            free(vj); free(aj);
        } else CHECK(0, "llama3_tokenizer.json structure");
        if (root) json_object_put(root);
        /* and the rank-file form */
        const char *lt = dpath("hf-tokenizers/llama3.tiktoken");
        if (exists(lt)) {
            t = lt_tiktoken_load_file(lt, err, sizeof err);
            CHECK(t != NULL, "load llama3.tiktoken: %s", t ? "ok" : err);
            if (t) { run_vecset(t, &vs, "llama3.tiktoken (+ meta.json)"); lt_tiktoken_free(t); }
        }
        /* a SentencePiece-style tokenizer.json is refused with a clear message */
        const char *mj = dpath("hf-tokenizers/mistral7b_tokenizer.json");
        if (exists(mj)) {
            t = lt_tiktoken_load_file(mj, err, sizeof err);
            CHECK(!t && strstr(err, "byte-level"), "mistral tokenizer.json refused: %s", err);
            lt_tiktoken_free(t);
        }
    }
    if (rc != -1) free_vecset(&vs);

    rc = load_vecset(dpath("llamacpp-vectors/ggml-vocab-gpt-2.gguf"), &vs);
    if (rc == -1 || !exists(dpath("tiktoken/gpt2.tiktoken"))) skipped("no gpt-2 vectors (no ../shared/data)");
    else {
        CHECK(rc == 0 && vs.n == 46, "gpt-2 vectors parsed: %zu texts", vs.n);
        lt_tiktoken *t = load_enc("gpt2");
        if (t) { run_vecset(t, &vs, "gpt2.tiktoken"); lt_tiktoken_free(t); }
        else CHECK(0, "load gpt2");
        /* GPT-2 encoder.json (byte-level keys) through from_hf_parts */
        size_t el;
        char *ej = slurp(dpath("gpt2-datagym/encoder.json"), &el);
        if (ej) {
            t = lt_tiktoken_from_hf_parts(ej, NULL, NULL, err, sizeof err);
            CHECK(t != NULL, "from_hf_parts(gpt2 encoder.json): %s", t ? "ok" : err);
            if (t) { run_vecset(t, &vs, "gpt2 encoder.json (from_hf_parts)"); lt_tiktoken_free(t); }
            free(ej);
        }
    }
    if (rc != -1) free_vecset(&vs);
}

int main(int argc, char **argv)
{
    g_data = argc > 1 ? argv[1] : getenv("LT_SHARED_DATA");
    if (!g_data || !*g_data) g_data = "../shared/data";
    const char *tmp = getenv("TMPDIR");
    snprintf(g_tmpdir, sizeof g_tmpdir, "%s/lt_tiktoken_test_%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    mkdir(g_tmpdir, 0700);
    printf("test_tiktoken: shared data = %s\n", g_data);

    test_small();
    test_pattern();
    test_meta();
    test_errors();
    test_fuzz();
    if (!exists(g_data)) {
        printf("[data-driven tests]\n");
        skipped("no ../shared/data (looked in %s; pass a directory as argv[1] or LT_SHARED_DATA)", g_data);
    } else {
        test_golden();
        test_corpora();
        test_llamacpp();
    }

    /* clean temp files */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmpdir);
    if (system(cmd) != 0) { /* ignore */ }

    printf("%d passed, %d failed, %d skipped\n", g_pass, g_fail, g_skip);
    return g_fail ? 1 : 0;
}
