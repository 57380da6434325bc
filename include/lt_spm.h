/* lt_spm.h - a plain C API over SentencePiece (shim/spm/spm.cpp -> liblt_spm.so).
 *
 * Why a separate shared object: Debian's libsentencepiece carries its own
 * protobuf-lite generated code, which clashes with the full libprotobuf that
 * libtorch loads (a segfault in a static initialiser when both are in one link
 * namespace). liblt_spm.so links ONLY sentencepiece (never libtorch) and
 * liblispe_torch loads it at run time with dlmopen(LM_ID_NEWLM, ...), so it
 * gets its own copies of libsentencepiece, libstdc++ and libc in a separate
 * link namespace (src/tokenizers/spm_dl.c). Nothing of C++ crosses this API.
 *
 * Memory: everything returned through an out-parameter (ids, text, piece
 * buffers, messages) is allocated by the namespace's own malloc and must be
 * released with lt_spm_free_mem, never with the caller's free (each link
 * namespace has its own heap). Input pointers are borrowed.
 *
 * Errors: functions returning int give 0 on success and -1 on error; the
 * message is then in lt_spm_last_error() (thread-local, owned by the shim,
 * valid until the next call on the same thread: copy it at once).
 * Nothing throws across this API.
 *
 * Threads: a loaded model is read-only; encode/decode/lookup may run from any
 * number of threads at once. lt_spm_free must not race with other uses.
 *
 * Every symbol here is looked up by name with dlsym: keep the names stable
 * and bump LT_SPM_API_VERSION on any change of a signature.
 */
#ifndef LT_SPM_H
#define LT_SPM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_SPM_API_VERSION 1

typedef struct lt_spm lt_spm; /* a loaded SentencePiece model */

/* LT_SPM_API_VERSION the library was built with. */
int lt_spm_api_version(void);
/* Version text of the SentencePiece build ("0.1.97"), static. */
const char *lt_spm_version(void);
/* Thread-local message of the last failure (never NULL). */
const char *lt_spm_last_error(void);
/* Releases anything this API returned through an out-parameter (NULL ok). */
void lt_spm_free_mem(void *p);

/* Loads a .model file. */
int lt_spm_load(const char *path, lt_spm **out);
/* Loads a model from the bytes of a .model file. */
int lt_spm_load_bytes(const void *data, size_t len, lt_spm **out);
void lt_spm_free(lt_spm *m); /* NULL ok */

/* Ids of `len` bytes of `text` (any bytes; invalid UTF-8 is handled by
 * SentencePiece's normalizer). *ids (n entries) is never NULL on success. */
int lt_spm_encode_ids(const lt_spm *m, const char *text, size_t len, int32_t **ids, size_t *n);
/* Pieces of the text: *buf holds *n pieces, each followed by a NUL
 * (total *buflen bytes, NULs included). */
int lt_spm_encode_pieces(const lt_spm *m, const char *text, size_t len, char **buf,
                         size_t *buflen, size_t *n);
/* Text of ids; every id must be in [0, vocab size) (else an error naming the
 * id and its position). *text is NUL-terminated, *len excludes the NUL. */
int lt_spm_decode_ids(const lt_spm *m, const int32_t *ids, size_t n, char **text, size_t *len);

/* Number of pieces (ids are 0 .. size-1). */
int lt_spm_vocab_size(const lt_spm *m);
/* Id of a piece, or the unknown id when it is not in the vocabulary;
 * *is_unknown tells which (may be NULL). */
int lt_spm_piece_to_id(const lt_spm *m, const char *piece, size_t len, int32_t *id, int *is_unknown);
/* Piece text of an id (out of range: error). NUL-terminated. */
int lt_spm_id_to_piece(const lt_spm *m, int32_t id, char **piece, size_t *len);
/* Reserved ids, -1 when the model has none. */
void lt_spm_special_ids(const lt_spm *m, int32_t *bos, int32_t *eos, int32_t *unk, int32_t *pad);
/* 1 for a control (<s>, </s>, <pad>), unknown, unused or byte piece kind. */
int lt_spm_is_control(const lt_spm *m, int32_t id);
int lt_spm_is_unknown(const lt_spm *m, int32_t id);
int lt_spm_is_byte(const lt_spm *m, int32_t id);

/* Trains a model from a text file (one sentence a line) and writes
 * <prefix>.model and <prefix>.vocab. model_type: "bpe", "unigram", "char"
 * or "word". extra_args: more "key=value" options separated by spaces
 * (may be NULL or ""); quiet != 0 silences the trainer's log. On success
 * *message (may be NULL) receives the path of the written model. */
int lt_spm_train(const char *input, const char *prefix, int vocab_size, const char *model_type,
                 const char *extra_args, int quiet, char **message);

#ifdef __cplusplus
}
#endif
#endif
