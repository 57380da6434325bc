#!/usr/bin/env bash
# Per-call overhead side by side, in one run: libtorch C++ (the floor), the
# primitive table (C), LispE (when built with -DLISPE_DIR) and Python PyTorch
# on the same libtorch (Debian's python3-torch: apt-get install python3-torch).
# Each runner keeps the best of 5 rounds, and the whole sequence runs ROUNDS
# times (default 3), interleaved, keeping each figure's best: the machine's
# other load only ever adds time, and it comes in bursts.
#   ROUNDS=3 bash tests/bench/run_bench.sh [build-dir] [iterations]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
N=${2:-200000}
cmake --build "$B" --target bench_overhead bench_overhead_cpp >/dev/null
out=$(mktemp)
ldir=$(grep -E '^LISPE_DIR:' "$B/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)
lispe=${ldir:+$ldir/bin/lispe}
have_py=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_py=1
for round in $(seq "${ROUNDS:-3}"); do
  echo "== round $round"
  "$B/bench_overhead_cpp" "$N" | tee -a "$out"
  "$B/bench_overhead" "$N" | tee -a "$out"
  if [ $have_py = 1 ]; then
    /usr/bin/python3 tests/bench/bench_overhead.py "$N" | tee -a "$out"
  else
    echo "python: skipped (no python3-torch)"
  fi
  if [ -n "$lispe" ] && [ -x "$lispe" ]; then
    LISPEPATH=$PWD/$B "$lispe" tests/bench/bench_overhead.lisp | tee -a "$out"
  else
    echo "lispe: skipped (no LispE configured)"
  fi
done
echo
echo "op            cpp(ns)  table(ns)  lispe(ns)  python(ns)  table/cpp  lispe/cpp  python/cpp"
for op in add_1elem matmul_4x4 create_16; do
  awk -v op="$op" '$2==op && (!($1 in v) || $3 < v[$1]) {v[$1]=$3} END {
    c=v["cpp"]; printf "%-13s %8s %10s %10s %11s", op, c, v["table"], v["lispe"], v["python"];
    split("table lispe python", k, " ");
    for (i=1;i<=3;i++) { if (v[k[i]] != "" && c > 0) printf " %10.2fx", v[k[i]]/c; else printf " %10s", "-" }
    printf "\n" }' "$out"
done
for op in take_10 take_10M copy_10M; do
  awk -v op="$op" '$2==op && (b=="" || $3 < b) {b=$3} END {print "zero-copy " op " " b " ns"}' "$out"
done
rm -f "$out"
