/*
 * tiktoken_load.c -- loaders for the tiktoken-compatible BPE tokenizer:
 * OpenAI .tiktoken rank files (+ <name>.meta.json) and Hugging Face
 * tokenizer.json (byte-level BPE), and the from_hf_parts constructor.
 * Uses only the public API of include/lt_tiktoken.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "lt_tiktoken.h"

#include <errno.h>
#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* built-in encodings (used when no <name>.meta.json is present)        */
/* ------------------------------------------------------------------ */

#define PAT_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define PAT_CL100K "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define PAT_O200K \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?" \
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?" \
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

typedef struct { const char *text; uint32_t id; } spec_def;
typedef struct { const char *key; const char *pattern; spec_def specials[6]; } enc_def;

static const enc_def builtin_encodings[] = {
    { "o200k", PAT_O200K, { { "<|endoftext|>", 199999 }, { "<|endofprompt|>", 200018 } } },
    { "cl100k", PAT_CL100K, { { "<|endoftext|>", 100257 }, { "<|fim_prefix|>", 100258 },
                              { "<|fim_middle|>", 100259 }, { "<|fim_suffix|>", 100260 },
                              { "<|endofprompt|>", 100276 } } },
    { "p50k_edit", PAT_GPT2, { { "<|endoftext|>", 50256 }, { "<|fim_prefix|>", 50281 },
                               { "<|fim_middle|>", 50282 }, { "<|fim_suffix|>", 50283 } } },
    { "p50k", PAT_GPT2, { { "<|endoftext|>", 50256 } } },
    { "r50k", PAT_GPT2, { { "<|endoftext|>", 50256 } } },
    { "gpt2", PAT_GPT2, { { "<|endoftext|>", 50256 } } },
};

/* ------------------------------------------------------------------ */
/* file helpers                                                         */
/* ------------------------------------------------------------------ */

static char *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { set_err(err, errlen, "tiktoken: cannot open '%s': %s", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap) {
            if (ferror(f)) { set_err(err, errlen, "tiktoken: error reading '%s'", path); free(b); b = NULL; }
            break;
        }
        char *nb = realloc(b, cap * 2 + 1);
        if (!nb) { free(b); b = NULL; break; }
        b = nb; cap *= 2;
    }
    fclose(f);
    if (!b) { if (err && !*err) set_err(err, errlen, "tiktoken: out of memory reading '%s'", path); return NULL; }
    b[n] = 0;
    *len = n;
    return b;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* ------------------------------------------------------------------ */
/* base64                                                               */
/* ------------------------------------------------------------------ */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode standard base64 (with '=' padding, length multiple of 4).
 * Returns decoded length or -1. out must hold len*3/4 bytes. */
static long b64_decode(const char *s, size_t len, uint8_t *out)
{
    if (len == 0 || len % 4) return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=' && i + 4 == len && k >= 2) { v[k] = 0; pad++; continue; }
            if (pad) return -1;            /* data after padding */
            if ((v[k] = b64val(c)) < 0) return -1;
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2) out[o++] = (uint8_t)(w >> 8);
        if (pad < 1) out[o++] = (uint8_t)w;
    }
    return (long)o;
}

/* ------------------------------------------------------------------ */
/* GPT-2 byte <-> unicode mapping                                       */
/* ------------------------------------------------------------------ */

static int g_u2b[324];   /* code point (< 324) -> byte, -1 if none */

static void init_u2b(void)
{
    /* idempotent; cheap enough to redo (no shared mutable state beyond
     * identical writes) */
    int b2u[256], n = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        b2u[b] = printable ? b : 256 + n++;
    }
    for (int c = 0; c < 324; c++) g_u2b[c] = -1;
    for (int b = 0; b < 256; b++) g_u2b[b2u[b]] = b;
}

/* Decode one UTF-8 code point; returns length or 0 if invalid. */
static size_t utf8_dec(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t l; uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) { l = 2; v = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { l = 3; v = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { l = 4; v = c & 0x07; }
    else return 0;
    if (l > n) return 0;
    for (size_t k = 1; k < l; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[k] & 0x3F);
    }
    *cp = v;
    return l;
}

/* Map a byte-level key back to bytes; returns length or -1 if the key has
 * characters outside the 256-character alphabet. out >= len bytes. */
