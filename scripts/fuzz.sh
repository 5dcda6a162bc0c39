#!/usr/bin/env bash
# libFuzzer targets (clang, ASan + UBSan) for the parsers that read what users hand us: the safetensors reader, the
# model metadata parser and the COCO annotation reader (tests/fuzz/). Builds build-fuzz/, then runs each target for
# SECONDS (default 20, what CI runs) from its seed corpus in tests/fuzz/corpus/<target>/; new inputs go to
# build-fuzz/corpus/<target>/. A crash leaves build-fuzz/crash-* and fails the script: make it a regression test
# (tests/test_fuzz_findings.cpp) and add the input to the seed corpus.
#   scripts/fuzz.sh            # 20 s each
#   scripts/fuzz.sh 3600       # an hour each
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=build-fuzz
mkdir -p "$out"
CXX=${CXX:-clang++}
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I.
       -isystem /usr/include/torch/csrc/api/include -Wno-unused-parameter)
build() {  # target, sources...
  local target=$1; shift
  local newest
  newest=$(ls -t "$@" "tests/fuzz/$target.cpp" | head -1)
  [ -x "$out/$target" ] && [ "$out/$target" -nt "$newest" ] && return
  echo "fuzz: building $target"
  "$CXX" "${flags[@]}" "tests/fuzz/$target.cpp" "$@" -o "$out/$target" \
    -Wl,--no-as-needed -ltorch_cpu -lc10 -Wl,--as-needed
}
build fuzz_safetensors model/files/safetensors.cpp
build fuzz_metadata model/files/config.cpp
build fuzz_coco model/training/coco.cpp
status=0
for target in fuzz_safetensors fuzz_metadata fuzz_coco; do
  mkdir -p "$out/corpus/$target"
  echo "fuzz: $target for ${seconds}s"
  # -rss_limit_mb: LibTorch's own start-up counts too; -max_len: the seeds are small.
  if ! ASAN_OPTIONS=detect_leaks=0 "$out/$target" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=4096 \
      -artifact_prefix="$out/" -print_final_stats=1 "$out/corpus/$target" "tests/fuzz/corpus/$target" \
      > "$out/$target.log" 2>&1; then
    status=1
    tail -40 "$out/$target.log"
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$out/$target.log" | sed "s/^/  /"
done
exit $status
