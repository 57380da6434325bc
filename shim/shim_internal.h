// shim_internal.h - helpers private to shim/ (C++17 over libtorch).
#pragma once
#include <ATen/ATen.h>
#include <torch/version.h>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>
#include "lt_shim.h"

namespace lts {

extern std::atomic<int64_t> live_tensors;
void set_error(const char *msg);

// A handle is the c10::TensorImpl* itself, owning one reference: no heap box
// per result (a malloc/free pair saved on every call).
using ImplPtr = c10::intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>;

// A borrowed view of a handle: an at::Tensor that does not own its reference
// (it gives it back instead of releasing it). Bind it or pass it on, never
// keep it beyond the call; copying it into an at::Tensor takes a reference.
// T() returns it const so that nothing can move the reference out of it.
struct Borrowed : at::Tensor {
  explicit Borrowed(lts_tensor *h)
      : at::Tensor(ImplPtr::reclaim(reinterpret_cast<c10::TensorImpl *>(h))) {}
  ~Borrowed() { (void)unsafeReleaseTensorImpl(); }
  Borrowed(const Borrowed &) = delete;
  Borrowed &operator=(const Borrowed &) = delete;
};
inline const Borrowed T(lts_tensor *h) { return Borrowed(h); }
// An optional handle (NULL = no tensor) as an owned at::Tensor.
inline at::Tensor T_opt(lts_tensor *h) { return h ? at::Tensor(T(h)) : at::Tensor(); }

inline lts_tensor *wrap(at::Tensor t) {
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return reinterpret_cast<lts_tensor *>(t.unsafeReleaseTensorImpl());
}

// malloc'd arrays for the C side: new tensor references, strdup'd strings
lts_tensor **tensor_array(const std::vector<at::Tensor> &v);
char **string_array(const std::vector<std::string> &v);

at::ScalarType to_scalar(lt_dtype dt);
lt_dtype from_scalar(at::ScalarType st);
inline at::IntArrayRef dims_of(const int64_t *d, int n) { return at::IntArrayRef(d, (size_t)n); }
at::TensorOptions options(lt_dtype dt, const char *device);

}  // namespace lts

// Every exported body runs inside this: nothing escapes as an exception.
#define LTS_TRY(...)                                                    \
  try {                                                                 \
    __VA_ARGS__;                                                               \
    return 0;                                                           \
  } catch (const c10::Error &e) {                                       \
    lts::set_error(e.what_without_backtrace());                         \
  } catch (const std::exception &e) {                                   \
    lts::set_error(e.what());                                           \
  } catch (...) {                                                       \
    lts::set_error("unknown C++ exception in libtorch");                \
  }                                                                     \
  return 1;

#define LTS_OUT(...) LTS_TRY(*out = lts::wrap(__VA_ARGS__))
