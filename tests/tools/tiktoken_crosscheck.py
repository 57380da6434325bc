#!/usr/bin/env python3
"""Cross-check lt_tiktoken against OpenAI's tiktoken (PyPI) on random text.

Usage: python3 tests/tools/tiktoken_crosscheck.py LIB.so [SHARED_DATA_DIR [N [SEED]]]

LIB.so is the tokenizer compiled as a shared library, e.g.
  gcc -std=c11 -O2 -shared -fPIC -Iinclude src/tokenizers/tiktoken*.c \
      $(pkg-config --cflags --libs libpcre2-8 json-c) -lpthread -o /tmp/libltt.so
Random strings are drawn from many Unicode classes (letters of several
scripts, marks, digits, all White_Space characters, U+180E, apostrophe
contractions in mixed case, long runs, CR/LF mixes).  For each encoding
(gpt2, r50k_base, p50k_base, cl100k_base, o200k_base) the ordinary and the
all-special encodings must be identical.  Exit status 1 on any mismatch.
Needs `pip install tiktoken`; works offline from the shared rank files.
"""
import ctypes
import json
import os
import random
import sys

POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u200a\u2028\u2029\u202f\u205f\u3000\u180e\u200b\ufeff")
    + list("'\u2019.,;:!?-_/\\()[]{}<>|@#$%^&*+=~`\"")
    + list("éèÀÉÎÕÜßſKÆøñçİıǅǈ")  # includes long s, Kelvin sign, title case
    + list("\u0301\u0308\u0351\u036b\u0313")  # combining marks
    + list("Привет мир Γειά 日本語中文한국어مرحباשלוםहिन्दीไทย")
    + list("٠١٢३४५߀①Ⅻ½²")  # other digits / numbers
    + ["🤖", "👍🏽", "👨\u200d👩", "🇩🇪", "❤️", "\U0001f600", "\U00010400", "\U0001d400"]
    + ["'s", "'S", "'t", "'RE", "'ve", "'M", "'ll", "'D", "'ſ", "<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>",
       "\r\n", "\n\n", "   ", "1234567", "http://x.y/z"]
)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    lib = ctypes.CDLL(sys.argv[1])
    data = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("LT_SHARED_DATA") or "../shared/data"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    os.environ["TIKTOKEN_CACHE_DIR"] = ""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    lib.lt_tiktoken_load_file.restype = ctypes.c_void_p
    lib.lt_tiktoken_load_file.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.lt_tiktoken_encode.restype = ctypes.c_int
    lib.lt_tiktoken_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int,
                                       ctypes.c_void_p, ctypes.c_size_t,
                                       ctypes.POINTER(ctypes.POINTER(ctypes.c_uint32)),
                                       ctypes.POINTER(ctypes.c_size_t)]
    lib.lt_tiktoken_free.argtypes = [ctypes.c_void_p]
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]

    def c_encode(tok, b, allow):
        out = ctypes.POINTER(ctypes.c_uint32)()
        cnt = ctypes.c_size_t()
        rc = lib.lt_tiktoken_encode(tok, b, len(b), allow, None, 0, ctypes.byref(out), ctypes.byref(cnt))
        if rc:
            return None
        ids = out[: cnt.value]
        libc.free(ctypes.cast(out, ctypes.c_void_p))
        return ids

    rng = random.Random(seed)
    texts = []
    for i in range(n):
        k = rng.choice([1, 3, 10, 30, 100, 400])
        texts.append("".join(rng.choice(POOL) for _ in range(rng.randint(0, k))))
    bad = 0
    for name in ["gpt2", "r50k_base", "p50k_base", "cl100k_base", "o200k_base"]:
        rank_file = os.path.join(data, "tiktoken", name + ".tiktoken")
        meta = json.load(open(os.path.join(data, "tiktoken", name + ".meta.json")))
        enc = tiktoken.Encoding(name=name + "_x", pat_str=meta["pat_str"],
                                mergeable_ranks=load_tiktoken_bpe(rank_file),
                                special_tokens=meta["special_tokens"])
        err = ctypes.create_string_buffer(512)
        tok = lib.lt_tiktoken_load_file(rank_file.encode(), err, 512)
        if not tok:
            print(name, "load failed:", err.value.decode())
            return 1
        mism = 0
        for t in texts:
            b = t.encode("utf-8")
            for allow in (0, 1):
                exp = enc.encode(t, allowed_special="all") if allow else enc.encode_ordinary(t)
                got = c_encode(tok, b, allow)
                if got != exp:
                    mism += 1
                    if mism <= 5:
                        print(f"  {name} allow={allow} mismatch on {t!r}\n    got {got}\n    exp {exp}")
        lib.lt_tiktoken_free(tok)
        print(f"  {name:<12} {len(texts)} random texts x 2 modes: {2*len(texts)-mism}/{2*len(texts)} identical")
        bad += mism
    print("crosscheck:", "OK" if bad == 0 else f"{bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
