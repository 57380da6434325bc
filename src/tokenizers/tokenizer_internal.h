/* tokenizer_internal.h - the tokenizer handle (one kind, three sorts) and the
 * helpers the section 9 files share. Not installed. */
#ifndef LT_TOKENIZER_INTERNAL_H
#define LT_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "lt_internal.h"
#include "lt_spm.h"
#include "lt_tiktoken.h"

typedef enum { LT_TOK_SIMPLE = 1, LT_TOK_SPM, LT_TOK_TIKTOKEN } lt_tok_sort;

typedef struct lt_simple_tok lt_simple_tok; /* simple_tokenizer.c */
typedef struct lt_spm_tok lt_spm_tok;       /* sentencepiece_prims.c */

/* The object behind an LT_H_TOKENIZER handle. */
typedef struct {
  lt_tok_sort sort;
  int refs; /* atomic: one per handle reference */
  union {
    lt_simple_tok *simple;
    lt_spm_tok *spm;
    lt_tiktoken *tk;
  } u;
} lt_tokenizer;

/* A new tokenizer holding one reference; takes `impl` (freed on failure). */
int lt_tokenizer_wrap(lt_tok_sort sort, void *impl, lt_value *out);
const char *lt_tok_sort_name(lt_tok_sort s); /* "a SentencePiece tokenizer" ... */
/* "Simple Tokenizer (vocab size: 4)" ..., malloc'd: for lt_handle_repr. */
char *lt_tokenizer_repr(void *p);

/* Checks that args[i] is a tokenizer (of `sort`, or any sort when 0) and
 * returns it, or fails with a message naming the argument (returns NULL). */
lt_tokenizer *lt_arg_tokenizer(const lt_value *v, int argi, const char *pname, lt_tok_sort sort);

/* Reads token ids from a tensor (1-d, or [1, n]), an integers/numbers buffer,
 * a list of integers or a single integer, into a malloc'd int64 array
 * (*ids never NULL on success). Fails naming the argument. */
int lt_read_ids(const lt_value *v, int argi, const char *pname, int64_t **ids, int64_t *n);

/* Results. Both take `ids` (malloc'd) over, also on failure. */
int lt_out_ids(int64_t *ids, int64_t n, lt_value *out);        /* LispE integers */
int lt_out_ids_tensor(int64_t *ids, int64_t n, lt_value *out); /* int64 1-d tensor */
/* uint32 ids -> LispE integers (frees nothing). */
int lt_out_u32_ids(const uint32_t *ids, size_t n, lt_value *out);
/* bytes -> LispE integers of byte values */
int lt_out_byte_values(const uint8_t *b, size_t n, lt_value *out);

/* ---- the three sorts: encode / decode / vocab size on the generic primitives ---- */
void lt_simple_free(lt_simple_tok *s);
int lt_simple_encode(lt_simple_tok *s, const char *text, size_t len, int64_t **ids, int64_t *n);
int lt_simple_decode(lt_simple_tok *s, const int64_t *ids, int64_t n, int argi, char **text, size_t *len);
int64_t lt_simple_vocab_size(lt_simple_tok *s);

void lt_spm_tok_free(lt_spm_tok *s);
int lt_spm_tok_encode(lt_spm_tok *s, const char *text, size_t len, int64_t **ids, int64_t *n);
int lt_spm_tok_decode(lt_spm_tok *s, const int64_t *ids, int64_t n, int argi, char **text, size_t *len);
int64_t lt_spm_tok_vocab_size(lt_spm_tok *s);

/* tiktoken: ordinary encoding (special token text is plain text) */
int lt_tk_encode(lt_tiktoken *t, const char *text, size_t len, int64_t **ids, int64_t *n);
int lt_tk_decode(lt_tiktoken *t, const int64_t *ids, int64_t n, int argi, char **text, size_t *len);

/* ---- liblt_spm.so in its own link namespace (spm_dl.c) ---- */
typedef struct {
  void *handle;
  int (*api_version)(void);
  const char *(*version)(void);
  const char *(*last_error)(void);
  void (*free_mem)(void *);
  int (*load)(const char *, lt_spm **);
  int (*load_bytes)(const void *, size_t, lt_spm **);
  void (*free_model)(lt_spm *);
  int (*encode_ids)(const lt_spm *, const char *, size_t, int32_t **, size_t *);
  int (*encode_pieces)(const lt_spm *, const char *, size_t, char **, size_t *, size_t *);
  int (*decode_ids)(const lt_spm *, const int32_t *, size_t, char **, size_t *);
  int (*vocab_size)(const lt_spm *);
  int (*piece_to_id)(const lt_spm *, const char *, size_t, int32_t *, int *);
  int (*id_to_piece)(const lt_spm *, int32_t, char **, size_t *);
  void (*special_ids)(const lt_spm *, int32_t *, int32_t *, int32_t *, int32_t *);
  int (*is_control)(const lt_spm *, int32_t);
  int (*is_unknown)(const lt_spm *, int32_t);
  int (*is_byte)(const lt_spm *, int32_t);
  int (*train)(const char *, const char *, int, const char *, const char *, int, char **);
  char path[4096]; /* where it was loaded from */
} lt_spm_api;

/* Loads liblt_spm.so once (next to liblispe_torch.so, else $LT_SPM_LIBRARY)
 * with dlmopen(LM_ID_NEWLM). NULL when unavailable: lt_spm_api_error() says why. */
const lt_spm_api *lt_spm_api_get(void);
const char *lt_spm_api_error(void);

/* Our-heap copies of what the namespace returns (the namespace's memory is
 * released inside). 0 or -1 with the message in err. */
int lt_spm_dl_encode(const lt_spm_api *api, const lt_spm *m, const char *text, size_t len,
                     int64_t **ids, int64_t *n, char *err, size_t errlen);
int lt_spm_dl_encode_pieces(const lt_spm_api *api, const lt_spm *m, const char *text, size_t len,
                            char ***pieces, int64_t *n, char *err, size_t errlen); /* free each + array */
int lt_spm_dl_decode(const lt_spm_api *api, const lt_spm *m, const int32_t *ids, size_t n, char **text,
                     size_t *len, char *err, size_t errlen);
int lt_spm_dl_id_to_piece(const lt_spm_api *api, const lt_spm *m, int32_t id, char **piece, char *err,
                          size_t errlen);
/* Trains in a child process (a crash or exit() inside SentencePiece cannot
 * take the interpreter down). */
int lt_spm_dl_train(const lt_spm_api *api, const char *input, const char *prefix, int vocab_size,
                    const char *model_type, const char *extra_args, int quiet, char *err, size_t errlen);

/* SentencePiece handle helpers for tests (sentencepiece_prims.c). */
const lt_spm *lt_spm_tok_model(const lt_spm_tok *s);

#endif
