/*
 * lt_tiktoken.h -- tiktoken-compatible byte-level BPE tokenizer (C11).
 *
 * Part of lispe_torch.  Implementation: src/tokenizers/tiktoken.c and
 * src/tokenizers/tiktoken_load.c.  Dependencies: PCRE2 (8-bit, JIT when
 * available), json-c, pthreads.  No other project header is needed.
 *
 * What it computes
 * ----------------
 * The same token ids as OpenAI's `tiktoken` (gpt2, r50k_base, p50k_base,
 * cl100k_base, o200k_base, ...) and as Hugging Face `tokenizers` for
 * byte-level BPE tokenizer.json files whose ranks equal their ids (Llama-3,
 * GPT-2, ...):
 *   1. (optional) split the text on allowed special tokens;
 *   2. split each remaining segment into pieces with the pre-tokenizer regex
 *      (PCRE2 with PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, JIT);
 *   3. a piece that is a token is emitted directly; otherwise its bytes are
 *      merged repeatedly at the adjacent pair whose concatenation has the
 *      lowest rank (leftmost on ties), exactly like tiktoken's
 *      byte_pair_encode.
 * Differences, all outside what tiktoken can be given:
 *   - bytes that are not valid UTF-8 never match the regex; every run of
 *     bytes the regex leaves unmatched ("gap") is BPE-encoded as one piece,
 *     so every input byte ends up in some token (tiktoken would drop text
 *     its regex does not cover; Hugging Face's Split "Isolated" keeps it, as
 *     here).
 *   - `\s` (and `\S` outside character classes) in the pattern are
 *     rewritten to Unicode White_Space, as in Rust's regex crate used by
 *     tiktoken, instead of PCRE2's own definition (which also includes
 *     U+180E); should the rewritten pattern not compile, PCRE2's \s is kept.
 *   - when two special tokens start at the same position, the longest one
 *     wins (tiktoken's choice depends on hash order).
 *
 * Ownership
 * ---------
 *   - lt_tiktoken objects come from lt_tiktoken_new / lt_tiktoken_load_file
 *     / lt_tiktoken_from_hf_parts and are released with lt_tiktoken_free.
 *   - Arrays returned through `out` parameters (ids, bytes, text, batch
 *     arrays) are allocated with malloc and belong to the caller, who
 *     releases them with free() (or lt_tiktoken_free_batch for batches).
 *     On error nothing is returned and nothing needs freeing.
 *   - `const` pointers returned by accessors (decode_single, pattern,
 *     token_byte_value, special_at, list_meta) are borrowed: they stay valid
 *     until lt_tiktoken_free (meta pointers: until the meta entry is changed
 *     or removed).  Never free them.
 *   - Input strings are copied; the caller keeps ownership of its buffers.
 *
 * Thread safety
 * -------------
 *   - Building (lt_tiktoken_add_rank, add_special, finalize) and the meta
 *     functions (set_space, add_meta, remove_meta, clear_meta) modify the
 *     object: call them from one thread, with no concurrent use.
 *   - After lt_tiktoken_finalize (the loaders finalize for you), encode,
 *     encode_batch, decode_bytes, decode_single, decode_text, vocab_size,
 *     token_byte_value, special lookups and list_meta only read the object
 *     and may be called from any number of threads at once.  Each encode
 *     call uses its own PCRE2 match data.
 *
 * Errors
 * ------
 * Functions returning a pointer return NULL on error; functions returning
 * int return 0 on success and a negative LT_TIKTOKEN_E* code on error.
 * When a function takes (char *err, size_t errlen), a NUL-terminated message
 * is written there on error (err may be NULL; messages are truncated to
 * errlen).  lt_tiktoken_strerror gives a text for every code.
 */
#ifndef LT_TIKTOKEN_H
#define LT_TIKTOKEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lt_tiktoken lt_tiktoken;

/* Error codes (negative return values). */
#define LT_TIKTOKEN_OK            0
#define LT_TIKTOKEN_ENOMEM       (-1)  /* out of memory                            */
#define LT_TIKTOKEN_EINVAL       (-2)  /* bad argument (NULL pointer, bad length)  */
#define LT_TIKTOKEN_ESTATE       (-3)  /* not finalized yet / already finalized    */
#define LT_TIKTOKEN_ENOTOKEN     (-4)  /* some input bytes have no token           */
#define LT_TIKTOKEN_EREGEX       (-5)  /* regex matching failed (PCRE2 error)      */
#define LT_TIKTOKEN_EUNKNOWN_ID  (-6)  /* id not in the vocabulary (decode)        */
#define LT_TIKTOKEN_EDUP         (-7)  /* duplicate entry                          */
#define LT_TIKTOKEN_ETHREAD      (-8)  /* thread creation failed                   */
#define LT_TIKTOKEN_ENOTFOUND    (-9)  /* lookup failed (meta, special)            */

