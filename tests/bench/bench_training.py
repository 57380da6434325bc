#!/usr/bin/env python3
"""Training steps per second in Python PyTorch (Debian's python3-torch, same libtorch)."""
import math
import sys
import os
import time
import torch
import torch.nn as nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
if len(sys.argv) > 2 and int(sys.argv[2]) > 0:
    torch.set_num_threads(int(sys.argv[2]))


class Block(nn.Module):
    def __init__(self, e, h, f):
        super().__init__()
        self.e, self.h = e, h
        self.q, self.k, self.v, self.o = (nn.Linear(e, e) for _ in range(4))
        self.l1, self.l2 = nn.Linear(e, f), nn.Linear(f, e)
        self.n1, self.n2 = nn.LayerNorm(e), nn.LayerNorm(e)

    def split(self, x):
        return x.view(x.shape[0], x.shape[1], self.h, self.e // self.h).transpose(1, 2)

    def forward(self, x):
        p = torch.softmax(self.split(self.q(x)) @ self.split(self.k(x)).transpose(-2, -1) / math.sqrt(self.e // self.h), -1)
        a = self.o((p @ self.split(self.v(x))).transpose(1, 2).reshape(x.shape))
        h = self.n1(x + a)
        return self.n2(h + self.l2(torch.relu(self.l1(h))))


def rate(step, n):
    """n steps in 10 rounds, the best round's rate (as every runner)."""
    for _ in range(3):
        step()
    per, best = max(n // 10, 1), 0.0
    for _ in range(10):
        t0 = time.perf_counter()
        for _ in range(per):
            step()
        best = max(best, per / (time.perf_counter() - t0))
    return best


torch.manual_seed(0)
mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))


def mlp_step():
    opt.zero_grad()
    nn.functional.cross_entropy(mlp(x), y).backward()
    opt.step()


if os.environ.get("LT_BENCH_ONLY", "mlp") in ("", "mlp"):
    print("python mlp %.1f" % rate(mlp_step, steps))
block = Block(128, 4, 512)
opt2 = torch.optim.Adam(block.parameters(), lr=1e-3)
xb, yb = torch.randn(8, 64, 128), torch.randn(8, 64, 128)


def block_step():
    opt2.zero_grad()
    nn.functional.mse_loss(block(xb), yb).backward()
    opt2.step()


if os.environ.get("LT_BENCH_ONLY", "block") in ("", "block"):
    print("python block %.1f" % rate(block_step, steps // 4))