static long bytelevel_decode(const char *key, size_t len, uint8_t *out)
{
    const uint8_t *s = (const uint8_t *)key;
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp;
        size_t l = utf8_dec(s + i, len - i, &cp);
        if (!l || cp >= 324 || g_u2b[cp] < 0) return -1;
        out[o++] = (uint8_t)g_u2b[cp];
        i += l;
    }
    return (long)o;
}

/* ------------------------------------------------------------------ */
/* .tiktoken rank files                                                 */
/* ------------------------------------------------------------------ */

static int add_specials_obj(lt_tiktoken *t, json_object *obj, const char *what, char *err, size_t errlen)
{
    json_object_object_foreach(obj, key, val) {
        if (!json_object_is_type(val, json_type_int)) {
            set_err(err, errlen, "tiktoken: %s: special token \"%.60s\" has a non-integer id", what, key);
            return -1;
        }
        int64_t id = json_object_get_int64(val);
        if (id < 0 || id > (int64_t)UINT32_MAX) {
            set_err(err, errlen, "tiktoken: %s: special token \"%.60s\" has an invalid id %lld", what,
                    key, (long long)id);
            return -1;
        }
        if (lt_tiktoken_add_special(t, key, strlen(key), (uint32_t)id)) {
            set_err(err, errlen, "tiktoken: %s: cannot add special token \"%.60s\"", what, key);
            return -1;
        }
    }
    return 0;
}

static lt_tiktoken *load_tiktoken_file(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
    /* meta file: path without its last extension + ".meta.json" */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - path) : strlen(path);
    char *meta_path = malloc(stem + 16);
    if (!meta_path) { set_err(err, errlen, "tiktoken: out of memory"); return NULL; }
    memcpy(meta_path, path, stem);
    strcpy(meta_path + stem, ".meta.json");

    json_object *meta = NULL;
    const char *pattern = NULL;
    const enc_def *def = NULL;
    lt_tiktoken *t = NULL;
    uint8_t *tokbuf = NULL;

    if (file_exists(meta_path)) {
        size_t ml;
        char *mb = read_all(meta_path, &ml, err, errlen);
        if (!mb) goto out;
        enum json_tokener_error je;
        meta = json_tokener_parse_verbose(mb, &je);
        free(mb);
        if (!meta || !json_object_is_type(meta, json_type_object)) {
            set_err(err, errlen, "tiktoken: '%s' is not a JSON object (%s)", meta_path,
                    meta ? "wrong type" : json_tokener_error_desc(je));
            goto out;
        }
        json_object *ps;
        if (json_object_object_get_ex(meta, "pat_str", &ps)) {
            if (!json_object_is_type(ps, json_type_string)) {
                set_err(err, errlen, "tiktoken: '%s': pat_str is not a string", meta_path);
                goto out;
            }
            pattern = json_object_get_string(ps);
        }
    }
    if (!pattern || !meta) {
        for (size_t i = 0; i < sizeof(builtin_encodings) / sizeof(builtin_encodings[0]); i++)
            if (strstr(base, builtin_encodings[i].key)) { def = &builtin_encodings[i]; break; }
        if (!def) {
            set_err(err, errlen,
                    "tiktoken: no pattern for '%s': write %s with pat_str and special_tokens "
                    "(the file name does not name a known encoding)", path, meta_path);
            goto out;
        }
        if (!pattern) pattern = def->pattern;
    }
    t = lt_tiktoken_new(pattern, err, errlen);
    if (!t) goto out;

    /* rank lines */
    tokbuf = malloc(len / 4 * 3 + 8);
    if (!tokbuf) { set_err(err, errlen, "tiktoken: out of memory"); goto fail; }
    size_t i = 0, line = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && buf[e] != '\n') e++;
        line++;
        size_t a = i, b = e;
        i = e + 1;
        while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\r')) a++;
        while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\r')) b--;
        if (a == b) continue;  /* blank line */
        size_t te = a;
        while (te < b && buf[te] != ' ' && buf[te] != '\t') te++;
        size_t rs = te;
        while (rs < b && (buf[rs] == ' ' || buf[rs] == '\t')) rs++;
        if (rs == b) {
            set_err(err, errlen, "tiktoken: %s:%zu: expected 'base64-token rank'", path, line);
            goto fail;
        }
        long bl = b64_decode(buf + a, te - a, tokbuf);
        if (bl <= 0) {
            set_err(err, errlen, "tiktoken: %s:%zu: invalid base64 token \"%.*s\"", path, line,
                    (int)((te - a) > 40 ? 40 : (te - a)), buf + a);
            goto fail;
        }
        uint64_t rank = 0;
        for (size_t k = rs; k < b; k++) {
            if (buf[k] < '0' || buf[k] > '9' || rank > UINT32_MAX / 10) {
                set_err(err, errlen, "tiktoken: %s:%zu: invalid rank \"%.*s\"", path, line,
                        (int)((b - rs) > 20 ? 20 : (b - rs)), buf + rs);
                goto fail;
            }
            rank = rank * 10 + (uint64_t)(buf[k] - '0');
        }
        if (rank >= UINT32_MAX) {
            set_err(err, errlen, "tiktoken: %s:%zu: rank out of range", path, line);
            goto fail;
        }
        if (lt_tiktoken_add_rank(t, tokbuf, (size_t)bl, (uint32_t)rank)) {
            set_err(err, errlen, "tiktoken: out of memory");
            goto fail;
        }
    }
    if (lt_tiktoken_n_ranks(t) == 0) {
        set_err(err, errlen, "tiktoken: %s: no ranks found", path);
        goto fail;
    }
    /* specials */
    json_object *st = NULL;
    if (meta && json_object_object_get_ex(meta, "special_tokens", &st) && st &&
        !json_object_is_type(st, json_type_null)) {
        if (!json_object_is_type(st, json_type_object)) {
            set_err(err, errlen, "tiktoken: '%s': special_tokens is not an object", meta_path);
            goto fail;
        }
        if (add_specials_obj(t, st, meta_path, err, errlen)) goto fail;
    } else if (def) {
        for (size_t k = 0; k < 6 && def->specials[k].text; k++)
            if (lt_tiktoken_add_special(t, def->specials[k].text, strlen(def->specials[k].text),
                                        def->specials[k].id)) {
                set_err(err, errlen, "tiktoken: out of memory");
                goto fail;
            }
    }
    {
        char fe[256];
        if (lt_tiktoken_finalize(t, fe, sizeof fe)) {
            set_err(err, errlen, "%s (in %s)", fe, path);
            goto fail;
        }
    }
    goto out;
