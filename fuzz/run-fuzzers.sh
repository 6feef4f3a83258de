#!/usr/bin/env bash
# Runs every libFuzzer target of this build for NERVE_FUZZ_SECONDS (default 60) each,
# starting from a COPY of its seed corpus (the source tree is never written). Fails on
# any crash, leak, sanitizer report, timeout or memory blow-up and keeps the
# reproducer in <build>/fuzz/artifacts/. Made from fuzz/run-fuzzers.sh by meson.
#   NERVE_FUZZ_SECONDS=20 build-asan/fuzz/run-fuzzers
#   NERVE_FUZZ_MAX_LEN (default 65536): largest input tried, in bytes
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src='@SOURCE_DIR@'
secs=${NERVE_FUZZ_SECONDS:-60}
max_len=${NERVE_FUZZ_MAX_LEN:-65536}
work=$(mktemp -d "${TMPDIR:-/tmp}/nerve-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$here/artifacts"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OPENBLAS_NUM_THREADS=1

status=0
for t in @TARGETS@; do
  exe="$here/fuzz-$t"
  corpus="$work/corpus-$t"
  mkdir -p "$corpus"
  if [ -d "$src/fuzz/corpus/$t" ]; then
    cp -r "$src/fuzz/corpus/$t"/. "$corpus"/
  fi
  args=(-max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$here/artifacts/$t-")
  [ -f "$src/fuzz/dict/$t.dict" ] && args+=(-dict="$src/fuzz/dict/$t.dict")
  echo "== fuzz-$t: ${secs} s from $(find "$corpus" -type f | wc -l) seeds"
  if "$exe" "${args[@]}" "$corpus" >"$work/$t.log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
      "$work/$t.log" || true
    echo "   corpus grew to $(find "$corpus" -type f | wc -l) inputs"
  else
    tail -n 80 "$work/$t.log"
    echo "fuzz-$t FAILED: reproducer in $here/artifacts/ (rerun: $exe <file>)" >&2
    status=1
  fi
done
exit $status
