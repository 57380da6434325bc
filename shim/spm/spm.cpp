// spm.cpp - liblt_spm.so: the C API of include/lt_spm.h over SentencePiece.
//
// Built as its own shared object that links only sentencepiece (see
// cmake/LtSentencePiece.cmake) and loaded by liblispe_torch with dlmopen in a
// separate link namespace (src/tokenizers/spm_dl.c). Never link it into a
// process that has libtorch in its main namespace.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "lt_spm.h"

namespace sentencepiece {
namespace logging {
// exported by libsentencepiece (not declared in its public headers)
void SetMinLogLevel(int v);
int GetMinLogLevel();
}  // namespace logging
}  // namespace sentencepiece

struct lt_spm {
  sentencepiece::SentencePieceProcessor sp;
  int size = 0;
};

namespace {

thread_local std::string g_error;

int fail(const std::string &msg) {
  g_error = msg;
  return -1;
}

int fail_status(const char *what, const sentencepiece::util::Status &st) {
  return fail(std::string(what) + ": " + st.ToString());
}

// Copies bytes into namespace-malloc'd memory with a trailing NUL.
char *dup_bytes(const char *s, size_t n) {
  char *p = static_cast<char *>(std::malloc(n + 1));
  if (!p) return nullptr;
  if (n) std::memcpy(p, s, n);
  p[n] = 0;
  return p;
}

#define LT_SPM_GUARD_BEGIN try {
#define LT_SPM_GUARD_END                                         \
  }                                                             \
  catch (const std::bad_alloc &) {                              \
    return fail("sentencepiece: out of memory");                \
  }                                                             \
  catch (const std::exception &e) {                             \
    return fail(std::string("sentencepiece: ") + e.what());     \
  }                                                             \
  catch (...) {                                                 \
    return fail("sentencepiece: unknown C++ exception");        \
  }

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int lt_spm_api_version(void) { return LT_SPM_API_VERSION; }

__attribute__((visibility("default"))) const char *lt_spm_version(void) {
#ifdef LT_SPM_VERSION_TEXT
  return LT_SPM_VERSION_TEXT;
#else
  return "unknown";
#endif
}

__attribute__((visibility("default"))) const char *lt_spm_last_error(void) { return g_error.c_str(); }

__attribute__((visibility("default"))) void lt_spm_free_mem(void *p) { std::free(p); }

static int finish_load(lt_spm *m, lt_spm **out) {
  m->size = m->sp.GetPieceSize();
  if (m->size <= 0) {
    delete m;
    return fail("sentencepiece: the model has no pieces");
  }
  *out = m;
  return 0;
}

__attribute__((visibility("default"))) int lt_spm_load(const char *path, lt_spm **out) {
  if (!path || !out) return fail("sentencepiece: NULL argument");
  *out = nullptr;
  LT_SPM_GUARD_BEGIN
  lt_spm *m = new lt_spm();
  auto st = m->sp.Load(path);
  if (!st.ok()) {
    delete m;
    return fail(std::string("cannot load SentencePiece model '") + path + "': " + st.ToString());
  }
  return finish_load(m, out);
  LT_SPM_GUARD_END
}

__attribute__((visibility("default"))) int lt_spm_load_bytes(const void *data, size_t len, lt_spm **out) {
  if (!data || !out) return fail("sentencepiece: NULL argument");
  *out = nullptr;
  LT_SPM_GUARD_BEGIN
  lt_spm *m = new lt_spm();
  auto st = m->sp.LoadFromSerializedProto(std::string(static_cast<const char *>(data), len));
  if (!st.ok()) {
    delete m;
    return fail(std::string("cannot load SentencePiece model from bytes: ") + st.ToString());
  }
  return finish_load(m, out);
  LT_SPM_GUARD_END
}

__attribute__((visibility("default"))) void lt_spm_free(lt_spm *m) { delete m; }

__attribute__((visibility("default"))) int lt_spm_encode_ids(const lt_spm *m, const char *text, size_t len,
                                                             int32_t **ids, size_t *n) {
  if (!m || (!text && len) || !ids || !n) return fail("sentencepiece: NULL argument");
  LT_SPM_GUARD_BEGIN
  std::vector<int> v;
  auto st = m->sp.Encode(std::string_view(text ? text : "", len), &v);
  if (!st.ok()) return fail_status("sentencepiece encode", st);
  int32_t *p = static_cast<int32_t *>(std::malloc(sizeof(int32_t) * (v.size() ? v.size() : 1)));
  if (!p) return fail("sentencepiece: out of memory");
  for (size_t i = 0; i < v.size(); i++) p[i] = v[i];
  *ids = p;
  *n = v.size();
  return 0;
  LT_SPM_GUARD_END
}

__attribute__((visibility("default"))) int lt_spm_encode_pieces(const lt_spm *m, const char *text, size_t len,
                                                                char **buf, size_t *buflen, size_t *n) {
  if (!m || (!text && len) || !buf || !buflen || !n) return fail("sentencepiece: NULL argument");
  LT_SPM_GUARD_BEGIN
  std::vector<std::string> v;
  auto st = m->sp.Encode(std::string_view(text ? text : "", len), &v);
  if (!st.ok()) return fail_status("sentencepiece encode", st);
  size_t total = 0;
  for (auto &s : v) total += s.size() + 1;
  char *p = static_cast<char *>(std::malloc(total ? total : 1));
  if (!p) return fail("sentencepiece: out of memory");
  size_t o = 0;
  for (auto &s : v) {
    std::memcpy(p + o, s.data(), s.size());
    o += s.size();
    p[o++] = 0;
  }
  *buf = p;
  *buflen = total;
  *n = v.size();
  return 0;
  LT_SPM_GUARD_END
}

