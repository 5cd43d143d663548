#!/usr/bin/env bash
# The whole test suite on a fresh machine: system libraries, build, then every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build
swift test --no-parallel "$@"
