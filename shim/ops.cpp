// ops.cpp - elementwise math, shape and indexing, reductions, sampling.
#include <c10/core/GradMode.h>
#include "shim_internal.h"

using lts::T;
using lts::wrap;

static at::Tensor unary(lts_unary_op op, const at::Tensor &t) {
  switch (op) {
  case LTS_U_ABS: return t.abs();
  case LTS_U_ACOS: return t.acos();
  case LTS_U_ASIN: return t.asin();
  case LTS_U_ATAN: return t.atan();
  case LTS_U_CEIL: return t.ceil();
  case LTS_U_COS: return t.cos();
  case LTS_U_COSH: return t.cosh();
  case LTS_U_EXP: return t.exp();
  case LTS_U_FLOOR: return t.floor();
  case LTS_U_LOG: return t.log();
  case LTS_U_LOG10: return t.log10();
  case LTS_U_LOG2: return t.log2();
  case LTS_U_NEG: return t.neg();
  case LTS_U_RECIPROCAL: return t.reciprocal();
  case LTS_U_ROUND: return t.round();
  case LTS_U_RSQRT: return t.rsqrt();
  case LTS_U_SIN: return t.sin();
  case LTS_U_SINH: return t.sinh();
  case LTS_U_SQRT: return t.sqrt();
  case LTS_U_TAN: return t.tan();
  case LTS_U_RELU: return at::relu(t);
  case LTS_U_SIGMOID: return t.sigmoid();
  case LTS_U_TANH: return t.tanh();
  case LTS_U_GELU: return at::gelu(t);
  case LTS_U_SILU: return at::silu(t);
  case LTS_U_CONTIGUOUS: return t.contiguous();
  case LTS_U_CLONE: return t.clone();
  case LTS_U_DETACH: return t.detach();
  case LTS_U_COUNT: break;
  }
  throw std::invalid_argument("unknown unary operation");
}

static at::Tensor binary(lts_binary_op op, const at::Tensor &a, const at::Tensor &b) {
  switch (op) {
  case LTS_B_ADD: return at::add(a, b);
  case LTS_B_SUB: return at::sub(a, b);
  case LTS_B_MUL: return at::mul(a, b);
  case LTS_B_DIV: return at::div(a, b);
  case LTS_B_POW: return at::pow(a, b);
  case LTS_B_MATMUL: return at::matmul(a, b);
  }
  throw std::invalid_argument("unknown binary operation");
}

