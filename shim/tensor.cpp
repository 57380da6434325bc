// tensor.cpp - tensor handles, creation, information, conversion.
#include "shim_internal.h"
#include <torch/csrc/autograd/function.h>

namespace lts {

std::atomic<int64_t> live_tensors{0};
static thread_local std::string last_error;

void set_error(const char *msg) {
  // keep the first paragraph: libtorch's dispatcher messages go on to list
  // every backend, dozens of lines
  last_error = msg ? msg : "";
  size_t para = last_error.find("\n\n");
  if (para != std::string::npos) last_error.resize(para);
  while (!last_error.empty() && (last_error.back() == '\n' || last_error.back() == ' '))
    last_error.pop_back();
}

lts_tensor **tensor_array(const std::vector<at::Tensor> &v) {
  auto **a = (lts_tensor **)calloc(v.size() ? v.size() : 1, sizeof(lts_tensor *));
  if (!a) throw std::bad_alloc();
  for (size_t i = 0; i < v.size(); i++) a[i] = wrap(v[i]);
  return a;
}

char **string_array(const std::vector<std::string> &v) {
  auto **a = (char **)calloc(v.size() ? v.size() : 1, sizeof(char *));
  if (!a) throw std::bad_alloc();
  for (size_t i = 0; i < v.size(); i++)
    if (!(a[i] = strdup(v[i].c_str()))) {
      for (size_t j = 0; j < i; j++) free(a[j]);
      free(a);
      throw std::bad_alloc();
    }
  return a;
}

at::ScalarType to_scalar(lt_dtype dt) {
  switch (dt) {
  case LT_F32: return at::kFloat;
  case LT_F64: return at::kDouble;
  case LT_F16: return at::kHalf;
  case LT_BF16: return at::kBFloat16;
  case LT_I64: return at::kLong;
  case LT_I32: return at::kInt;
  case LT_I16: return at::kShort;
  case LT_I8: return at::kChar;
  case LT_U8: return at::kByte;
  case LT_BOOL8: return at::kBool;
  case LT_QI8: return at::kQInt8;
  case LT_QU8: return at::kQUInt8;
  case LT_QI32: return at::kQInt32;
  default: throw std::invalid_argument("unknown dtype");
  }
}

lt_dtype from_scalar(at::ScalarType st) {
  switch (st) {
  case at::kFloat: return LT_F32;
  case at::kDouble: return LT_F64;
  case at::kHalf: return LT_F16;
  case at::kBFloat16: return LT_BF16;
  case at::kLong: return LT_I64;
  case at::kInt: return LT_I32;
  case at::kShort: return LT_I16;
  case at::kChar: return LT_I8;
  case at::kByte: return LT_U8;
  case at::kBool: return LT_BOOL8;
  case at::kQInt8: return LT_QI8;
  case at::kQUInt8: return LT_QU8;
  case at::kQInt32: return LT_QI32;
  default: return LT_DTYPE_COUNT;
  }
}

at::TensorOptions options(lt_dtype dt, const char *device) {
  auto o = at::TensorOptions().dtype(to_scalar(dt));
  if (device && *device) o = o.device(c10::Device(std::string(device)));
  return o;
}

}  // namespace lts

using lts::T;
using lts::wrap;