/* Static text for an error code (never NULL, never to be freed). */
const char *lt_tiktoken_strerror(int code);

/* ------------------------------------------------------------------ */
/* Building                                                             */
/* ------------------------------------------------------------------ */

/* New empty tokenizer using `pattern` (UTF-8 regex, PCRE2 syntax, as in
 * tiktoken's pat_str / tokenizer.json Split.Regex).  Compiled with
 * PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF and JIT-compiled when the
 * platform supports it.  Bad pattern -> NULL and a message naming the
 * problem and its offset.  Add ranks and specials, then call
 * lt_tiktoken_finalize before encoding/decoding. */
lt_tiktoken *lt_tiktoken_new(const char *pattern, char *err, size_t errlen);

/* Add a mergeable token: its raw bytes and its rank (= token id).  len >= 1.
 * Ranks need not be added in order.  Before finalize only. */
int lt_tiktoken_add_rank(lt_tiktoken *tok, const uint8_t *bytes, size_t len,
                         uint32_t rank);

/* Add a special token (text matched literally when specials are allowed in
 * encode; decodes to its text).  len >= 1.  Before finalize only. */
int lt_tiktoken_add_special(lt_tiktoken *tok, const char *text, size_t len,
                            uint32_t id);

/* Build the hash tables and the decoder.  Fails (LT_TIKTOKEN_EDUP) when two
 * ranks share the same bytes with different ids, when two ranks share an id
 * with different bytes, or on a duplicated special text; ids must be below
 * 2^26.  Encoding and decoding are only allowed after this succeeded. */
int lt_tiktoken_finalize(lt_tiktoken *tok, char *err, size_t errlen);

/* Load a tokenizer from a file (already finalized):
 *  (a) a Hugging Face tokenizer.json (first non-blank char '{'): model.type
 *      "BPE"; model.vocab gives rank = id for every token; byte-level
 *      vocabularies (ByteLevel pre-tokenizer or decoder, or the GPT-2
 *      byte-to-unicode alphabet with 'Ġ') have their keys mapped back to
 *      raw bytes, other vocabularies use the keys' UTF-8 bytes; every
 *      model.merges entry is checked (its two parts and their concatenation
 *      must be tokens) but otherwise unused; added_tokens become special
 *      tokens; the pattern is the first Split Regex (or String) found in
 *      pre_tokenizer, looking inside Sequence pre-tokenizers, else the GPT-2
 *      pattern when a ByteLevel pre-tokenizer has use_regex = true.
 *      Split behaviours other than "Isolated", "invert", the normalizer,
 *      the post_processor and ByteLevel's add_prefix_space are ignored
 *      (byte-level tokenizers such as Llama-3 and GPT-2 use none that
 *      matters); all added tokens, special or not, become special tokens
 *      (matched only when encode allows specials).  A tokenizer.json without
 *      a Split regex nor a ByteLevel(use_regex) step (SentencePiece-style
 *      BPE such as Mistral's) is refused with a message.  In a byte-level
 *      vocabulary, a key outside the byte-to-unicode alphabet is kept as a
 *      special token (decodable, never produced by BPE).
 *  (b) an OpenAI .tiktoken rank file (`base64(token) rank` per line), with
 *      pattern and special tokens from the sibling `<name>.meta.json`
 *      (fields pat_str, special_tokens) where <name> is the path without its
 *      last extension; without that file, a built-in pattern and specials are
 *      chosen when the file name contains o200k, cl100k, p50k_edit, p50k,
 *      r50k or gpt2 (checked in that order).
 * Returns NULL with a message (file name, line or JSON path) on error. */
lt_tiktoken *lt_tiktoken_load_file(const char *path, char *err, size_t errlen);

