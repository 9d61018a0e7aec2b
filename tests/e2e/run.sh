#!/bin/sh
# ctest entry for the end-to-end tests: exits 77 (skipped) when `npm ci` has not been run here.
# Usage: run.sh SKEIN_BIN TEST_FILE
dir=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$dir/node_modules" ]; then
  echo "skipped: run 'npm ci' in $dir first (needs Node.js and npm)"
  exit 77
fi
export SKEIN_BIN="$1"
cd "$dir" && exec node --test "$2"
