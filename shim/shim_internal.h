// shim_internal.h - helpers private to shim/ (C++17 over libtorch).
#pragma once
#include <ATen/ATen.h>
#include <torch/version.h>
#include <atomic>
#include <cstring>
#include <string>
#include "lt_shim.h"

namespace lts {

extern std::atomic<int64_t> live_tensors;
void set_error(const char *msg);

// A handle owns one at::Tensor on the heap.
inline at::Tensor &T(lts_tensor *h) { return *reinterpret_cast<at::Tensor *>(h); }
inline lts_tensor *wrap(at::Tensor t) {
  auto *p = new at::Tensor(std::move(t));
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return reinterpret_cast<lts_tensor *>(p);
}

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