/* Build from the three pieces a LispE script takes out of a tokenizer.json:
 *  vocab_json        : the model.vocab object as JSON text ({"token": id});
 *                      byte-level (GPT-2 byte-to-unicode) keys are detected
 *                      and mapped back to bytes, as in lt_tiktoken_load_file.
 *  added_tokens_json : the added_tokens array as JSON text (objects with
 *                      "content" and "id"), or a {"token": id} object, or
 *                      NULL / "" / "null" for none.
 *  pattern           : the pre-tokenizer regex; NULL or "" selects the GPT-2
 *                      pattern.
 * Returns a finalized tokenizer or NULL with a message. */
lt_tiktoken *lt_tiktoken_from_hf_parts(const char *vocab_json,
                                       const char *added_tokens_json,
                                       const char *pattern,
                                       char *err, size_t errlen);

/* Release everything (NULL is accepted). */
void lt_tiktoken_free(lt_tiktoken *tok);

/* Tuning/testing knob: pieces longer than `n` bytes use the O(n log n)
 * heap-based merge, shorter ones the linear-scan merge (same result; default
 * 128).  0 forces the heap path for every piece.  Not thread-safe: set it
 * before sharing the object. */
void lt_tiktoken_set_linear_max(lt_tiktoken *tok, size_t n);

/* ------------------------------------------------------------------ */
/* Encoding                                                             */
/* ------------------------------------------------------------------ */

/* Encode `len` bytes of `text` (any bytes; invalid UTF-8 is encoded byte
 * level).  Special tokens:
 *   allow_all_special != 0          : every special token text is split out
 *                                     and encoded as its id (tiktoken's
 *                                     encode(text, allowed_special="all")).
 *   n_allowed > 0                   : only the NUL-terminated texts in
 *                                     allowed_special[0..n_allowed) are.
 *   allow_all_special == 0 and
 *   n_allowed == 0                  : ordinary encoding, special token text
 *                                     is plain text (encode_ordinary).
 * Unlike tiktoken, disallowed special text never raises: it is plain text.
 * On success *out_ids is a malloc'd array of *out_n ids (caller free()s it;
 * never NULL on success, even for 0 ids).  Returns 0 or a negative code
 * (LT_TIKTOKEN_ENOTOKEN when a byte has no token in a non byte-level
 * vocabulary). */
int lt_tiktoken_encode(const lt_tiktoken *tok, const char *text, size_t len,
                       int allow_all_special,
                       const char *const *allowed_special, size_t n_allowed,
                       uint32_t **out_ids, size_t *out_n);

/* Ordinary encoding of a NUL-terminated string (convenience). */
int lt_tiktoken_encode_ordinary(const lt_tiktoken *tok, const char *text,
                                uint32_t **out_ids, size_t *out_n);

/* Encode n texts with n_threads POSIX threads (n_threads <= 0: number of
 * online CPUs; never more threads than texts).  lens may be NULL (texts are
 * then NUL-terminated).  On success *out_ids is a malloc'd array of n
 * malloc'd id arrays and *out_ns a malloc'd array of their lengths; release
 * with lt_tiktoken_free_batch(*out_ids, *out_ns, n).  On error nothing is
 * returned (first error code of any text). */
int lt_tiktoken_encode_batch(const lt_tiktoken *tok, const char *const *texts,
                             const size_t *lens, size_t n,
                             int allow_all_special, int n_threads,
                             uint32_t ***out_ids, size_t **out_ns);
void lt_tiktoken_free_batch(uint32_t **ids, size_t *ns, size_t n);

/* tiktoken's encode_single_token: id of exactly these bytes, as a
 * mergeable token or a special token.  0, or LT_TIKTOKEN_ENOTFOUND. */
int lt_tiktoken_encode_single_token(const lt_tiktoken *tok,
                                    const uint8_t *bytes, size_t len,
                                    uint32_t *id);

/* Id of a special token text, or -1 when it is not one (the old binding's
 * tiktoken_special_encode). */
int64_t lt_tiktoken_special_id(const lt_tiktoken *tok, const char *text,
                               size_t len);

/* ------------------------------------------------------------------ */
/* Decoding                                                             */
/* ------------------------------------------------------------------ */

/* Concatenated bytes of the ids (specials decode to their text).  *out is
 * malloc'd (caller free()s), NUL-terminated for convenience (the NUL is not
 * counted in *out_len).  Unknown id -> LT_TIKTOKEN_EUNKNOWN_ID and a message
 * naming the id and its position. */
