#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time.
#   fuzz/run.sh [SECONDS]        # default 20 s per target; exit status 1 on any crash
# Build directory: build-fuzz/ at the top of the tree (override with SKEIN_FUZZ_BUILD_DIR).
# Crash reproducers are written to build-fuzz/crashes/<target>/.
set -euo pipefail
seconds="${1:-20}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKEIN_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${SKEIN_FUZZ_BUILD_JOBS:-2}"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSKEIN_BUILD_FUZZERS=ON -DSKEIN_SANITIZE=address,undefined \
  -DSKEIN_BUILD_TESTS=OFF -DSKEIN_BUILD_BENCH=OFF -DSKEIN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target skein_fuzzers -j "$jobs"

status=0
targets=(traceparent tracestate baggage extract)
for t in otlp_decode otlp_response; do  # built when the OTLP decoder is
  [[ -x "$build/bin/fuzz_$t" ]] && targets+=("$t")
done
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  crashes="$build/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  echo "== fuzz_$target: ${seconds}s"
  if ! "$build/bin/fuzz_$target" "$corpus" "$root/fuzz/corpus/$target" \
      $([[ $target == otlp_* ]] || echo "-dict=$root/fuzz/w3c.dict") -max_total_time="$seconds" -max_len=16384 -timeout=5 \
      -rss_limit_mb=1024 -malloc_limit_mb=256 -artifact_prefix="$crashes/" -print_final_stats=1 \
      2>"$build/fuzz_$target.log"; then
    echo "fuzz_$target FAILED; log: $build/fuzz_$target.log" >&2
    tail -n 40 "$build/fuzz_$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz_$target.log" || true
  fi
done
exit "$status"
