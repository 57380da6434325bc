// nn_internal.h - module classes shared by shim/nn.cpp and shim/attention.cpp.
#pragma once
#include <torch/torch.h>
#include "shim_internal.h"

namespace lts {

// Every module kind derives from this: one forward for torch_forward, and
// attend() for the attention kinds (separate query/key/value).
struct LtModule : torch::nn::Module {
  explicit LtModule(lts_module_kind k) : kind(k) {}
  lts_module_kind kind;
  // mask may be undefined
  virtual at::Tensor forward(const at::Tensor &x, const at::Tensor &mask) = 0;
  virtual at::Tensor attend(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
                            const at::Tensor &mask);
  virtual std::string describe() const = 0;
  // int8 weights (quantization): each module tensor with its qint8 copy; the
  // module tensor holds no values at rest and the dequantized ones during a
  // forward (Dequantized below)
  std::vector<std::pair<at::Tensor, at::Tensor>> quantized;
  // static quantization: the input's scale and zero point (scale 0: none)
  double in_scale = 0;
  int64_t in_zero_point = 0;
};

// The dequantized weights of a quantized module for the time of a call
struct Dequantized {
  LtModule &m;
  explicit Dequantized(LtModule &mod) : m(mod) {
    for (auto &q : m.quantized) q.first.set_data(q.second.dequantize());
  }
  ~Dequantized() {
    for (auto &q : m.quantized) q.first.set_data(at::empty({0}, q.first.options()));
  }
  // static quantization: the input rounded as int8 would hold it
  at::Tensor input(const at::Tensor &x) const {
    if (m.in_scale <= 0) return x;
    return at::quantize_per_tensor(x.to(at::kFloat), m.in_scale, m.in_zero_point, at::kQUInt8).dequantize().to(x.scalar_type());
  }
};

// Attention masks as users give them, made ready to add to or select scores
// of shape [B, H, Lq, Lk]:
//  - bool or integer masks: true/nonzero = attend (as SDPA); returned as bool
//  - floating masks: added to the scores (0 / -inf style); returned as is
//  - [Lq, Lk] is shared by every batch/head, else [B, Lk] is a key padding mask;
//    [B, Lq, Lk] is per batch; [B, H, Lq, Lk] is used as given.
// A projection through an nn::Linear's tensors. libtorch 1.x's C++
// nn::Linear (F::linear) runs matmul then += bias on inputs of more than 2
// dims, a zero-filled GEMM output and a second pass; at::linear folds them
// into one addmm, as Python's nn.Linear does (1.4% of a transformer block
// training step, counted with callgrind).
inline at::Tensor linear(const torch::nn::Linear &l, const at::Tensor &x) { return at::linear(x, l->weight, l->bias); }

at::Tensor attention_mask(const at::Tensor &mask, int64_t batch, int64_t lq, int64_t lk);
// scores softmax(q kᵀ · scale + mask) v, with q,k,v [B, H, L, D]
at::Tensor attention_math(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
                          const at::Tensor &mask, double scale, bool causal, double dropout,
                          bool training);

// torch.nn.functional.scaled_dot_product_attention on every libtorch (the
// fused kernel where there is one); causal with Lq < Lk is aligned
// bottom-right (queries are the last Lq positions, as with a KV cache)
at::Tensor sdpa(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask, double dropout,
                bool causal, c10::optional<double> scale);

// a LoRA layer's scaling · B A, with autograd to A and B
at::Tensor lora_delta(LtModule &lora);

lts_module *wrap_module(std::shared_ptr<LtModule> m);
// activation checkpointing: recomputes m.forward in backward
at::Tensor checkpointed_forward(const std::shared_ptr<LtModule> &m, const at::Tensor &x,
                                const at::Tensor &mask);

}  // namespace lts

struct lts_module {
  std::shared_ptr<lts::LtModule> mod;
  bool checkpoint = false;
  std::atomic<int> refs{1};
};

inline lts::LtModule &M(lts_module *m) { return *m->mod; }
