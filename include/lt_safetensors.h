/* lt_safetensors.h - the safetensors format (https://github.com/huggingface/safetensors)
 * over the lt_value model: a dictionary name -> tensor handle.
 *
 * File layout: 8 bytes little-endian N, N bytes of JSON header (UTF-8, padded
 * with spaces to a multiple of 8), then the byte buffer. The header maps each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end)} (offsets
 * into the byte buffer) and may hold "__metadata__": a string -> string map.
 * Data is little-endian, C order.
 *
 * Writing follows the reference (Rust) writer: tensors sorted by decreasing
 * dtype alignment (I64 F64 F32 I32 BF16 F16 I16 I8 U8 BOOL) then by name,
 * packed without gaps, compact JSON with "__metadata__" first (its keys
 * sorted), header padded with spaces to a multiple of 8. The file goes to
 * path + ".tmp", is flushed to disk, then renamed over path: a failed write
 * leaves an existing file at path unchanged.
 *
 * Reading checks everything before building tensors: header length (at most
 * 100 MB and inside the file), UTF-8 JSON object with nothing but spaces after
 * it, known dtypes, non-negative integer shapes (rank <= 16), offsets that are
 * contiguous from 0 and cover the byte buffer exactly, and shape x dtype size
 * == byte length (overflow-checked). BOOL bytes other than 0 are read as true.
 * Each tensor is read (pread) into its own buffer handed to libtorch without a
 * further copy; no mmap, so a file truncated by another process while it is
 * read gives an error, not a SIGBUS.
 *
 * Every function returns LT_OK, or LT_ERROR with the message in lt_last_error().
 */
#ifndef LT_SAFETENSORS_H
#define LT_SAFETENSORS_H

#include <stddef.h>
#include "lt_value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LT_SAFETENSORS_MAX_HEADER 100000000

/* tensors: a dictionary of tensor handles (borrowed). metadata: NULL, nil or
 * a dictionary whose values are strings (numbers are written as text). */
int lt_safetensors_save(const char *path, const lt_value *tensors, const lt_value *metadata);

/* *tensors receives a new dictionary name -> tensor in file order; metadata
 * (may be NULL) a dictionary string -> string (empty when the file has none).
 * device: NULL for the CPU. On error both are nil. */
int lt_safetensors_load(const char *path, const char *device, lt_value *tensors, lt_value *metadata);

/* The same from bytes in memory. */
int lt_safetensors_load_memory(const void *data, size_t len, const char *device, lt_value *tensors,
                               lt_value *metadata);

/* Only the metadata (reads and checks the header, not the tensors). */
int lt_safetensors_metadata(const char *path, lt_value *metadata);

/* The safetensors name of a dtype ("F32" ...), and the reverse (0 when known). */
const char *lt_safetensors_dtype_name(lt_dtype dt);
int lt_safetensors_dtype_parse(const char *s, lt_dtype *out);

#ifdef __cplusplus
}
#endif
#endif