fail:
    lt_tiktoken_free(t);
    t = NULL;
out:
    free(tokbuf);
    free(meta_path);
    if (meta) json_object_put(meta);
    return t;
}

/* ------------------------------------------------------------------ */
/* Hugging Face tokenizer.json                                          */
/* ------------------------------------------------------------------ */

static const char *jtype(json_object *o)
{
    return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/* Does `o` (a pre_tokenizer or decoder) contain a ByteLevel step? */
static int has_bytelevel(json_object *o, const char *listkey)
{
    if (!o || !json_object_is_type(o, json_type_object)) return 0;
    json_object *ty, *lst;
    if (json_object_object_get_ex(o, "type", &ty) && json_object_is_type(ty, json_type_string) &&
        strcmp(json_object_get_string(ty), "ByteLevel") == 0)
        return 1;
    if (json_object_object_get_ex(o, listkey, &lst) && json_object_is_type(lst, json_type_array)) {
        size_t n = json_object_array_length(lst);
        for (size_t i = 0; i < n; i++)
            if (has_bytelevel(json_object_array_get_idx(lst, i), listkey)) return 1;
    }
    return 0;
}

/* Escape a literal string as a regex. Caller frees. */
static char *regex_escape(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n * 2 + 1), *p = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strchr("\\^$.|?*+()[]{}", s[i])) *p++ = '\\';
        *p++ = s[i];
    }
    *p = 0;
    return o;
}

/* Find the pre-tokenizer pattern: first Split (Regex or String), else GPT-2
 * pattern for ByteLevel with use_regex.  Returns malloc'd string or NULL. */
static char *find_pattern(json_object *pre, int *bytelevel_regex)
{
    if (!pre || !json_object_is_type(pre, json_type_object)) return NULL;
    json_object *ty;
    if (!json_object_object_get_ex(pre, "type", &ty) || !json_object_is_type(ty, json_type_string))
        return NULL;
    const char *type = json_object_get_string(ty);
    if (strcmp(type, "Split") == 0) {
        json_object *pat, *x;
        if (json_object_object_get_ex(pre, "pattern", &pat) && json_object_is_type(pat, json_type_object)) {
            if (json_object_object_get_ex(pat, "Regex", &x) && json_object_is_type(x, json_type_string))
                return strdup(json_object_get_string(x));
            if (json_object_object_get_ex(pat, "String", &x) && json_object_is_type(x, json_type_string))
                return regex_escape(json_object_get_string(x));
        }
        return NULL;
    }
    if (strcmp(type, "Sequence") == 0) {
        json_object *lst;
        if (json_object_object_get_ex(pre, "pretokenizers", &lst) && json_object_is_type(lst, json_type_array)) {
            size_t n = json_object_array_length(lst);
            for (size_t i = 0; i < n; i++) {
                char *p = find_pattern(json_object_array_get_idx(lst, i), bytelevel_regex);
                if (p) return p;
            }
        }
        return NULL;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        json_object *ur;
        int use_regex = 1;
        if (json_object_object_get_ex(pre, "use_regex", &ur) && json_object_is_type(ur, json_type_boolean))
            use_regex = json_object_get_boolean(ur);
        if (use_regex) *bytelevel_regex = 1;
    }
    return NULL;
}

