#!/usr/bin/env python3
"""safetensors_golden.py - writes the golden safetensors file read by
tests/c/test_safetensors.c, with the reference writer (the `safetensors`
PyPI package, Rust) and `numpy`:

  tests/data/safetensors_golden.safetensors   every dtype lispe_torch holds
                                              (F32 F64 F16 BF16 I64 I32 I16 I8
                                              U8 BOOL), a 0-d and an empty
                                              tensor, a UTF-8 name, metadata
  tests/data/safetensors_golden.json          what the C test must find: per
                                              tensor dtype, shape, the raw
                                              little-endian bytes (hex) and
                                              the values; the file order;
                                              the metadata

Usage: python3 tests/tools/safetensors_golden.py [outdir]   (pip install safetensors numpy)
The Rust writer keeps the metadata in a hash map, so two runs may order the
metadata keys differently: the committed file is one such run.
"""
import json
import math
import os
import sys

import numpy as np
import safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data")

# numpy dtype names -> safetensors dtype codes
CODES = {"float32": "F32", "float64": "F64", "float16": "F16", "int64": "I64", "int32": "I32",
         "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}
# the Python-facing dtype names of safetensors >= 0.6 (TensorSpec)
PYNAMES = {"F32": "float32", "F64": "float64", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
           "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}


def bf16(values):
    """float32 values (exactly representable in bfloat16) -> uint16 bit patterns"""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32)
    assert np.all((bits & 0xFFFF) == 0), "values must be exact in bfloat16"
    return (bits >> 16).astype(np.uint16)


def serialize(tensors, metadata):
    """tensors: name -> (code, shape, contiguous little-endian numpy array)"""
    if hasattr(safetensors, "TensorSpec"):  # safetensors >= 0.6
        specs = {name: safetensors.TensorSpec(dtype=PYNAMES[code], shape=list(shape), data_ptr=a.ctypes.data,
                                              data_len=a.nbytes)
                 for name, (code, shape, a) in tensors.items()}
        return safetensors.serialize(specs, metadata)
    raw = {name: {"dtype": code, "shape": list(shape), "data": a.tobytes()} for name, (code, shape, a) in tensors.items()}
    return safetensors.serialize(raw, metadata)


def value(x):
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def main():
    arrays = {
        "f32_matrix": np.array([[1.5, -2.25, 0.0], [-0.0, 3.4028234663852886e38, 1.401298464324817e-45]], np.float32),
        "f32_special": np.array([np.nan, np.inf, -np.inf], np.float32),
        "f32_cube": np.arange(8, dtype=np.float32).reshape(2, 2, 2) / 8,
        "f64": np.array([math.pi, -1e300, 2.5e-310, 1.0 / 3.0], np.float64),
        "f16": np.array([[1.0, -2.5], [65504.0, 5.960464477539063e-08]], np.float16),
        "i64": np.array([-(2 ** 63), 2 ** 63 - 1, 42], np.int64),
        "i32": np.array([[-2 ** 31, 2 ** 31 - 1], [0, -1]], np.int32),
        "i16": np.array([-32768, 32767], np.int16),
        "i8": np.array([-128, 127, 0, -1], np.int8),
        "u8": np.array([[0, 255], [128, 7]], np.uint8),
        "bool": np.array([True, False, True, True, False]),
        "scalar": np.array(7.0, np.float32),
        "empty": np.zeros((0, 3), np.float32),
        "layers.0.w\u00e9ight": np.array([0.25, -0.5], np.float32),
    }
    tensors = {}
    expected = {}
    for name, a in arrays.items():
        a = a.astype(a.dtype.newbyteorder("<"), order="C")  # (ascontiguousarray would make 0-d 1-d)
        tensors[name] = (CODES[a.dtype.name], a.shape, a)
        expected[name] = {"dtype": CODES[a.dtype.name], "shape": list(a.shape), "hex": a.tobytes().hex(),
                          "values": [value(x) for x in a.reshape(-1)]}
    bvals = [1.0, -3.140625, 1.0141204801825835e31, -0.0]  # exact in bfloat16
    b = bf16(bvals)
    tensors["bf16"] = ("BF16", (2, 2), b.reshape(2, 2))
    expected["bf16"] = {"dtype": "BF16", "shape": [2, 2], "hex": b.astype("<u2").tobytes().hex(), "values": bvals}

    metadata = {"format": "pt", "source": "tests/tools/safetensors_golden.py", "note": "\u00fcn\u00efc\u00f6d\u00e9 \u2713"}
    data = serialize(tensors, metadata)
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    order = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"])

    # read it back with the package: every value as written
    back = dict(safetensors.deserialize(data))
    for name, (code, shape, a) in tensors.items():
        assert back[name]["dtype"] == code and list(back[name]["shape"]) == list(shape), name
        assert bytes(back[name]["data"]) == a.tobytes(), name

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "safetensors_golden.safetensors"), "wb") as f:
        f.write(data)
    with open(os.path.join(OUT, "safetensors_golden.json"), "w", encoding="utf-8") as f:
        json.dump({"safetensors_version": safetensors.__version__, "numpy_version": np.__version__,
                   "header_length": n, "order": order, "metadata": metadata, "tensors": expected},
                  f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %d tensors, %d bytes (header %d) to %s" % (len(tensors), len(data), n, OUT))
    print("file order:", " ".join(order))


if __name__ == "__main__":
    main()
