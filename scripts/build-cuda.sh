#!/usr/bin/env bash
# The GPU build: the LibTorch of a CUDA-enabled torch from PyPI, installed into a virtualenv (reused when the pinned
# version is already there), and a second build directory against it with the GPU path on (core, kernels, tools,
# the GStreamer plugin, tests); then its tests, where those that need a GPU report SKIP without one.
#
#   scripts/build-cuda.sh [MESON TEST ARGS...]      default: every test but the slow torchvision parity runs
#
# Environment:
#   RETINANET_TORCH_PYTHON  a Python that already has torch (no virtualenv is made; e.g. on a GPU machine)
#   RETINANET_TORCH_VENV    the virtualenv (default ~/.cache/gst-retinanet/torch-cuda), made with /usr/bin/python3
#   RETINANET_TORCH_VERSION the torch pinned there (default 2.15.0: CUDA 13 wheels on PyPI)
#   RETINANET_CUDA_BUILD    the build directory (default build-cuda)
#   RETINANET_NO_TESTS=1    build only
set -euo pipefail
cd "$(dirname "$0")/.."
version=${RETINANET_TORCH_VERSION:-2.15.0}
build=${RETINANET_CUDA_BUILD:-build-cuda}

if [ -n "${RETINANET_TORCH_PYTHON:-}" ]; then
  python=$RETINANET_TORCH_PYTHON
else
  venv=${RETINANET_TORCH_VENV:-$HOME/.cache/gst-retinanet/torch-cuda}
  python=$venv/bin/python
  if [ ! -x "$python" ]; then
    if ! /usr/bin/python3 -c 'import ensurepip' 2>/dev/null; then
      [ "$(id -u)" -eq 0 ] || { echo "build-cuda: python3-venv is missing; run as root once" >&2; exit 1; }
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
    fi
    /usr/bin/python3 -m venv "$venv"
  fi
  installed=$("$python" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)
  if [ "$installed" != "$version" ]; then
    echo "build-cuda: installing torch==$version into $venv (was: ${installed:-none})"
    "$python" -m pip install -q "torch==$version"
  fi
fi

# Where the LibTorch lies (the torch package directory: include/ and lib/), whether it has CUDA, and its C++ ABI,
# which must be the new one of Debian's OpenCV and GoogleTest.
read -r torch_dir has_cuda abi < <("$python" - <<'EOF'
import os, warnings
warnings.filterwarnings("ignore")
import torch
print(os.path.dirname(torch.__file__), int(torch.version.cuda is not None), int(torch._C._GLIBCXX_USE_CXX11_ABI))
EOF
)
[ "$abi" = 1 ] || { echo "build-cuda: $torch_dir uses the old C++ ABI; Debian's libraries need the new one" >&2; exit 1; }
[ "$has_cuda" = 1 ] || echo "build-cuda: warning: $torch_dir has no CUDA; the GPU path stays off" >&2

if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
options=(-Dtorch_dir="$torch_dir" -Dcpp_std=c++20)
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" "${options[@]}" >/dev/null
else
  meson setup "$build" "${options[@]}"
fi
ninja -C "$build"
[ "${RETINANET_NO_TESTS:-0}" = 1 ] && exit 0
if [ $# -eq 0 ]; then set -- --no-suite parity; fi
meson test -C "$build" --print-errorlogs --num-processes "$(nproc)" "$@"
