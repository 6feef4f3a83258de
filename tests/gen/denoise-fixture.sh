#!/bin/sh
# Makes the nervedenoise pipeline fixture: tests/fixtures/denoise-clean.flac (espeak-ng
# reading a public-domain sentence, Lewis Carroll 1865) and denoise-noisy.flac (the same
# plus seeded pink noise and a 100 Hz hum at 5 dB SNR), 16 kHz mono 16-bit.
# Run from the repository root: sh tests/gen/denoise-fixture.sh
# Needs espeak-ng, sox (with FLAC) and /usr/bin/python3 with numpy.
set -eu
out=tests/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

espeak-ng -v en-us -s 165 -w "$tmp/speech.wav" \
  "Alice was beginning to get very tired of sitting by her sister."
# 16 kHz, 3.8 s (0.2 s of silence before), peak at -6 dBFS
sox "$tmp/speech.wav" -r 16000 -c 1 -b 32 -e floating-point "$tmp/clean.wav" \
  rate -v 16000 pad 0.2 0.3 trim 0 3.8 norm -6

/usr/bin/python3 - "$tmp/clean.wav" "$tmp" <<'PY'
import sys, wave
import numpy as np
src, tmp = sys.argv[1], sys.argv[2]
# sox wrote 32-bit float WAV: read it through numpy (skip to the data chunk)
raw = open(src, 'rb').read()
at = raw.index(b'data') + 8
clean = np.frombuffer(raw[at:at + int.from_bytes(raw[at - 4:at], 'little')], dtype='<f4').astype(np.float64)
rate, n = 16000, len(clean)
rng = np.random.default_rng(20240604)
# pink noise: white noise shaped by 1/sqrt(f) in the frequency domain
spec = np.fft.rfft(rng.standard_normal(n))
f = np.fft.rfftfreq(n, 1.0 / rate)
spec[1:] /= np.sqrt(f[1:] / 100.0)
spec[0] = 0
noise = np.fft.irfft(spec, n)
noise /= np.sqrt(np.mean(noise ** 2))
hum = np.sin(2 * np.pi * 100 * np.arange(n) / rate) * 0.5
noise = noise + hum
snr_db = 5.0
gain = np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
noisy = clean + gain * noise
peak = np.max(np.abs(noisy))
scale = 0.9 / peak if peak > 0.9 else 1.0  # same scale for both: clean stays the reference
def write(path, x):
    q = np.clip(np.round(x * scale * 32767), -32768, 32767).astype('<i2')
    w = wave.open(path, 'wb')
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(q.tobytes()); w.close()
write(tmp + '/c16.wav', clean)
write(tmp + '/n16.wav', noisy)
PY
sox "$tmp/c16.wav" "$out/denoise-clean.flac"
sox "$tmp/n16.wav" "$out/denoise-noisy.flac"
ls -l "$out/denoise-clean.flac" "$out/denoise-noisy.flac"
