#!/usr/bin/env python3
"""Single-thread encode throughput of OpenAI's tiktoken (PyPI) on a corpus.

Usage: python3 tests/bench/bench_tiktoken.py [SHARED_DATA_DIR [CORPUS_FILE [RUNS]]]

SHARED_DATA_DIR defaults to $LT_SHARED_DATA, else ../shared/data.  The
encodings are built offline from the shared rank files
(<data>/tiktoken/<name>.tiktoken + <name>.meta.json) with
tiktoken.load.load_tiktoken_bpe, so nothing is downloaded.  Installs tiktoken
with pip into this interpreter when it is missing.  Prints MiB/s per encoding
(best and median of RUNS after a warm-up), like bench_tiktoken.c, and checks
the ids against <data>/tiktoken/<name>.<corpus>.ids.u32le when present.
"""
import json
import os
import statistics
import subprocess
import sys
import time


def ensure_tiktoken():
    try:
        import tiktoken  # noqa: F401
    except ImportError:
        print("installing tiktoken from PyPI ...", flush=True)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "tiktoken"])
    import tiktoken
    return tiktoken


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LT_SHARED_DATA") or "../shared/data"
    corpus = sys.argv[2] if len(sys.argv) > 2 else os.path.join(data, "corpus", "licenses_1MiB.txt")
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    if not os.path.exists(corpus):
        print(f"skipped: cannot read {corpus}")
        return 0
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # no cache, no network: local files only
    tiktoken = ensure_tiktoken()
    from tiktoken.load import load_tiktoken_bpe

    with open(corpus, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")
    mib = len(raw) / (1024 * 1024)
    corpus_stem = os.path.splitext(os.path.basename(corpus))[0]
    print(f"tiktoken {tiktoken.__version__} (PyPI, Rust) single thread, {corpus} ({mib:.2f} MiB), {runs} runs")
    for name in ["gpt2", "r50k_base", "p50k_base", "cl100k_base", "o200k_base"]:
        rank_file = os.path.join(data, "tiktoken", name + ".tiktoken")
        meta_file = os.path.join(data, "tiktoken", name + ".meta.json")
        if not (os.path.exists(rank_file) and os.path.exists(meta_file)):
            print(f"  {name:<12} skipped: no {rank_file} / meta")
            continue
        with open(meta_file) as f:
            meta = json.load(f)
        t0 = time.perf_counter()
        enc = tiktoken.Encoding(
            name=name + "_local",
            pat_str=meta["pat_str"],
            mergeable_ranks=load_tiktoken_bpe(rank_file),
            special_tokens=meta.get("special_tokens", {}),
        )
        tload = time.perf_counter() - t0
        ids = enc.encode_ordinary(text)  # warm-up
        times = []
        for _ in range(runs):
            a = time.perf_counter()
            ids = enc.encode_ordinary(text)
            times.append(time.perf_counter() - a)
        best, med = min(times), statistics.median(times)
        check = ""
        ids_file = os.path.join(data, "tiktoken", f"{name}.{corpus_stem}.ids.u32le")
        if os.path.exists(ids_file):
            import array
            exp = array.array("I")
            with open(ids_file, "rb") as f:
                exp.frombytes(f.read())
            if sys.byteorder != "little":
                exp.byteswap()
            check = "  ids == reference" if list(exp) == ids else "  ids DIFFER from reference"
        print(f"  {name:<12} {len(ids):8d} tokens  best {best*1e3:7.1f} ms  {mib/best:6.2f} MiB/s"
              f"   median {med*1e3:7.1f} ms  {mib/med:6.2f} MiB/s   (load {tload*1e3:.0f} ms){check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