__attribute__((visibility("default"))) int lt_spm_decode_ids(const lt_spm *m, const int32_t *ids, size_t n,
                                                             char **text, size_t *len) {
  if (!m || (!ids && n) || !text || !len) return fail("sentencepiece: NULL argument");
  LT_SPM_GUARD_BEGIN
  std::vector<int> v(n);
  for (size_t i = 0; i < n; i++) {
    // SentencePiece does not check ids before indexing its piece table.
    if (ids[i] < 0 || ids[i] >= m->size)
      return fail("id " + std::to_string(ids[i]) + " (at position " + std::to_string(i) +
                  ") is outside the vocabulary [0, " + std::to_string(m->size) + ")");
    v[i] = ids[i];
  }
  std::string s;
  auto st = m->sp.Decode(v, &s);
  if (!st.ok()) return fail_status("sentencepiece decode", st);
  char *p = dup_bytes(s.data(), s.size());
  if (!p) return fail("sentencepiece: out of memory");
  *text = p;
  *len = s.size();
  return 0;
  LT_SPM_GUARD_END
}

__attribute__((visibility("default"))) int lt_spm_vocab_size(const lt_spm *m) { return m ? m->size : 0; }

__attribute__((visibility("default"))) int lt_spm_piece_to_id(const lt_spm *m, const char *piece, size_t len,
                                                              int32_t *id, int *is_unknown) {
  if (!m || (!piece && len) || !id) return fail("sentencepiece: NULL argument");
  LT_SPM_GUARD_BEGIN
  std::string_view pv(piece ? piece : "", len);
  int r = m->sp.PieceToId(pv);
  *id = r;
  if (is_unknown) {
    // PieceToId answers unk for a missing piece: tell it from the real "<unk>"
    *is_unknown = m->sp.IsUnknown(r) && m->sp.IdToPiece(r) != pv;
  }
  return 0;
  LT_SPM_GUARD_END
}

__attribute__((visibility("default"))) int lt_spm_id_to_piece(const lt_spm *m, int32_t id, char **piece,
                                                              size_t *len) {
  if (!m || !piece || !len) return fail("sentencepiece: NULL argument");
  if (id < 0 || id >= m->size)
    return fail("id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(m->size) + ")");
  LT_SPM_GUARD_BEGIN
  const std::string &s = m->sp.IdToPiece(id);
  char *p = dup_bytes(s.data(), s.size());
  if (!p) return fail("sentencepiece: out of memory");
  *piece = p;
  *len = s.size();
  return 0;
  LT_SPM_GUARD_END
}

__attribute__((visibility("default"))) void lt_spm_special_ids(const lt_spm *m, int32_t *bos, int32_t *eos,
                                                               int32_t *unk, int32_t *pad) {
  if (bos) *bos = m ? m->sp.bos_id() : -1;
  if (eos) *eos = m ? m->sp.eos_id() : -1;
  if (unk) *unk = m ? m->sp.unk_id() : -1;
  if (pad) *pad = m ? m->sp.pad_id() : -1;
}

__attribute__((visibility("default"))) int lt_spm_is_control(const lt_spm *m, int32_t id) {
  return m && id >= 0 && id < m->size && m->sp.IsControl(id);
}
__attribute__((visibility("default"))) int lt_spm_is_unknown(const lt_spm *m, int32_t id) {
  return m && id >= 0 && id < m->size && m->sp.IsUnknown(id);
}
__attribute__((visibility("default"))) int lt_spm_is_byte(const lt_spm *m, int32_t id) {
  return m && id >= 0 && id < m->size && m->sp.IsByte(id);
}

__attribute__((visibility("default"))) int lt_spm_train(const char *input, const char *prefix, int vocab_size,
                                                        const char *model_type, const char *extra_args,
                                                        int quiet, char **message) {
  if (!input || !prefix || !model_type) return fail("sentencepiece: NULL argument");
  if (message) *message = nullptr;
  LT_SPM_GUARD_BEGIN
  std::unordered_map<std::string, std::string> kw;
  kw["input"] = input;
  kw["model_prefix"] = prefix;
  kw["vocab_size"] = std::to_string(vocab_size);
  kw["model_type"] = model_type;
  if (extra_args) {
    std::string a(extra_args);
    size_t i = 0;
    while (i < a.size()) {
      while (i < a.size() && a[i] == ' ') i++;
      size_t j = a.find(' ', i);
      if (j == std::string::npos) j = a.size();
      if (j > i) {
        std::string kv = a.substr(i, j - i);
        if (kv.rfind("--", 0) == 0) kv = kv.substr(2);
        size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) return fail("sentencepiece train: option '" + kv + "' is not key=value");
        kw[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      i = j;
    }
  }
  int old_level = sentencepiece::logging::GetMinLogLevel();
  if (quiet) sentencepiece::logging::SetMinLogLevel(2);  // errors only
  auto st = sentencepiece::SentencePieceTrainer::Train(kw);
  sentencepiece::logging::SetMinLogLevel(old_level);
  if (!st.ok()) return fail_status("sentencepiece train", st);
  if (message) {
    std::string path = std::string(prefix) + ".model";
    *message = dup_bytes(path.data(), path.size());
  }
  return 0;
  LT_SPM_GUARD_END
}

}  // extern "C"
