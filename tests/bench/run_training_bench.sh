#!/usr/bin/env bash
# Training steps per second, side by side in one run: plain libtorch C++ (the
# floor), the primitive table (C), LispE (when configured) and Python PyTorch
# on the same libtorch (Debian's python3-torch), at 1 and 2 threads.
# Debian's libtorch uses the pthread OpenBLAS, whose pool fights OpenMP's on
# few cores; the library keeps BLAS single-threaded. The "+blas1" rows run the
# C++ and Python peers with OPENBLAS_NUM_THREADS=1 to show the difference.
# The whole sequence runs ROUNDS times (default 3), interleaved, and each
# figure is its best round: the machine's other load comes in bursts and
# only ever slows a run down.
#   ROUNDS=3 bash tests/bench/run_training_bench.sh [build-dir] [steps]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
N=${2:-200}
cmake --build "$B" --target bench_training bench_training_cpp >/dev/null
ldir=$(grep -E '^LISPE_DIR:' "$B/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)
lispe=${ldir:+$ldir/bin/lispe}
have_py=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_py=1
out=$(mktemp)
for round in $(seq "${ROUNDS:-3}"); do
for th in 1 2; do
  { "$B/bench_training_cpp" "$N" "$th" | sed "s/^cpp /cpp@$th /"
    OPENBLAS_NUM_THREADS=1 "$B/bench_training_cpp" "$N" "$th" | sed "s/^cpp /cpp+blas1@$th /"
    "$B/bench_training" "$N" "$th" | sed "s/^table /table@$th /"
    if [ $have_py = 1 ]; then
      /usr/bin/python3 tests/bench/bench_training.py "$N" "$th" | sed "s/^python /python@$th /"
      OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/bench/bench_training.py "$N" "$th" | sed "s/^python /python+blas1@$th /"
    fi
    if [ -n "$lispe" ] && [ -x "$lispe" ]; then
      LT_BENCH_STEPS=$N LT_BENCH_THREADS=$th LISPEPATH=$PWD/$B "$lispe" tests/bench/bench_training.lisp | sed "s/^lispe /lispe@$th /"
    fi
  } | tee -a "$out"
done
done
echo
echo "steps/s       runner        threads   mlp      block   (ratio to cpp+blas1)"
awk '{split($1, a, "@"); r=a[1]; t=a[2]; if (!((r, t, $2) in v) || $3 > v[r, t, $2]) v[r, t, $2]=$3; ts[t]=1}
     END { n=split("cpp cpp+blas1 table lispe python python+blas1", order, " ");
       for (t in ts) for (i=1;i<=n;i++) { r=order[i]; if (!((r, t, "mlp") in v)) continue;
         fm=v["cpp+blas1", t, "mlp"]; fb=v["cpp+blas1", t, "block"];
         printf "%-13s %-13s %-7s %8.1f %8.1f   (%.2fx %.2fx)\n", "", r, t, v[r,t,"mlp"], v[r,t,"block"],
                v[r,t,"mlp"]/fm, v[r,t,"block"]/fb } }' "$out" | sort -k2,2 -k1,1
rm -f "$out"