extern "C" {

int lts_unary(lts_unary_op op, lts_tensor *t, lts_tensor **out) { LTS_OUT(unary(op, T(t))) }

int lts_binary(lts_binary_op op, lts_tensor *a, lts_tensor *b, lts_tensor **out) {
  LTS_OUT(binary(op, T(a), T(b)))
}

int lts_binary_scalar(lts_binary_op op, lts_tensor *t, double s, int scalar_first, lts_tensor **out) {
  LTS_TRY({
    const at::Tensor &x = T(t);
    // integral scalars keep integer tensors integer, as Python does
    at::Scalar sc = (s == (int64_t)s && !at::isFloatingType(x.scalar_type())) ? at::Scalar((int64_t)s)
                                                                              : at::Scalar(s);
    at::Tensor r;
    if (!scalar_first) {
      switch (op) {
      case LTS_B_ADD: r = at::add(x, sc); break;
      case LTS_B_SUB: r = at::sub(x, sc); break;
      case LTS_B_MUL: r = at::mul(x, sc); break;
      case LTS_B_DIV: r = at::div(x, sc); break;
      case LTS_B_POW: r = at::pow(x, sc); break;
      case LTS_B_MATMUL: throw std::invalid_argument("matmul needs two tensors");
      }
    } else {
      switch (op) {
      case LTS_B_ADD: r = at::add(x, sc); break;
      case LTS_B_SUB: r = at::rsub(x, sc); break;
      case LTS_B_MUL: r = at::mul(x, sc); break;
      case LTS_B_DIV: r = at::mul(x.reciprocal(), sc); break;
      case LTS_B_POW: r = at::pow(sc, x); break;
      case LTS_B_MATMUL: throw std::invalid_argument("matmul needs two tensors");
      }
    }
    *out = wrap(std::move(r));
  })
}

int lts_linear(lts_tensor *x, lts_tensor *w, lts_tensor *b, lts_tensor **out) {
  LTS_OUT(at::linear(T(x), T(w), b ? c10::optional<at::Tensor>(T(b)) : c10::nullopt))
}

int lts_einsum(const char *eq, lts_tensor *const *ts, int n, lts_tensor **out) {
  LTS_TRY({
    std::vector<at::Tensor> v;
    for (int i = 0; i < n; i++) v.push_back(T(ts[i]));
    *out = wrap(at::einsum(eq, v));
  })
}

int lts_clamp(lts_tensor *t, double lo, int has_lo, double hi, int has_hi, lts_tensor **out) {
  LTS_OUT(at::clamp(T(t), has_lo ? c10::optional<at::Scalar>(lo) : c10::nullopt,
                    has_hi ? c10::optional<at::Scalar>(hi) : c10::nullopt))
}

int lts_rms_norm(lts_tensor *x, lts_tensor *w, double eps, lts_tensor **out) {
  LTS_TRY({
    // as Llama/HF: compute in float32, scale, cast back, multiply by weight
    const at::Tensor &in = T(x);
    at::Tensor h = in.to(at::kFloat);
    h = h * at::rsqrt(h.pow(2).mean(-1, true) + eps);
    *out = wrap(T(w) * h.to(in.scalar_type()));
  })
}

int lts_softmax(lts_tensor *t, int64_t dim, int log, lts_tensor **out) {
  LTS_OUT(log ? at::log_softmax(T(t), dim) : at::softmax(T(t), dim))
}

int lts_reshape(lts_tensor *t, const int64_t *dims, int nd, lts_tensor **out) {
  LTS_OUT(T(t).reshape(lts::dims_of(dims, nd)))
}
int lts_expand(lts_tensor *t, const int64_t *dims, int nd, lts_tensor **out) {
  LTS_OUT(T(t).expand(lts::dims_of(dims, nd)))
}
int lts_transpose(lts_tensor *t, int64_t d0, int64_t d1, lts_tensor **out) {
  LTS_OUT(T(t).transpose(d0, d1))
}
int lts_unsqueeze(lts_tensor *t, int64_t dim, lts_tensor **out) { LTS_OUT(T(t).unsqueeze(dim)) }
int lts_squeeze(lts_tensor *t, int64_t dim, int has_dim, lts_tensor **out) {
  LTS_OUT(has_dim ? T(t).squeeze(dim) : T(t).squeeze())
}
int lts_flatten(lts_tensor *t, int64_t start, int64_t end, lts_tensor **out) {
  LTS_OUT(T(t).flatten(start, end))
}
int lts_slice(lts_tensor *t, int64_t dim, int64_t start, int64_t end, lts_tensor **out) {
  LTS_OUT(T(t).slice(dim, start, end))
}
int lts_select(lts_tensor *t, int64_t dim, int64_t index, lts_tensor **out) {
  LTS_OUT(T(t).select(dim, index))
}
int lts_tri(lts_tensor *t, int64_t diagonal, int upper, lts_tensor **out) {
  LTS_OUT(upper ? at::triu(T(t), diagonal) : at::tril(T(t), diagonal))
}
int lts_gather(lts_tensor *t, int64_t dim, lts_tensor *index, lts_tensor **out) {
  LTS_OUT(at::gather(T(t), dim, T(index)))
}
int lts_cumsum(lts_tensor *t, int64_t dim, lts_tensor **out) { LTS_OUT(at::cumsum(T(t), dim)) }

int lts_masked_fill(lts_tensor *t, lts_tensor *mask, double value, int inplace, lts_tensor **out) {
  LTS_TRY({
    at::Tensor m = T(mask);
    if (m.scalar_type() != at::kBool) m = m.to(at::kBool);
    if (inplace) {
      T(t).masked_fill_(m, value);
      *out = wrap(T(t));
    } else {
      *out = wrap(T(t).masked_fill(m, value));
    }
  })
}

static at::Tensor index_view(const at::Tensor &t, const int64_t *idx, int n) {
  if (n > t.dim())
    throw std::out_of_range("too many indices (" + std::to_string(n) + ") for a tensor of " +
                            std::to_string(t.dim()) + " dimensions");
  at::Tensor r = t;
  for (int i = 0; i < n; i++) {
    int64_t size = r.size(0), k = idx[i];
    if (k < -size || k >= size)
      throw std::out_of_range("index " + std::to_string(k) + " is out of range for dimension " +
                              std::to_string(i) + " of size " + std::to_string(size));
    r = r.select(0, k < 0 ? k + size : k);
  }
  return r;
}

int lts_index(lts_tensor *t, const int64_t *idx, int n, lts_tensor **out) {
  LTS_OUT(index_view(T(t), idx, n))
}

int lts_set_item(lts_tensor *t, const int64_t *idx, int n, lts_tensor *value, double scalar) {
  LTS_TRY({
    at::Tensor v = index_view(T(t), idx, n);
    if (value) v.copy_(T(value));
    else v.fill_(scalar);
  })
}

int lts_reduce(lts_reduce_op op, lts_tensor *t, int64_t dim, int has_dim, int keepdim, lts_tensor **out) {
  LTS_TRY({
    const at::Tensor &x = T(t);
    at::Tensor r;
    switch (op) {
    case LTS_R_SUM: r = has_dim ? x.sum(dim, keepdim) : x.sum(); break;
    case LTS_R_MEAN: r = has_dim ? x.mean(dim, keepdim) : x.mean(); break;
    case LTS_R_STD: r = has_dim ? x.std(dim, true, keepdim) : x.std(); break;
    case LTS_R_MAX: r = has_dim ? std::get<0>(x.max(dim, keepdim)) : x.max(); break;
    case LTS_R_MIN: r = has_dim ? std::get<0>(x.min(dim, keepdim)) : x.min(); break;
    case LTS_R_ARGMAX: r = has_dim ? x.argmax(dim, keepdim) : x.argmax(); break;
    case LTS_R_ARGMIN: r = has_dim ? x.argmin(dim, keepdim) : x.argmin(); break;
    }
    *out = wrap(std::move(r));
  })
}

int lts_norm(lts_tensor *t, double p, int64_t dim, int has_dim, lts_tensor **out) {
  LTS_OUT(has_dim ? at::norm(T(t), p, at::IntArrayRef(&dim, 1)) : at::norm(T(t), p))
}

int lts_multinomial(lts_tensor *probs, int64_t n, int replacement, lts_tensor **out) {
  LTS_TRY({
    const at::Tensor &p = T(probs);
    if (!replacement && p.numel() > 0) {
      // libtorch 1.13 silently draws zero-probability categories here
      int64_t fewest = (p > 0).sum(-1).min().item<int64_t>();
      if (n > fewest)
        throw std::invalid_argument("cannot draw " + std::to_string(n) +
                                    " samples without replacement from a row with only " +
                                    std::to_string(fewest) + " nonzero probabilities");
    }
    *out = wrap(at::multinomial(p, n, replacement != 0));
  })
}

int lts_topk(lts_tensor *t, int64_t k, int64_t dim, int largest, lts_tensor **values, lts_tensor **indices) {
  LTS_TRY({
    auto r = at::topk(T(t), k, dim, largest != 0, true);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  })
}

int lts_sort(lts_tensor *t, int64_t dim, int descending, lts_tensor **values, lts_tensor **indices) {
  LTS_TRY({
    auto r = at::sort(T(t), dim, descending != 0);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  })
}

// ---- quantization (section 12) ----

int lts_quantize_per_tensor(lts_tensor *t, double scale, int64_t zero_point, lt_dtype dt, lts_tensor **out) {
  LTS_TRY({
    at::ScalarType q = lts::to_scalar(dt);
    if (!at::isQIntType(q)) throw std::invalid_argument("quantized dtype must be qint8, quint8 or qint32");
    if (!(scale > 0) || !std::isfinite(scale)) throw std::invalid_argument("scale must be a positive number");
    *out = wrap(at::quantize_per_tensor(T(t).to(at::kFloat), scale, zero_point, q));
  })
}

int lts_quantize_per_channel(lts_tensor *t, lts_tensor *scales, lts_tensor *zero_points, int64_t axis, lt_dtype dt, lts_tensor **out) {
  LTS_TRY({
    at::ScalarType q = lts::to_scalar(dt);
    if (!at::isQIntType(q)) throw std::invalid_argument("quantized dtype must be qint8, quint8 or qint32");
    const at::Tensor &x = T(t);
    int64_t ax = axis < 0 ? axis + x.dim() : axis;
    if (ax < 0 || ax >= x.dim()) throw std::invalid_argument("axis " + std::to_string(axis) + " is out of range");
    at::Tensor s = T(scales).to(at::kDouble), z = T(zero_points).to(at::kLong);
    if (s.dim() != 1 || s.size(0) != x.size(ax) || z.sizes() != s.sizes())
      throw std::invalid_argument("scales and zero points must hold " + std::to_string(x.size(ax)) + " values (the size of axis " +
                                  std::to_string(ax) + ")");
    if (!(s > 0).all().item<bool>()) throw std::invalid_argument("scales must be positive");
    *out = wrap(at::quantize_per_channel(x.to(at::kFloat), s, z, ax, q));
  })
}

// PyTorch's MinMax observer: the range always holds 0, spread over the dtype's integers
int lts_quantize_dynamic(lts_tensor *t, lt_dtype dt, lts_tensor **out) {
  LTS_TRY({
    at::ScalarType q = lts::to_scalar(dt);
    if (q != at::kQInt8 && q != at::kQUInt8) throw std::invalid_argument("dynamic quantization gives qint8 or quint8");
    at::Tensor x = T(t).to(at::kFloat);
    double lo = x.numel() ? std::min(0.0, x.min().item<double>()) : 0, hi = x.numel() ? std::max(0.0, x.max().item<double>()) : 0;
    double qmin = q == at::kQInt8 ? -128 : 0, qmax = q == at::kQInt8 ? 127 : 255;
    double scale = (hi - lo) / (qmax - qmin);
    if (!(scale > 0)) scale = 1.0;
    int64_t zp = (int64_t)std::nearbyint(qmin - lo / scale);
    zp = std::max<int64_t>((int64_t)qmin, std::min<int64_t>((int64_t)qmax, zp));
    *out = wrap(at::quantize_per_tensor(x, scale, zp, q));
  })
}

int lts_dequantize(lts_tensor *t, lts_tensor **out) {
  LTS_TRY({
    if (!T(t).is_quantized()) throw std::invalid_argument("the tensor is not quantized");
    *out = wrap(T(t).dequantize());
  })
}

int lts_quant_params(lts_tensor *t, lts_qparams *q) {
  LTS_TRY({
    const at::Tensor &x = T(t);
    if (!x.is_quantized()) throw std::invalid_argument("the tensor is not quantized");
    memset(q, 0, sizeof *q);
    if (x.qscheme() == at::kPerTensorAffine) {
      q->scale = x.q_scale();
      q->zero_point = x.q_zero_point();
    } else {
      q->per_channel = 1;
      q->axis = x.q_per_channel_axis();
    }
  })
}

// ---- tensor decomposition (section 14) ----

}  // extern "C"

