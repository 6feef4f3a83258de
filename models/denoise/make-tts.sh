#!/usr/bin/env bash
# Renders clean text-to-speech clips for denoise training (the recipes' [data] tts
# folder): N sentences of the LJ Speech transcripts (public domain text) spoken by
# espeak-ng (7 English accents x male/female variants x 3 speeds) and flite (kal16,
# awb, rms, slt), as 16 kHz mono 16-bit WAV. The voices add speakers the recorded
# speech lacks (male voices, accents). Deterministic: sentence i always gets the
# same voice, so re-running renders only what is missing.
#
#   models/denoise/make-tts.sh [N] [OUT]     (default 600 sentences into build/denoise-data/tts)
#
# Needs espeak-ng, flite and sox (apt install espeak-ng flite sox). Uses only transcripts
# of clips that are not in ../shared/data/speech/ljspeech (chapters LJ003 on), so no
# sentence of the held-out evaluation clips is ever spoken here.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-600}
OUT=${2:-build/denoise-data/tts}
META=${NERVE_DATA_DIR:-../shared/data}/speech/ljspeech/metadata.csv
JOBS=${JOBS:-2}
for tool in espeak-ng flite sox; do
  command -v "$tool" >/dev/null || { echo "make-tts.sh: $tool is missing (apt install espeak-ng flite sox)" >&2; exit 1; }
done
[ -f "$META" ] || { echo "make-tts.sh: $META not found (set NERVE_DATA_DIR to the shared data folder)" >&2; exit 1; }
mkdir -p "$OUT"

ACCENTS=(en-us en-gb en-gb-scotland en-gb-x-rp en-gb-x-gbclan en-gb-x-gbcwmd en-029)
VARIANTS=(m1 m2 m3 m4 m5 m6 m7 f1 f2 f3 f4 f5)
SPEEDS=(145 165 185)
FLITE=()
for v in kal16 awb rms slt; do
  flite -lv | grep -qw "$v" && FLITE+=("$v")
done

# id|normalized text, chapters LJ003+, 40..220 characters, every 7th line for spread
awk -F'|' -v N="$N" '$1 !~ /^LJ00[12]-/ && length($3) >= 40 && length($3) <= 220 && c < N {
  if (n++ % 7 == 0) { print $1 "|" $3; c++ } }' "$META" > "$OUT/sentences.txt"

render() { # index id text
  local i=$1 id=$2 text=$3 nf=${#FLITE[@]} f tmp
  local slot=$(( i % (7 + nf) ))
  if [ "$slot" -lt 7 ] || [ "$nf" -eq 0 ]; then
    local a=${ACCENTS[$(( i % 7 ))]} v=${VARIANTS[$(( (i / 7) % 12 ))]} s=${SPEEDS[$(( (i / 84) % 3 ))]}
    f="$OUT/$id-espeak-$a+$v-$s.wav"
    [ -s "$f" ] && return 0
    tmp=$(mktemp --suffix=.wav)
    espeak-ng -v "$a+$v" -s "$s" -w "$tmp" "$text"
  else
    local v=${FLITE[$(( slot - 7 ))]}
    f="$OUT/$id-flite-$v.wav"
    [ -s "$f" ] && return 0
    tmp=$(mktemp --suffix=.wav)
    flite -voice "$v" -t "$text" -o "$tmp"
  fi
  sox -q "$tmp" -b 16 "$f.part.wav" gain -n -3 rate 16000 channels 1 && mv "$f.part.wav" "$f"
  rm -f "$tmp"
}
export -f render
export OUT
export ACCENTS_S="${ACCENTS[*]}" VARIANTS_S="${VARIANTS[*]}" SPEEDS_S="${SPEEDS[*]}" FLITE_S="${FLITE[*]}"

i=0
while IFS='|' read -r id text; do
  echo "$i"$'\t'"$id"$'\t'"$text"
  i=$((i + 1))
done < "$OUT/sentences.txt" |
  xargs -d '\n' -P "$JOBS" -I{} bash -c '
    ACCENTS=($ACCENTS_S) VARIANTS=($VARIANTS_S) SPEEDS=($SPEEDS_S) FLITE=($FLITE_S)
    IFS=$'"'"'\t'"'"' read -r i id text <<< "$1"
    render "$i" "$id" "$text"' _ {}
echo "$(ls "$OUT"/*.wav | wc -l) clips in $OUT ($(du -sh "$OUT" | cut -f1))"
