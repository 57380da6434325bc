#!/usr/bin/env python3
"""Python PyTorch on the same libtorch (run with Debian's /usr/bin/python3)."""
import sys
import time
import torch

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 200000


def per_call(f):
    for _ in range(iters // 10):
        f()
    best = float("inf")  # best of 5 rounds, as the C++ floor
    for _ in range(5):
        t0 = time.perf_counter_ns()
        for _ in range(iters):
            f()
        best = min(best, (time.perf_counter_ns() - t0) / iters)
    return best


one = torch.full((1,), 1.5)
m = torch.arange(16, dtype=torch.float32).reshape(4, 4) / 16
data = [i / 16 for i in range(16)]
print("python add_1elem %.0f" % per_call(lambda: torch.add(one, one)))
print("python matmul_4x4 %.0f" % per_call(lambda: torch.matmul(m, m)))
print("python create_16 %.0f" % per_call(lambda: torch.tensor(data)))
