#!/usr/bin/env bash
# The README's demo command. Installs what is missing, builds in build/ (Release, Ninja), runs
# the llm_pipeline demo (a simulated LLM application over two services on loopback, every
# tracing pattern), then shows its trace from the local store with the `skein` tool.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

generator=()
[[ -f build/CMakeCache.txt ]] || generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DSKEIN_BUILD_EXAMPLES=ON
cmake --build build --parallel "$(nproc)" --target llm_pipeline skein quickstart

build/bin/llm_pipeline
echo
echo "==> the same trace, read back from the local store: build/bin/skein show --last"
build/bin/skein show --last
echo
echo "==> more: build/bin/skein traces | sessions | serve (web viewer on http://127.0.0.1:4318/)"
