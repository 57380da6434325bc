// bench_overhead_cpp.cpp - the floor: the same small ops with libtorch C++.
#include <ATen/ATen.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// The best of 5 rounds: other load on the machine only ever adds time.
template <class F>
static double time_ns(F f, int iters) {
  for (int i = 0; i < iters / 10; i++) f();
  double best = 1e300;
  for (int round = 0; round < 5; round++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; i++) f();
    auto t1 = std::chrono::steady_clock::now();
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / iters;
    if (ns < best) best = ns;
  }
  return best;
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 200000;
  at::Tensor one = at::full({1}, 1.5f);
  at::Tensor m = at::arange(16, at::kFloat).reshape({4, 4}) / 16;
  float data[16];
  for (int i = 0; i < 16; i++) data[i] = (float)i / 16;
  // LT_BENCH_ONLY=<op>: that op alone (count_instructions.sh)
  const char *only = getenv("LT_BENCH_ONLY");
  auto want = [&](const char *op) { return !only || !*only || strcmp(only, op) == 0; };
  if (want("add_1elem"))
    printf("cpp add_1elem %.0f\n", time_ns([&] { at::Tensor r = at::add(one, one); }, iters));
  if (want("matmul_4x4"))
    printf("cpp matmul_4x4 %.0f\n", time_ns([&] { at::Tensor r = at::matmul(m, m); }, iters));
  if (want("create_16"))
    printf("cpp create_16 %.0f\n", time_ns([&] { at::Tensor r = at::from_blob(data, {16}, at::kFloat).clone(); }, iters));
  return 0;
}
