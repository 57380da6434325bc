// bench_training_cpp.cpp - the floor: the same training steps in plain libtorch C++.
#include <torch/torch.h>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <cmath>
#include <cstdio>

struct Block : torch::nn::Module {  // the same post-norm block as torch_transformer_block
  int64_t e, h;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, l1{nullptr}, l2{nullptr};
  torch::nn::LayerNorm n1{nullptr}, n2{nullptr};
  Block(int64_t e_, int64_t h_, int64_t f) : e(e_), h(h_) {
    q = register_module("q", torch::nn::Linear(e, e));
    k = register_module("k", torch::nn::Linear(e, e));
    v = register_module("v", torch::nn::Linear(e, e));
    o = register_module("o", torch::nn::Linear(e, e));
    l1 = register_module("l1", torch::nn::Linear(e, f));
    l2 = register_module("l2", torch::nn::Linear(f, e));
    n1 = register_module("n1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({e})));
    n2 = register_module("n2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({e})));
  }
  torch::Tensor split(const torch::Tensor &x) { return x.view({x.size(0), x.size(1), h, e / h}).transpose(1, 2); }
  torch::Tensor forward(const torch::Tensor &x) {
    auto p = torch::softmax(torch::matmul(split(q(x)), split(k(x)).transpose(-2, -1)) / std::sqrt((double)(e / h)), -1);
    auto a = o(torch::matmul(p, split(v(x))).transpose(1, 2).reshape(x.sizes()));
    auto hh = n1(x + a);
    return n2(hh + l2(torch::relu(l1(hh))));
  }
};

// steps in 10 rounds, the best round's rate: load on the machine comes in
// bursts and only ever slows a round down (every runner does the same)
template <class F>
static double rate(F step, int steps) {
  for (int i = 0; i < 3; i++) step();
  int per = steps / 10 > 0 ? steps / 10 : 1;
  double best = 0;
  for (int r = 0; r < 10; r++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < per; i++) step();
    double v = per / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (v > best) best = v;
  }
  return best;
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 200;
  if (argc > 2 && atoi(argv[2]) > 0) torch::set_num_threads(atoi(argv[2]));
  torch::manual_seed(0);
  torch::nn::Sequential mlp(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 10));
  torch::optim::Adam opt(mlp->parameters(), torch::optim::AdamOptions(1e-3));
  auto x = torch::randn({64, 784});
  auto y = torch::randint(0, 10, {64});
  const char *only = getenv("LT_BENCH_ONLY");  // mlp|block: that model alone
  auto want = [&](const char *m) { return !only || !*only || strcmp(only, m) == 0; };
  if (want("mlp")) printf("cpp mlp %.1f\n", rate([&] {
           opt.zero_grad();
           auto loss = torch::nn::functional::cross_entropy(mlp->forward(x), y);
           loss.backward();
           opt.step();
         }, steps));
  auto block = std::make_shared<Block>(128, 4, 512);
  torch::optim::Adam opt2(block->parameters(), torch::optim::AdamOptions(1e-3));
  auto xb = torch::randn({8, 64, 128}), yb = torch::randn({8, 64, 128});
  if (want("block")) printf("cpp block %.1f\n", rate([&] {
           opt2.zero_grad();
           auto loss = torch::mse_loss(block->forward(xb), yb);
           loss.backward();
           opt2.step();
         }, steps / 4));
  return 0;
}
