#!/usr/bin/env bash
# The project's test command: installs what is missing, builds, runs every test (`meson test`).
# Arguments go to `meson test` (e.g. a suite name: scripts/test.sh --suite core).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
meson test -C build --print-errorlogs --num-processes "$(nproc)" "$@"