/* byte_level: 1 yes, 0 no, -1 detect from the keys. */
static lt_tiktoken *build_hf(json_object *vocab, json_object *added, json_object *merges,
                             const char *pattern, int byte_level, const char *what,
                             char *err, size_t errlen)
{
    init_u2b();
    if (!vocab || !json_object_is_type(vocab, json_type_object)) {
        set_err(err, errlen, "tiktoken: %s: vocab must be a JSON object {\"token\": id}, got %s", what, jtype(vocab));
        return NULL;
    }
    size_t maxkey = 1;
    int has_G = 0, all_map = 1;
    {
        json_object_object_foreach(vocab, key, val) {
            size_t kl = strlen(key);
            if (kl > maxkey) maxkey = kl;
            if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 ||
                json_object_get_int64(val) > (int64_t)UINT32_MAX) {
                set_err(err, errlen, "tiktoken: %s: vocab entry \"%.60s\" has no valid integer id (got %s)",
                        what, key, jtype(val));
                return NULL;
            }
        }
    }
    uint8_t *kb = malloc(maxkey + 1);
    if (!kb) { set_err(err, errlen, "tiktoken: out of memory"); return NULL; }
    if (byte_level < 0) {
        json_object_object_foreach(vocab, key, val) {
            (void)val;
            size_t kl = strlen(key);
            if (kl && bytelevel_decode(key, kl, kb) < 0) { all_map = 0; break; }
            if (strstr(key, "\xC4\xA0")) has_G = 1;   /* 'Ġ' = byte-level space */
        }
    }
    if (byte_level < 0) byte_level = all_map && has_G;
    lt_tiktoken *t = lt_tiktoken_new(pattern && *pattern ? pattern : PAT_GPT2, err, errlen);
    if (!t) { free(kb); return NULL; }
    {
        json_object_object_foreach(vocab, key, val) {
            size_t kl = strlen(key);
            uint32_t id = (uint32_t)json_object_get_int64(val);
            int rc;
            if (kl == 0) continue;   /* an empty token can never be produced */
            long bl = byte_level ? bytelevel_decode(key, kl, kb) : -1;
            if (bl > 0) rc = lt_tiktoken_add_rank(t, kb, (size_t)bl, id);
            else if (byte_level) rc = lt_tiktoken_add_special(t, key, kl, id); /* not byte-level: keep as text */
            else rc = lt_tiktoken_add_rank(t, (const uint8_t *)key, kl, id);
            if (rc) { set_err(err, errlen, "tiktoken: out of memory"); goto fail; }
        }
    }
    /* added tokens */
    if (added && !json_object_is_type(added, json_type_null)) {
        if (json_object_is_type(added, json_type_array)) {
            size_t n = json_object_array_length(added);
            for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(added, i), *c, *id;
                if (!it || !json_object_is_type(it, json_type_object) ||
                    !json_object_object_get_ex(it, "content", &c) || !json_object_is_type(c, json_type_string) ||
                    !json_object_object_get_ex(it, "id", &id) || !json_object_is_type(id, json_type_int) ||
                    json_object_get_int64(id) < 0 || json_object_get_int64(id) > (int64_t)UINT32_MAX) {
                    set_err(err, errlen, "tiktoken: %s: added_tokens[%zu] needs a string \"content\" and an integer \"id\"",
                            what, i);
                    goto fail;
                }
                const char *s = json_object_get_string(c);
                size_t sl = (size_t)json_object_get_string_len(c);
                if (sl == 0) continue;
                if (lt_tiktoken_add_special(t, s, sl, (uint32_t)json_object_get_int64(id))) {
                    set_err(err, errlen, "tiktoken: out of memory"); goto fail;
                }
            }
        } else if (json_object_is_type(added, json_type_object)) {
            if (add_specials_obj(t, added, what, err, errlen)) goto fail;
        } else {
            set_err(err, errlen, "tiktoken: %s: added tokens must be an array of {content, id} or an object, got %s",
                    what, jtype(added));
            goto fail;
        }
    }
    {
        char fe[256];
        if (lt_tiktoken_finalize(t, fe, sizeof fe)) {
            set_err(err, errlen, "%s (in %s)", fe, what);
            goto fail;
        }
    }
    /* merges: check only */
    if (merges && json_object_is_type(merges, json_type_array)) {
        size_t n = json_object_array_length(merges);
        size_t cap = 256;
        uint8_t *mb = malloc(cap);
        if (!mb) { set_err(err, errlen, "tiktoken: out of memory"); goto fail; }
        for (size_t i = 0; i < n; i++) {
            json_object *m = json_object_array_get_idx(merges, i);
            const char *a = NULL, *b = NULL; size_t al = 0, bl = 0;
            if (json_object_is_type(m, json_type_string)) {
                const char *s = json_object_get_string(m);
                const char *sp = strchr(s, ' ');
                if (sp && sp != s && sp[1] && !strchr(sp + 1, ' ')) { a = s; al = (size_t)(sp - s); b = sp + 1; bl = strlen(b); }
            } else if (json_object_is_type(m, json_type_array) && json_object_array_length(m) == 2) {
                json_object *x = json_object_array_get_idx(m, 0), *y = json_object_array_get_idx(m, 1);
                if (json_object_is_type(x, json_type_string) && json_object_is_type(y, json_type_string)) {
                    a = json_object_get_string(x); al = strlen(a);
                    b = json_object_get_string(y); bl = strlen(b);
                }
            }
            if (!a || !al || !bl) {
                set_err(err, errlen, "tiktoken: %s: model.merges[%zu] is not \"a b\" or [\"a\", \"b\"]", what, i);
                free(mb); goto fail;
            }
            if (al + bl > cap) {
                while (al + bl > cap) cap *= 2;
                uint8_t *nm = realloc(mb, cap);
                if (!nm) { free(mb); set_err(err, errlen, "tiktoken: out of memory"); goto fail; }
                mb = nm;
            }
            long x, y;
            if (byte_level) {
                x = bytelevel_decode(a, al, mb);
                y = x < 0 ? -1 : bytelevel_decode(b, bl, mb + x);
            } else { memcpy(mb, a, al); memcpy(mb + al, b, bl); x = (long)al; y = (long)bl; }
            uint32_t ida, idb, idc;
            if (x <= 0 || y <= 0 ||
                lt_tiktoken_encode_single_token(t, mb, (size_t)x, &ida) ||
                lt_tiktoken_encode_single_token(t, mb + x, (size_t)y, &idb) ||
                lt_tiktoken_encode_single_token(t, mb, (size_t)(x + y), &idc)) {
                set_err(err, errlen, "tiktoken: %s: model.merges[%zu] \"%.*s %.*s\": a part or the merged token is not in the vocab",
                        what, i, (int)(al > 40 ? 40 : al), a, (int)(bl > 40 ? 40 : bl), b);
                free(mb); goto fail;
            }
        }
        free(mb);
    }
    free(kb);
    return t;
