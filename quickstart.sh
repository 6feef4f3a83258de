#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   ./quickstart.sh demo   install what is missing, build, train and evaluate the shipped demo
#   ./quickstart.sh test   install what is missing, build with -Werror, run every test suite,
#                          then the sanitizer (ASan+UBSan) pass and the bounded fuzz run
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev
  libglib2.0-dev libjson-glib-dev libopenblas-dev libcunit1-dev
  dataset-fashion-mnist)
PACKAGES+=(libsentencepiece-dev) # core/tokenizer-spm.cc
PACKAGES+=(libsndfile1-dev) # core/audiofile.c
PACKAGES+=(libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good) # plugins/ (libgstnerve.so), gstreamer-check for its tests, gst-launch-1.0
PACKAGES+=(sonic-pi-samples espeak-ng flite sox) # denoise training: noise samples; voices for models/denoise/make-tts.sh
PACKAGES+=(ffmpeg gstreamer1.0-plugins-bad pocketsphinx-testdata python3-numpy) # models/denoise/evaluate.py, bench-denoise: decoding, the webrtcdsp and arnndn peers, held-out speech and noise

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build-dir [meson options...]
  local dir=$1; shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
  ninja -C "$dir"
}

case "${1:-}" in
demo)
  install_missing
  build build
  echo "== training the Fashion-MNIST CNN briefly (models/fashion/cnn-quick.recipe)"
  ./build/core/cli/nerve train models/fashion/cnn-quick.recipe --out build/demo-cnn.nerve
  ./build/core/cli/nerve eval build/demo-cnn.nerve /usr/share/datasets/fashion-mnist
  echo "== the shipped sentiment model in a GStreamer pipeline (one JSON object per line)"
  GST_PLUGIN_PATH=$PWD/build/plugins gst-launch-1.0 -q filesrc location=models/sentiment/demo.txt ! \
    nervesentiment model=models/sentiment/sentiment.nerve output=json ! fdsink fd=1
  echo "== the shipped denoise model in a GStreamer pipeline, then scored against the clean speech"
  GST_PLUGIN_PATH=$PWD/build/plugins gst-launch-1.0 -q filesrc location=tests/fixtures/denoise-noisy.flac ! \
    decodebin ! audioconvert ! audioresample ! nervedenoise model=models/denoise/denoise.nerve ! \
    wavenc ! filesink location=build/demo-enhanced.wav
  ./build/core/cli/nerve score tests/fixtures/denoise-clean.flac build/demo-enhanced.wav tests/fixtures/denoise-noisy.flac
  ;;
test)
  install_missing
  build build-ci -Dwerror=true
  OPENBLAS_NUM_THREADS=1 meson test -C build-ci -v --print-errorlogs
  echo "== sanitizer pass (clang, ASan + UBSan)"
  CC=clang CXX=clang++ build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dwerror=true -Dfuzz=true
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    OPENBLAS_NUM_THREADS=1 meson test -C build-asan -v --print-errorlogs
  if [ -x build-asan/fuzz/run-fuzzers ]; then
    echo "== fuzzing (bounded)"
    NERVE_FUZZ_SECONDS=${NERVE_FUZZ_SECONDS:-40} build-asan/fuzz/run-fuzzers
  fi
  ;;
*)
  echo "usage: $0 demo|test" >&2
  exit 2
  ;;
esac