namespace lts {
namespace {

// X ×_n M: contracts mode n of X with the columns of M ([rows, I_n] · X_(n))
at::Tensor mode_product(const at::Tensor &x, const at::Tensor &m, int64_t n) {
  at::Tensor y = at::tensordot(x, m, {n}, {1});  // the new mode comes last
  return y.movedim(-1, n);
}

// the r leading left singular vectors of X's mode-n unfolding
at::Tensor leading(const at::Tensor &x, int64_t n, int64_t r) {
  at::Tensor unfold = x.movedim(n, 0).reshape({x.size(n), -1});
  at::Tensor u = std::get<0>(at::linalg_svd(unfold, false));
  return u.slice(1, 0, r).contiguous();
}

// Tucker by higher-order orthogonal iteration, started from the HOSVD;
// stops when the relative error changes by less than tol
std::pair<at::Tensor, std::vector<at::Tensor>> tucker(const at::Tensor &x_in, const std::vector<int64_t> &ranks, int64_t iters,
                                                      double tol) {
  if (!at::isFloatingType(x_in.scalar_type()))
    throw std::invalid_argument("Tucker needs a floating point tensor, got " + std::string(c10::toString(x_in.scalar_type())));
  int64_t nd = x_in.dim();
  if ((int64_t)ranks.size() != nd)
    throw std::invalid_argument("Tucker needs one rank per dimension: " + std::to_string(nd) + " dimensions, " +
                                std::to_string(ranks.size()) + " ranks");
  for (int64_t n = 0; n < nd; n++)
    if (ranks[(size_t)n] <= 0 || ranks[(size_t)n] > x_in.size(n))
      throw std::invalid_argument("rank " + std::to_string(ranks[(size_t)n]) + " of dimension " + std::to_string(n) + " must be in [1, " +
                                  std::to_string(x_in.size(n)) + "]");
  c10::NoGradGuard nograd;
  at::Tensor x = x_in.scalar_type() == at::kDouble ? x_in : x_in.to(at::kFloat);
  std::vector<at::Tensor> u((size_t)nd);
  for (int64_t n = 0; n < nd; n++) u[(size_t)n] = leading(x, n, ranks[(size_t)n]);
  double norm = x.norm().item<double>(), last = -1;
  at::Tensor core;
  for (int64_t it = 0; it < iters; it++) {
    for (int64_t n = 0; n < nd; n++) {
      at::Tensor y = x;
      for (int64_t m = 0; m < nd; m++)
        if (m != n) y = mode_product(y, u[(size_t)m].t(), m);
      u[(size_t)n] = leading(y, n, ranks[(size_t)n]);
    }
    core = x;
    for (int64_t m = 0; m < nd; m++) core = mode_product(core, u[(size_t)m].t(), m);
    // with orthonormal factors, ‖X - X̂‖² = ‖X‖² - ‖core‖²
    double err = norm > 0 ? std::sqrt(std::max(0.0, norm * norm - std::pow(core.norm().item<double>(), 2))) / norm : 0;
    if (last >= 0 && std::abs(last - err) < tol) break;
    last = err;
  }
  if (!core.defined()) {
    core = x;
    for (int64_t m = 0; m < nd; m++) core = mode_product(core, u[(size_t)m].t(), m);
  }
  return {core.to(x_in.scalar_type()), u};
}

}  // namespace
}  // namespace lts

