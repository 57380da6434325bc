#!/usr/bin/env python3
"""safetensors_check.py FILE... - checks safetensors files written by
lispe_torch with the reference implementation (the `safetensors` PyPI
package, Rust, and `numpy`; pip install safetensors numpy):

 1. safetensors.deserialize parses and validates the whole file;
 2. safe_open(framework="numpy") reads every tensor numpy can hold (all but
    BF16) and its values equal the raw bytes; the metadata is read;
 3. the reference writer, given the same tensors and metadata, produces the
    same header (same JSON, same length, same tensor order and offsets) and
    the same data bytes; byte-identical files when the metadata has at most
    one key (the Rust writer keeps metadata in a hash map: key order varies).
 4. with torch installed, safetensors.torch.load_file gives the same bytes
    (BF16 included).
Prints one line per tensor and "OK <file>"; exits 1 on any mismatch.
"""
import json
import sys

import numpy as np
import safetensors
from safetensors import safe_open

NP = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
      "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
PYNAMES = {"F32": "float32", "F64": "float64", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
           "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
           "U16": "uint16", "U32": "uint32", "U64": "uint64"}


def decode(code, shape, raw):
    if code == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=np.dtype(NP[code]).newbyteorder("<")).reshape(shape)


def reserialize(tensors, metadata):
    keep = []
    if hasattr(safetensors, "TensorSpec"):
        specs = {}
        for name, t in tensors.items():
            a = np.frombuffer(bytes(t["data"]), dtype=np.uint8).copy()
            keep.append(a)
            specs[name] = safetensors.TensorSpec(dtype=PYNAMES[t["dtype"]], shape=list(t["shape"]),
                                                 data_ptr=a.ctypes.data if a.size else 0, data_len=a.nbytes)
        return safetensors.serialize(specs, metadata)
    return safetensors.serialize({n: {"dtype": t["dtype"], "shape": t["shape"], "data": bytes(t["data"])}
                                  for n, t in tensors.items()}, metadata)


def check(path):
    errors = []
    data = open(path, "rb").read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    tensors = dict(safetensors.deserialize(data))  # 1. full validation by the Rust reader
    with safe_open(path, framework="numpy") as f:  # 2.
        metadata = f.metadata()
        for name in sorted(tensors, key=lambda k: header[k]["data_offsets"]):
            t = tensors[name]
            raw = bytes(t["data"])
            values = decode(t["dtype"], t["shape"], raw)
            if t["dtype"] != "BF16":
                a = f.get_tensor(name)
                if a.tobytes() != raw or list(a.shape) != list(t["shape"]):
                    errors.append("%s: numpy reader disagrees" % name)
            flat = values.reshape(-1)
            shown = ", ".join(str(x) for x in flat[:6]) + (" ..." if flat.size > 6 else "")
            print("  %-24s %-4s %-12s [%s]" % (name, t["dtype"], list(t["shape"]), shown))
    print("  metadata:", json.dumps(metadata, ensure_ascii=False))
    again = reserialize(tensors, metadata)  # 3. the reference writer on the same input
    m = int.from_bytes(again[:8], "little")
    same_header = json.loads(again[8:8 + m]) == header
    same_order = [k for k in json.loads(again[8:8 + m])] [1 if metadata else 0:] == \
        [k for k in header if k != "__metadata__"]
    if m != n or not same_header or not same_order or again[8 + m:] != data[8 + n:]:
        errors.append("the reference writer lays the same tensors out differently "
                      "(header %d vs %d bytes, same JSON %s, same order %s, same data %s)" %
                      (m, n, same_header, same_order, again[8 + m:] == data[8 + n:]))
    if again == data:
        print("  byte-identical to the reference writer's output")
    elif not errors:
        print("  same header JSON, order, offsets and data as the reference writer "
              "(metadata key order differs: a hash map in the Rust writer)")
    try:  # 4.
        import torch
        from safetensors.torch import load_file
        tt = load_file(path)
        for name, t in tensors.items():
            x = tt[name].contiguous()
            raw = x.reshape(-1).view(torch.uint8).numpy().tobytes() if x.numel() else b""
            if raw != bytes(t["data"]) or list(x.shape) != list(t["shape"]):
                errors.append("%s: torch reader disagrees" % name)
        print("  safetensors.torch.load_file (torch %s): same bytes" % torch.__version__)
    except ImportError:
        pass
    for e in errors:
        print("  ERROR:", e)
    print(("OK " if not errors else "FAILED ") + path)
    return not errors


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    print("safetensors %s, numpy %s" % (safetensors.__version__, np.__version__))
    good = True
    for p in sys.argv[1:]:
        print(p)
        try:
            good = check(p) and good
        except Exception as e:  # the Rust reader's SafetensorError, or json errors
            print("  ERROR: %s: %s" % (type(e).__name__, e))
            print("FAILED " + p)
            good = False
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
