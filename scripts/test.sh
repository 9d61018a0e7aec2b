#!/usr/bin/env bash
# Installs what is missing, builds everything (library, tests, examples, benchmarks) in build/
# (Release, Ninja) and runs every test. The README's test command; .ci/run calls it too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

jobs=$(nproc)
generator=()
# Keep the generator of an existing build/; a fresh one uses Ninja.
[[ -f build/CMakeCache.txt ]] || generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DSKEIN_BUILD_TESTS=ON -DSKEIN_BUILD_EXAMPLES=ON -DSKEIN_BUILD_BENCH=ON
cmake --build build --parallel "$jobs"
# The end-to-end tests use the OpenTelemetry JavaScript SDK and playwright-core from npm (exact
# versions in tests/e2e/package-lock.json) with Debian's chromium; without node_modules they skip.
if command -v npm >/dev/null 2>&1; then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
ctest --test-dir build --output-on-failure --parallel "$jobs"