extern "C" {

int lts_tucker(lts_tensor *t, const int64_t *ranks, int n, int64_t max_iter, double tol, lts_tensor **core, lts_tensor **factors) {
  LTS_TRY({
    if (max_iter < 0) throw std::invalid_argument("max_iter must be non-negative");
    auto r = lts::tucker(T(t), std::vector<int64_t>(ranks, ranks + n), max_iter, tol);
    for (size_t i = 0; i < r.second.size(); i++) factors[i] = wrap(r.second[i].to(T(t).scalar_type()));
    *core = wrap(r.first);
  })
}

int lts_tucker_reconstruct(lts_tensor *core, lts_tensor *const *factors, int n, lts_tensor **out) {
  LTS_TRY({
    at::Tensor x = T(core);
    if (x.dim() != n)
      throw std::invalid_argument("a core of " + std::to_string(x.dim()) + " dimensions needs as many factors, got " + std::to_string(n));
    for (int i = 0; i < n; i++) {
      const at::Tensor &u = T(factors[i]);
      if (u.dim() != 2 || u.size(1) != x.size(i))
        throw std::invalid_argument("factor " + std::to_string(i) + " must be [size, " + std::to_string(x.size(i)) + "], got " +
                                    c10::str(u.sizes()));
      x = lts::mode_product(x, u, i);
    }
    *out = wrap(x);
  })
}

int lts_khatri_rao(lts_tensor *a, lts_tensor *b, lts_tensor **out) {
  LTS_TRY({
    const at::Tensor &x = T(a), &y = T(b);
    if (x.dim() != 2 || y.dim() != 2 || x.size(1) != y.size(1))
      throw std::invalid_argument("Khatri-Rao needs two matrices with the same number of columns, got " + c10::str(x.sizes()) + " and " +
                                  c10::str(y.sizes()));
    // column r: kron(a[:, r], b[:, r]); row i*J + j = a[i, r] * b[j, r]
    *out = wrap((x.unsqueeze(1) * y.unsqueeze(0)).reshape({x.size(0) * y.size(0), x.size(1)}));
  })
}

}  // extern "C"
