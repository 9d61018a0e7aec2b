#!/usr/bin/env bash
# Installs what is missing, builds the quickstart example in build/ (Release, Ninja) and runs it:
# two traces printed as trees on stderr, then the tracer's counters. The README's demo command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

generator=()
[[ -f build/CMakeCache.txt ]] || generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DSKEIN_BUILD_EXAMPLES=ON
cmake --build build --parallel "$(nproc)" --target quickstart
exec build/bin/quickstart