int lt_tiktoken_decode_bytes(const lt_tiktoken *tok, const uint32_t *ids,
                             size_t n, uint8_t **out, size_t *out_len,
                             char *err, size_t errlen);

/* Bytes of one id (tiktoken's decode_single_token_bytes).  *bytes is
 * borrowed from the tokenizer (valid until lt_tiktoken_free, not
 * NUL-terminated).  Unknown id -> LT_TIKTOKEN_EUNKNOWN_ID. */
int lt_tiktoken_decode_single(const lt_tiktoken *tok, uint32_t id,
                              const uint8_t **bytes, size_t *len);

/* Decode as text: the bytes of decode_bytes made valid UTF-8 the way
 * Python's bytes.decode("utf-8", errors="replace") does (each maximal
 * invalid subpart becomes U+FFFD), then the meta-character replacements are
 * applied (see below; none by default).  *out is malloc'd, NUL-terminated. */
int lt_tiktoken_decode_text(const lt_tiktoken *tok, const uint32_t *ids,
                            size_t n, char **out, size_t *out_len,
                            char *err, size_t errlen);

/* Python-compatible UTF-8 repair of any byte string (errors="replace"),
 * without meta replacement.  *out malloc'd, NUL-terminated. */
int lt_tiktoken_utf8_replace(const uint8_t *in, size_t len, char **out,
                             size_t *out_len);

/* ------------------------------------------------------------------ */
/* Vocabulary                                                           */
/* ------------------------------------------------------------------ */

/* max id + 1 over ranks and specials (0 when empty or not finalized). */
size_t lt_tiktoken_vocab_size(const lt_tiktoken *tok);
/* Number of mergeable ranks / of special tokens. */
size_t lt_tiktoken_n_ranks(const lt_tiktoken *tok);
size_t lt_tiktoken_n_special(const lt_tiktoken *tok);

/* tiktoken's token_byte_values(): the i-th mergeable token's bytes, in
 * ascending byte-wise (memcmp, shorter first on a common prefix) order,
 * 0 <= i < lt_tiktoken_n_ranks.  Borrowed pointer.  id may be NULL. */
int lt_tiktoken_token_byte_value(const lt_tiktoken *tok, size_t i,
                                 const uint8_t **bytes, size_t *len,
                                 uint32_t *id);

/* i-th special token (in order of addition): borrowed text, length, id. */
int lt_tiktoken_special_at(const lt_tiktoken *tok, size_t i,
                           const char **text, size_t *len, uint32_t *id);

/* The pattern as given to lt_tiktoken_new (borrowed, NUL-terminated). */
const char *lt_tiktoken_pattern(const lt_tiktoken *tok);

/* ------------------------------------------------------------------ */
/* Meta characters (for the older binding's tiktoken_set_space, ...)   */
/* ------------------------------------------------------------------ */
/* A meta character is a string (usually one UTF-8 character) that some
 * vocabularies use to stand for another text, e.g. SentencePiece's '▁'
 * (U+2581) or GPT-2's 'Ġ' (U+0120) for a space when a vocabulary was loaded
 * without byte-level mapping.  lt_tiktoken_decode_text replaces every
 * occurrence of a meta string in the decoded text by its replacement
 * (scanning left to right, the longest meta matching at a position wins;
 * replaced text is not scanned again).  Encoding and decode_bytes are never
 * affected.  The table is empty by default (byte-level vocabularies decode
 * to real text and need none). */

/* Make `space_meta` (e.g. "▁") decode as " ".  Replaces the meta set by a
 * previous call; NULL or "" removes it.  0 or a negative code. */
int lt_tiktoken_set_space(lt_tiktoken *tok, const char *space_meta);
/* Map `meta` (non-empty) to `replacement` (may be ""); replaces an existing
 * mapping of the same meta. */
int lt_tiktoken_add_meta(lt_tiktoken *tok, const char *meta,
                         const char *replacement);
/* Remove a mapping: 0, or LT_TIKTOKEN_ENOTFOUND when absent. */
int lt_tiktoken_remove_meta(lt_tiktoken *tok, const char *meta);
/* Remove all mappings. */
void lt_tiktoken_clear_meta(lt_tiktoken *tok);
/* Total number of mappings; fills up to `max` borrowed pointers into metas
 * and replacements (either may be NULL when max is 0). */
size_t lt_tiktoken_list_meta(const lt_tiktoken *tok, const char **metas,
                             const char **replacements, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* LT_TIKTOKEN_H */
