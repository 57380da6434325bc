#!/usr/bin/env bash
# Instructions per call of a small op (add_1elem, matmul_4x4, create_16) or per
# training step (mlp, block), through libtorch C++ (the floor), the primitive
# table, LispE and Python PyTorch, counted by valgrind's callgrind: unlike
# time, the count does not move with the machine's load. Each runner runs at
# two sizes; the difference is the cost of the extra calls or steps (start-up
# and library loading cancel out). Slow: valgrind runs each program ~50x
# slower; about 10 minutes for an op, more for a model.
#   bash tests/bench/count_instructions.sh [build-dir] [op|mlp|block] [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
OP=${2:-add_1elem}
command -v valgrind >/dev/null || { echo "skipped: no valgrind (apt-get install valgrind)"; exit 0; }
cmake --build "$B" --target bench_overhead bench_overhead_cpp bench_training bench_training_cpp >/dev/null
ldir=$(grep -E '^LISPE_DIR:' "$B/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)
lispe=${ldir:+$ldir/bin/lispe}
[ -n "$lispe" ] && [ -x "$lispe" ] || lispe=
py=
/usr/bin/python3 -c 'import torch' 2>/dev/null && py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
refs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
         awk '/refs:/ {gsub(",", "", $NF); print $NF}'; }
export LT_BENCH_ONLY=$OP
# one BLAS configuration for every runner: lispe_torch keeps OpenBLAS at one
# thread, libtorch alone (C++, Python) leaves it at one per core, and
# threaded GEMM runs other code (stop 7: the block's C++/Python counts were
# taken without this, 1.5% under the library's)
export OPENBLAS_NUM_THREADS=1
case $OP in
  mlp|block)
    # the runners do 3 warm-up steps then 10 rounds of steps/10 (block: steps/4
    # first): these two sizes differ by 20 steps
    if [ "$OP" = mlp ]; then s1=20 s2=40; else s1=80 s2=160; fi
    d=20 unit=step
    run_cpp() { refs "$B/bench_training_cpp" "$1" 1; }
    run_table() { refs "$B/bench_training" "$1" 1; }
    run_lispe() { LT_BENCH_STEPS=$1 LT_BENCH_THREADS=1 LISPEPATH=$PWD/$B refs "$lispe" tests/bench/bench_training.lisp; }
    run_python() { refs "$py" tests/bench/bench_training.py "$1" 1; }
    ;;
  add_1elem|matmul_4x4|create_16)
    # the C and C++ runners do 0.1 N warm-up calls and 5 rounds of N
    N=${3:-4000}
    s1=$N s2=$((2 * N)) d=$((51 * N / 10)) unit=call
    case $OP in
      add_1elem) setup='(setq a (tensor_full (integers 1) 1.5))'; call='(tensor_add a a)' ;;
      matmul_4x4) setup='(setq a (tensor_rand (integers 4 4)))'; call='(tensor_matmul a a)' ;;
      create_16) setup=''; call='(tensor_create (floats 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))' ;;
    esac
    for n in "$s1" "$s2"; do
      printf "(use 'lispe_torch)\n%s\n(loopcount %d i %s)\n" "$setup" $((n * 51 / 10)) "$call" > "$tmp/l$n.lisp"
    done
    run_cpp() { refs "$B/bench_overhead_cpp" "$1"; }
    run_table() { refs "$B/bench_overhead" "$1"; }
    run_lispe() { LISPEPATH=$PWD/$B refs "$lispe" "$tmp/l$1.lisp"; }
    py=  # the Python runner times several ops in one go
    ;;
  *) echo "unknown op $OP"; exit 2 ;;
esac
floor=
for r in cpp table lispe python; do
  case $r in lispe) [ -n "$lispe" ] || { echo "lispe: skipped (no LispE configured)"; continue; } ;;
             python) [ -n "$py" ] || continue ;; esac
  a=$(run_$r "$s1")
  b=$(run_$r "$s2")
  per=$(( (b - a) / d ))
  [ -n "$floor" ] || floor=$per
  printf "%-10s %-7s %12s instructions/%s  (%s x cpp)\n" "$OP" "$r" "$per" "$unit" \
    "$(awk -v a="$per" -v b="$floor" 'BEGIN {printf "%.3f", a/b}')"
done
