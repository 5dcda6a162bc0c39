#!/usr/bin/env bash
# Installs the Debian packages the project needs (when run as root) and builds into build/.
# Extra arguments go to `meson setup` on the first run (e.g. -Dtorch_dir=/path/to/libtorch).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
else
  bash scripts/install-deps.sh >/dev/null || { echo "build: run as root once to install the dependencies" >&2; exit 1; }
fi
# The CUDA toolkit's standard location, for meson to find nvcc (the kernels in cuda/ build whenever it is there).
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
[ -f build/build.ninja ] || meson setup build "$@"
ninja -C build
