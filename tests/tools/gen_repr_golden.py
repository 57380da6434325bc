#!/usr/bin/env python3
"""Golden reprs from Python PyTorch (run with Debian's /usr/bin/python3, the
same libtorch 1.13 the library links). Each case names how the C test builds
the tensor: values, dtype, shape; the expected text follows until END.

    /usr/bin/python3 tests/tools/gen_repr_golden.py > tests/data/repr_golden.txt
"""
import torch

CASES = [
    # (values spec, dtype, shape, requires_grad)
    ("explicit:1,2,3", "float32", [3], False),
    ("explicit:1.5,-2.25,3", "float32", [3], False),
    ("explicit:1,2,3,4,5,6", "int64", [2, 3], False),
    ("explicit:0.0001,1000,5", "float32", [3], False),
    ("explicit:123456789,1", "float64", [2], False),
    ("explicit:0,0,0", "float32", [3], False),
    ("explicit:1,0,1", "bool", [3], False),
    ("explicit:3.25", "float32", [], False),
    ("explicit:7", "int64", [], False),
    ("explicit:1,2", "float64", [2], False),
    ("explicit:1,2", "int32", [2], False),
    ("explicit:1,2", "float16", [2], False),
    ("explicit:", "float32", [0], False),
    ("explicit:", "int64", [0, 3], False),
    ("explicit:1,2,3", "float32", [3], True),
    ("arange_div7", "float32", [40], False),
    ("arange_div7", "float32", [2, 3, 4], False),
    ("arange", "int64", [2000], False),
    ("arange_div7", "float32", [50, 40], False),
    ("arange_div7", "float64", [6, 7], False),
    ("arange_sq", "float32", [12], False),
]


def build(spec, dtype, shape):
    if spec.startswith("explicit:"):
        vals = [float(v) for v in spec[len("explicit:"):].split(",") if v]
        t = torch.tensor(vals, dtype=torch.float64)
    else:
        n = 1
        for d in shape:
            n *= d
        t = torch.arange(n, dtype=torch.float64)
        if spec == "arange_div7":
            t = t / 7 - 2
        elif spec == "arange_sq":
            t = (t - 5) ** 3 / 3
    return t.reshape(shape).to(getattr(torch, dtype))


for spec, dtype, shape, rg in CASES:
    t = build(spec, dtype, shape)
    if rg:
        t.requires_grad_(True)
    print("CASE %s %s %s %d" % (spec, dtype, ",".join(map(str, shape)) or "-", int(rg)))
    print(repr(t))
    print("END")
