#!/usr/bin/env bash
# Runs `parley demo` on a fresh machine: system libraries, build, then the demo federation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build
exec .build/debug/parley demo "$@"
