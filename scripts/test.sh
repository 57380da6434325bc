#!/usr/bin/env bash
# The whole test suite: setup + build, every test (C, golden, LispE scripts when
# LispE is configured), then the C tests again under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j2

if [ "${LT_SKIP_ASAN:-0}" != 1 ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer job =="
  BUILD_DIR=build-asan CMAKE_ARGS="-DLT_ASAN=ON -DLISPE_DIR=" \
    bash scripts/setup.sh >/dev/null
  # libtorch itself is not instrumented; its one-time global allocations are
  # not ours to report, so leak checks run on our own frames only (suppressions).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/asan/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2 -R '^c_'
fi
