#!/usr/bin/env python3
"""Golden loss trajectories from Python PyTorch (Debian's python3-torch, the
same libtorch 1.13 the library links): an MLP and a transformer block trained
20 steps from fixed initial weights and data with SGD, Adam, AdamW and SGD +
cosine schedule. The C test loads the same weights and data and must agree
within 1e-4 relative.

    /usr/bin/python3 tests/tools/gen_training_golden.py > tests/data/train_golden.txt
"""
import math
import torch
import torch.nn as nn

STEPS = 20


class Mlp(nn.Module):  # torch_model: fc1 -> relu -> fc2
    def __init__(self, i, h, o):
        super().__init__()
        self.fc1 = nn.Linear(i, h)
        self.fc2 = nn.Linear(h, o)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Mha(nn.Module):  # torch_multihead_attention
    def __init__(self, e, h):
        super().__init__()
        self.e, self.h = e, h
        self.q_proj, self.k_proj = nn.Linear(e, e), nn.Linear(e, e)
        self.v_proj, self.out_proj = nn.Linear(e, e), nn.Linear(e, e)

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.h, self.e // self.h).transpose(1, 2)

    def forward(self, x):
        q, k, v = self.split(self.q_proj(x)), self.split(self.k_proj(x)), self.split(self.v_proj(x))
        p = torch.softmax(q @ k.transpose(-2, -1) * (1.0 / math.sqrt(self.e // self.h)), -1)
        o = (p @ v).transpose(1, 2).reshape(x.shape)
        return self.out_proj(o)


class Block(nn.Module):  # torch_transformer_block: post-norm, ReLU
    def __init__(self, e, h, f):
        super().__init__()
        self.self_attn = Mha(e, h)
        self.linear1, self.linear2 = nn.Linear(e, f), nn.Linear(f, e)
        self.norm1, self.norm2 = nn.LayerNorm(e), nn.LayerNorm(e)

    def forward(self, x):
        h = self.norm1(x + self.self_attn(x))
        return self.norm2(h + self.linear2(torch.relu(self.linear1(h))))


def fmt(t):
    return " ".join("%.9g" % v for v in t.detach().reshape(-1).tolist())


def shape(t):
    return " ".join(str(d) for d in t.shape) or "-"


OPTIMIZERS = [
    ("sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01), None),
    ("adam", dict(lr=0.01), None),
    ("adamw", dict(lr=0.01, weight_decay=0.01), None),
    ("sgd", dict(lr=0.1), ("cosine", dict(total_steps=STEPS, min_lr=0.01))),
]


def make_opt(name, params, kw):
    return {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name](params, **kw)


def case(title, model_line, model, x, y, loss_name):
    print(model_line)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    for k, v in init.items():
        print("PARAM %s %s : %s" % (k, shape(v), fmt(v)))
    print("INPUT %s : %s" % (shape(x), fmt(x)))
    print("TARGET %s %s : %s" % (y.dtype == torch.int64 and "int" or "float", shape(y), fmt(y)))
    for name, kw, sched in OPTIMIZERS:
        model.load_state_dict(init)
        opt = make_opt(name, model.parameters(), kw)
        s = None
        if sched:
            s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=sched[1]["total_steps"], eta_min=sched[1]["min_lr"])
        losses = []
        for _ in range(STEPS):
            opt.zero_grad()
            out = model(x)
            loss = nn.functional.cross_entropy(out, y) if loss_name == "ce" else nn.functional.mse_loss(out, y)
            loss.backward()
            opt.step()
            if s:
                s.step()
            losses.append(loss.item())
        opts = " ".join("%s=%r" % kv for kv in kw.items())
        if sched:
            opts += " schedule=%s total_steps=%d min_lr=%r" % (sched[0], sched[1]["total_steps"], sched[1]["min_lr"])
        print("RUN %s %s : %s" % (name, opts, " ".join("%.9g" % l for l in losses)))
    print("END")


torch.manual_seed(1234)
mlp = Mlp(8, 16, 4)
x = torch.randn(10, 8)
y = torch.randint(0, 4, (10,))
case("mlp", "MODEL mlp 8 16 4 ce", mlp, x, y, "ce")

torch.manual_seed(99)
block = Block(16, 2, 32)
xb = torch.randn(2, 5, 16)
yb = torch.randn(2, 5, 16)
case("block", "MODEL block 16 2 32 mse", block, xb, yb, "mse")