fail:
    free(kb);
    lt_tiktoken_free(t);
    return NULL;
}

static lt_tiktoken *load_hf_json(const char *path, const char *buf, size_t len, char *err, size_t errlen)
{
    json_tokener *tk = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (!tk) { set_err(err, errlen, "tiktoken: out of memory"); return NULL; }
    json_object *root = json_tokener_parse_ex(tk, buf, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tk);
    size_t off = json_tokener_get_parse_end(tk);
    json_tokener_free(tk);
    if (!root || je != json_tokener_success) {
        set_err(err, errlen, "tiktoken: '%s' is not valid JSON near byte %zu: %s", path, off,
                je == json_tokener_continue ? "unexpected end of file" : json_tokener_error_desc(je));
        if (root) json_object_put(root);
        return NULL;
    }
    lt_tiktoken *t = NULL;
    char *pattern = NULL;
    json_object *model, *ty, *vocab = NULL, *merges = NULL, *added = NULL, *pre = NULL, *dec = NULL;
    if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "model", &model) ||
        !json_object_is_type(model, json_type_object)) {
        set_err(err, errlen, "tiktoken: '%s': no \"model\" object (not a tokenizer.json)", path);
        goto out;
    }
    if (json_object_object_get_ex(model, "type", &ty) &&
        (!json_object_is_type(ty, json_type_string) || strcmp(json_object_get_string(ty), "BPE") != 0)) {
        set_err(err, errlen, "tiktoken: '%s': model.type is %s, only BPE is supported", path,
                json_object_is_type(ty, json_type_string) ? json_object_get_string(ty) : jtype(ty));
        goto out;
    }
    if (!json_object_object_get_ex(model, "vocab", &vocab) || !json_object_is_type(vocab, json_type_object)) {
        set_err(err, errlen, "tiktoken: '%s': model.vocab missing or not an object", path);
        goto out;
    }
    json_object_object_get_ex(model, "merges", &merges);
    json_object_object_get_ex(root, "added_tokens", &added);
    json_object_object_get_ex(root, "pre_tokenizer", &pre);
    json_object_object_get_ex(root, "decoder", &dec);
    int bl_regex = 0;
    pattern = find_pattern(pre, &bl_regex);
    int byte_level = (has_bytelevel(pre, "pretokenizers") || has_bytelevel(dec, "decoders")) ? 1 : -1;
    if (!pattern) {
        if (!bl_regex) {
            set_err(err, errlen,
                    "tiktoken: '%s': no Split regex or ByteLevel(use_regex) pre-tokenizer: not a byte-level "
                    "BPE tokenizer (SentencePiece-style vocabularies need the sentencepiece tokenizer)", path);
            goto out;
        }
        pattern = strdup(PAT_GPT2);
        if (!pattern) { set_err(err, errlen, "tiktoken: out of memory"); goto out; }
    }
    t = build_hf(vocab, added, merges, pattern, byte_level, path, err, errlen);