extern "C" {

const char *lts_last_error(void) { return lts::last_error.c_str(); }

void lts_tensor_free(lts_tensor *t) {
  if (!t) return;
  at::Tensor owned(lts::ImplPtr::reclaim(reinterpret_cast<c10::TensorImpl *>(t)));
  lts::live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

int lts_tensor_ref(lts_tensor *t, lts_tensor **out) { LTS_OUT(T(t)) }

int64_t lts_live_tensors(void) { return lts::live_tensors.load(); }

int lts_from_blob(void *data, const int64_t *dims, int nd, lt_dtype dt,
                  void (*deleter)(void *ctx), void *ctx, lts_tensor **out) {
  LTS_TRY({
    auto opts = lts::options(dt, nullptr);
    at::Tensor t;
    if (deleter)
      t = at::from_blob(data, lts::dims_of(dims, nd), [deleter, ctx](void *) { deleter(ctx); }, opts);
    else
      t = at::from_blob(data, lts::dims_of(dims, nd), opts);
    *out = wrap(std::move(t));
  })
}

int lts_from_copy(const void *data, lt_dtype src_dt, const int64_t *dims, int nd, lt_dtype dt,
                  lts_tensor **out) {
  LTS_TRY({
    auto src = at::from_blob(const_cast<void *>(data), lts::dims_of(dims, nd),
                             at::TensorOptions().dtype(lts::to_scalar(src_dt)));
    // clone/to always copy, so the tensor never aliases the caller's memory
    at::Tensor t = src_dt == dt ? src.clone() : src.to(lts::to_scalar(dt));
    *out = wrap(std::move(t));
  })
}

int lts_fill(lts_fill_kind kind, const int64_t *dims, int nd, double value, lt_dtype dt,
             const char *device, lts_tensor **out) {
  LTS_TRY({
    auto o = lts::options(dt, device);
    auto d = lts::dims_of(dims, nd);
    at::Tensor t;
    switch (kind) {
    case LTS_FILL_ZEROS: t = at::zeros(d, o); break;
    case LTS_FILL_ONES: t = at::ones(d, o); break;
    case LTS_FILL_FULL: t = at::full(d, value, o); break;
    case LTS_FILL_RANDN: t = at::randn(d, o); break;
    case LTS_FILL_RAND: t = at::rand(d, o); break;
    case LTS_FILL_EMPTY: t = at::empty(d, o); break;
    }
    *out = wrap(std::move(t));
  })
}

int lts_randint(int64_t low, int64_t high, const int64_t *dims, int nd, lt_dtype dt,
                const char *device, lts_tensor **out) {
  LTS_OUT(at::randint(low, high, lts::dims_of(dims, nd), lts::options(dt, device)))
}

int lts_arange(double start, double end, double step, lt_dtype dt, int has_dtype, lts_tensor **out) {
  LTS_TRY({
    if (step == 0) throw std::invalid_argument("step must be nonzero");
    at::Tensor t;
    if (has_dtype)
      t = at::arange(start, end, step, at::TensorOptions().dtype(lts::to_scalar(dt)));
    else if (start == (int64_t)start && end == (int64_t)end && step == (int64_t)step)
      t = at::arange((int64_t)start, (int64_t)end, (int64_t)step, at::kLong);
    else
      t = at::arange(start, end, step, at::kFloat);
    *out = wrap(std::move(t));
  })
}

int lts_full_like(lts_tensor *t, double value, lts_tensor **out) { LTS_OUT(at::full_like(T(t), value)) }

int lts_cat(lts_tensor *const *ts, int n, int64_t dim, int stack, lts_tensor **out) {
  LTS_TRY({
    std::vector<at::Tensor> v;
    v.reserve(n);
    for (int i = 0; i < n; i++) v.push_back(T(ts[i]));
    *out = wrap(stack ? at::stack(v, dim) : at::cat(v, dim));
  })
}

int lts_dim(lts_tensor *t) { return (int)T(t).dim(); }

int lts_shape(lts_tensor *t, int64_t *dims, int max) {
  auto s = T(t).sizes();
  for (size_t i = 0; i < s.size() && (int)i < max; i++) dims[i] = s[i];
  return (int)s.size();
}

int64_t lts_numel(lts_tensor *t) { return T(t).numel(); }
lt_dtype lts_dtype(lts_tensor *t) { return lts::from_scalar(T(t).scalar_type()); }

void lts_device(lts_tensor *t, char *buf, size_t n) {
  std::string s = T(t).device().str();
  snprintf(buf, n, "%s", s.c_str());
}

int lts_is_cpu(lts_tensor *t) { return T(t).is_cpu(); }

const void *lts_data_ptr(lts_tensor *t) { return T(t).is_cpu() ? T(t).data_ptr() : nullptr; }

int lts_item_double(lts_tensor *t, double *out) {
  LTS_TRY(*out = (T(t).is_quantized() ? T(t).dequantize() : at::Tensor(T(t))).item().toDouble())
}
int lts_item_int(lts_tensor *t, int64_t *out) { LTS_TRY(*out = T(t).item().toLong()) }
int lts_is_floating(lts_tensor *t) { return at::isFloatingType(T(t).scalar_type()); }

int lts_cpu_contiguous(lts_tensor *t, lts_tensor **out) {
  LTS_OUT(T(t).to(at::kCPU).contiguous())
}

int lts_requires_grad(lts_tensor *t) { return T(t).requires_grad(); }
int lts_set_requires_grad(lts_tensor *t, int flag) { LTS_TRY(T(t).set_requires_grad(flag != 0)) }

int lts_grad(lts_tensor *t, lts_tensor **out) {
  LTS_TRY({
    const at::Tensor &g = T(t).grad();
    *out = g.defined() ? wrap(g) : nullptr;
  })
}

int lts_has_grad_fn(lts_tensor *t) { return T(t).grad_fn() != nullptr; }

int lts_grad_fn_name(lts_tensor *t, char *buf, size_t n) {
  const auto &fn = T(t).grad_fn();
  if (!fn) return 0;
  std::string name = fn->name();
  auto pos = name.rfind("::");  // "torch::autograd::AddBackward0" -> "AddBackward0"
  if (pos != std::string::npos) name = name.substr(pos + 2);
  snprintf(buf, n, "%s", name.c_str());
  return 1;
}

int lts_is_leaf(lts_tensor *t) { return T(t).is_leaf(); }

int lts_to(lts_tensor *t, int dt, const char *device, lts_tensor **out) {
  LTS_TRY({
    at::Tensor r = T(t);
    if (device && *device) r = r.to(c10::Device(std::string(device)));
    if (dt >= 0 && r.is_quantized() && !at::isQIntType(lts::to_scalar((lt_dtype)dt))) r = r.dequantize();
    if (dt >= 0) r = r.to(lts::to_scalar((lt_dtype)dt));
    *out = wrap(std::move(r));
  })
}

}  // extern "C"
