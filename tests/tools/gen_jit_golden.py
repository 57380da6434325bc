#!/usr/bin/env python3
"""Golden data for TorchScript (section 13): a small scripted model saved with
torch.jit.save by PyTorch 1.13 (Debian's python3-torch, the format every
libtorch since reads), and its outputs for a fixed input:
  tests/data/jit/mlp.pt      fc1 (4->8) relu fc2 (8->3), times a buffer `scale`
  tests/data/jit/golden.json input, output, fc1's output, names and shapes
  tests/data/jit/nested.pt   an encoder (a ModuleList of residual blocks,
                             each linear + layer norm) and a head
  tests/data/jit/nested.json its input, output and the outputs of nested
                             submodules during forward (forward hooks on the
                             eager model)

Run: /usr/bin/python3 tests/tools/gen_jit_golden.py
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "jit")


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.fc2 = torch.nn.Linear(8, 3)
        self.register_buffer("scale", torch.tensor([1.0, 2.0, 0.5]))

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))) * self.scale

    @torch.jit.export
    def hidden(self, x):
        return torch.relu(self.fc1(x))


class Block(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc = torch.nn.Linear(d, d)
        self.norm = torch.nn.LayerNorm(d)

    def forward(self, x):
        return x + self.norm(torch.tanh(self.fc(x)))


class Encoder(torch.nn.Module):
    def __init__(self, d, n):
        super().__init__()
        self.blocks = torch.nn.ModuleList([Block(d) for _ in range(n)])

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class Nested(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder(6, 3)
        self.head = torch.nn.Linear(6, 2)

    def forward(self, x):
        return self.head(self.encoder(x))


NESTED_NAMES = ["encoder", "encoder.blocks.1", "encoder.blocks.1.fc", "encoder.blocks.2.norm", "head"]


def nested():
    torch.manual_seed(7)
    eager = Nested().eval()
    x = torch.randn(2, 6)
    seen = {}
    for name in NESTED_NAMES:
        eager.get_submodule(name).register_forward_hook(
            lambda mod, inp, out, name=name: seen.__setitem__(name, out.detach().flatten().tolist()))
    with torch.no_grad():
        y = eager(x)
    m = torch.jit.script(Nested().eval())
    m.load_state_dict(eager.state_dict())
    torch.jit.save(m, os.path.join(OUT, "nested.pt"))
    g = {"input": x.flatten().tolist(), "input_shape": list(x.shape), "output": y.flatten().tolist(),
         "intermediates": seen, "made_by": "torch %s (tests/tools/gen_jit_golden.py)" % torch.__version__}
    with open(os.path.join(OUT, "nested.json"), "w") as f:
        json.dump(g, f)
        f.write("\n")
    print("saved nested", sorted(seen))


def main():
    torch.manual_seed(5)
    m = torch.jit.script(Mlp().eval())
    os.makedirs(OUT, exist_ok=True)
    torch.jit.save(m, os.path.join(OUT, "mlp.pt"))
    x = torch.randn(2, 4)
    with torch.no_grad():
        y = m(x)
        h = m.fc1(x)
    g = {
        "input": x.flatten().tolist(), "input_shape": list(x.shape),
        "output": y.flatten().tolist(), "fc1_output": h.flatten().tolist(),
        "parameters": [n for n, _ in m.named_parameters()],
        "buffers": [n for n, _ in m.named_buffers()],
        "fc1_weight": m.fc1.weight.flatten().tolist(),
        "made_by": "torch %s (tests/tools/gen_jit_golden.py)" % torch.__version__,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(g, f)
        f.write("\n")
    print("saved", g["parameters"], g["buffers"])
    nested()


if __name__ == "__main__":
    main()
