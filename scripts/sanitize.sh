#!/usr/bin/env bash
# The core and element tests under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs it after the fuzz targets).
# Builds build-asan/ (-Db_sanitize=address,undefined; -Db_lundef=false: the plugin takes the sanitizer runtime from
# its host; -O1 -g1: about the compile time of the release build, with line numbers in the reports) and only what
# these tests need. Python and gst-launch hosts are not instrumented, so every test runs through a wrapper that
# preloads the runtimes (libasan first, then libubsan and libstdc++); gst-plugin-scanner is not instrumented either
# and would blacklist the plugin, so the registry is built in the test process itself (GST_REGISTRY_FORK=no), each
# test with its own fresh registry file.
#
#   scripts/sanitize.sh [TEST NAMES...]   default: the core units, the COCO reader, the tracker, the stream policy,
#                                         and the element tests (GstHarness) with their lifecycle/leaks-tracer half
#
# Not run under it: the torchvision parity suites (numerics, not memory) and the Python end-to-end tests (their hosts
# are Python and gst-launch; the same elements are exercised by the element tests).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan
[ -f "$build/build.ninja" ] || meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=plain -Doptimization=1 -Dcpp_args=-g1 -Dc_args=-g1 >/dev/null
targets=(tools/retinanet-detect gst/libgstretinanet.so tests/torchvision_fixtures.safetensors tests/core-tests
         tests/coco-reader-tests tests/tracking-tests tests/gst/gst_test_model.safetensors tests/gst/gst-element-tests
         tests/gst/gst-stream-policy-tests)
ninja -C "$build" "${targets[@]}"
wrapper="$PWD/$build/asan-wrap.sh"
asan=$(g++ -print-file-name=libasan.so)
ubsan=$(g++ -print-file-name=libubsan.so)
stdcxx=$(g++ -print-file-name=libstdc++.so)
cat > "$wrapper" <<WRAP
#!/usr/bin/env bash
# Made by scripts/sanitize.sh: the sanitizer runtimes in every test host.
export LD_PRELOAD="$(readlink -f "$asan"):$(readlink -f "$ubsan"):$(readlink -f "$stdcxx")\${LD_PRELOAD:+:\$LD_PRELOAD}"
# Leaks: LibTorch, Python and GLib keep their process-lifetime allocations (the element tests run GStreamer's
# leaks tracer for objects). Everything else stops the test at the first report.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_odr_violation=0\${ASAN_OPTIONS:+:\$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1\${UBSAN_OPTIONS:+:\$UBSAN_OPTIONS}"
export GST_REGISTRY_FORK=no
exec "\$@"
WRAP
chmod +x "$wrapper"
# Each run starts from fresh registries (one scanned without the sanitizer runtime would have blacklisted us).
find "$build/tests" -name 'registry-*.bin' -delete 2>/dev/null || true
if [ $# -eq 0 ]; then set -- core coco-reader tracking gst-stream-policy gst-elements gst-lifecycle; fi
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes "$(nproc)" --wrapper "$wrapper" \
  --timeout-multiplier 4 "$@"