out:
    free(pattern);
    json_object_put(root);
    return t;
}

lt_tiktoken *lt_tiktoken_load_file(const char *path, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!path) { set_err(err, errlen, "tiktoken: path is NULL"); return NULL; }
    size_t len;
    char *buf = read_all(path, &len, err, errlen);
    if (!buf) return NULL;
    size_t i = 0;
    if (len >= 3 && (uint8_t)buf[0] == 0xEF && (uint8_t)buf[1] == 0xBB && (uint8_t)buf[2] == 0xBF) i = 3;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
    lt_tiktoken *t;
    if (i == len) { set_err(err, errlen, "tiktoken: '%s' is empty", path); t = NULL; }
    else if (buf[i] == '{') t = load_hf_json(path, buf + i, len - i, err, errlen);
    else t = load_tiktoken_file(path, buf, len, err, errlen);
    free(buf);
    return t;
}

static json_object *parse_text(const char *txt, const char *what, char *err, size_t errlen, int *bad)
{
    *bad = 0;
    if (!txt) return NULL;
    json_tokener *tk = json_tokener_new();
    if (!tk) { *bad = 1; set_err(err, errlen, "tiktoken: out of memory"); return NULL; }
    size_t n = strlen(txt);
    json_object *o = json_tokener_parse_ex(tk, txt, (int)n);
    enum json_tokener_error je = json_tokener_get_error(tk);
    size_t off = json_tokener_get_parse_end(tk);
    json_tokener_free(tk);
    if (!o && je == json_tokener_success) return NULL;   /* literal null */
    if (je != json_tokener_success) {
        *bad = 1;
        set_err(err, errlen, "tiktoken: %s is not valid JSON near byte %zu: %s", what, off,
                je == json_tokener_continue ? "unexpected end of text" : json_tokener_error_desc(je));
        if (o) json_object_put(o);
        return NULL;
    }
    return o;
}

lt_tiktoken *lt_tiktoken_from_hf_parts(const char *vocab_json, const char *added_tokens_json,
                                       const char *pattern, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!vocab_json) { set_err(err, errlen, "tiktoken: vocab JSON is NULL"); return NULL; }
    int bad;
    json_object *vocab = parse_text(vocab_json, "vocab", err, errlen, &bad);
    if (bad) return NULL;
    json_object *added = NULL;
    if (added_tokens_json && *added_tokens_json) {
        added = parse_text(added_tokens_json, "added_tokens", err, errlen, &bad);
        if (bad) { if (vocab) json_object_put(vocab); return NULL; }
    }
    lt_tiktoken *t = build_hf(vocab, added, NULL, pattern, -1, "from_hf_parts", err, errlen);
    if (vocab) json_object_put(vocab);
    if (added) json_object_put(added);
    return t;
}
