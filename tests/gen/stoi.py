"""Reference STOI values for tests/test-audio-metrics.c, computed by pystoi.

    /usr/bin/python3 tests/gen/stoi.py PYSTOI_DIR

PYSTOI_DIR is a folder holding the `pystoi` package (pystoi/__init__.py, stoi.py,
utils.py). pystoi is Manuel Pariente's Python port of Taal et al.'s MATLAB STOI
(https://github.com/mpariente/pystoi, MIT licence). It is NOT vendored in this
repository: `pip install pystoi` (0.3.3) or copy pystoi/stoi.py (commit 5698450d) and
pystoi/utils.py (commit b88df5a7) from GitHub; the fixture was made from those two
files with numpy 1.24 and scipy 1.10 (only the classic, non-extended path is used).

The signals are NOT stored: both this script and the C test build them from the same
recipe (a splitmix64 generator, speech-like harmonic syllables with pauses, and simple
degradations written with elementwise arithmetic and plain recursions), so the fixture
holds only the expected STOI and a few checksums that prove the C side built the same
samples. Writes tests/fixtures/stoi.json in the layout tests/check.c reads.
"""
import json
import math
import os
import sys

import numpy as np

M64 = (1 << 64) - 1


class Rng:
    """splitmix64; uniform() = top 53 bits / 2^53 in [0, 1)."""

    def __init__(self, seed):
        self.s = seed & M64

    def u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def uniform(self):
        return (self.u64() >> 11) * (1.0 / 9007199254740992.0)

    def noise(self, n):
        """Uniform white noise in [-1, 1)."""
        return np.array([2.0 * self.uniform() - 1.0 for _ in range(n)])


def speech(seed, fs, n):
    """Speech-like test signal: syllables of gliding harmonic tones shaped by three
    random formants, some with a high-passed noise onset (fricative), short gaps and a
    long pause after every fourth syllable (silent frames for STOI to drop)."""
    rng = Rng(seed)
    x = np.zeros(n)
    t0 = int(0.1 * fs)
    syl = 0
    while True:
        dur = int((0.12 + 0.18 * rng.uniform()) * fs)
        if t0 + dur > n - int(0.05 * fs):
            break
        f0 = 90.0 + 130.0 * rng.uniform()
        formants = [300.0 + 500.0 * rng.uniform(), 900.0 + 1500.0 * rng.uniform(),
                    2200.0 + 1000.0 * rng.uniform()]
        amp = 0.3 + 0.7 * rng.uniform()
        fricative = rng.uniform() < 0.3
        i = np.arange(dur, dtype=np.float64)
        # f(i) = f0 (1 + 0.15 i / dur): phase in closed form
        phase = 2.0 * math.pi * (f0 * i / fs + 0.15 * f0 * i * i / (2.0 * dur * fs))
        v = np.zeros(dur)
        k = 1
        while k * f0 * 1.15 < 0.45 * fs:
            a = 0.0
            for fm in formants:
                d = (k * f0 - fm) / (80.0 + 0.1 * fm)
                a += 1.0 / (1.0 + d * d)
            a /= math.sqrt(k)
            v += a * np.sin(k * phase)
            k += 1
        env = np.sin(math.pi * i / dur)
        x[t0:t0 + dur] += amp * (env * env) * v
        if fricative:
            nb = int(0.04 * fs)
            w = rng.noise(nb + 1)
            hp = w[1:] - 0.95 * w[:-1]
            env = np.sin(math.pi * np.arange(nb, dtype=np.float64) / nb)
            x[t0:t0 + nb] += (0.3 * amp) * env * hp
        syl += 1
        gap = 0.35 if syl % 4 == 0 else 0.03 + 0.12 * rng.uniform()
        t0 += dur + int(gap * fs)
    return x * (0.5 / np.max(np.abs(x)))


def add_noise(x, noise, snr_db):
    g = math.sqrt(np.sum(x * x) / (np.sum(noise * noise) * 10.0 ** (snr_db / 10.0)))
    return x + g * noise


def lowpass(x, a):
    """One pole, twice: y[t] = y[t-1] + a (x[t] - y[t-1])."""
    for _ in range(2):
        y = np.zeros(len(x))
        prev = 0.0
        for t in range(len(x)):
            prev = prev + a * (x[t] - prev)
            y[t] = prev
        x = y
    return x


def degrade(x, kind, p, fs, seed):
    """The processed signal for one case; mirrored by degrade() in the C test."""
    if kind == "noise":
        return add_noise(x, Rng(seed).noise(len(x)), p)
    if kind == "talker":
        return add_noise(x, speech(seed, fs, len(x)), p)
    if kind == "lowpass":
        return lowpass(x, p)
    if kind == "noisy-lowpass":
        return lowpass(add_noise(x, Rng(seed).noise(len(x)), 5.0), p)
    if kind == "clip":
        c = p * np.max(np.abs(x))
        return np.minimum(np.maximum(x, -c), c)
    if kind == "shift":
        s = int(p)
        return np.concatenate([np.zeros(s), x[:len(x) - s]])
    if kind == "scale":
        return p * x
    raise ValueError(kind)


# name: (rate, seconds, kind, parameter[, clean noise floor dB]); the clean signal's
# seed is 1000 + rate // 1000. A noise floor under the clean signal makes the 40 dB
# silence decision borderline in many frames, as in recorded speech.
CASES = {
    "10k-identical": (10000, 2.5, "scale", 1.0),
    "10k-scaled": (10000, 2.5, "scale", 0.3),
    "10k-noise-m5": (10000, 2.5, "noise", -5.0),
    "10k-noise-0": (10000, 2.5, "noise", 0.0),
    "10k-noise-5": (10000, 2.5, "noise", 5.0),
    "10k-noise-15": (10000, 2.5, "noise", 15.0),
    "10k-talker-0": (10000, 2.5, "talker", 0.0),
    "10k-lowpass": (10000, 2.5, "lowpass", 0.3),
    "10k-noisy-lowpass": (10000, 2.5, "noisy-lowpass", 0.5),
    "10k-clip": (10000, 2.5, "clip", 0.1),
    "10k-shift": (10000, 2.5, "shift", 40),
    "16k-noise-0": (16000, 2.5, "noise", 0.0),
    "16k-noise-10": (16000, 2.5, "noise", 10.0),
    "16k-lowpass": (16000, 2.5, "lowpass", 0.3),
    "16k-clip": (16000, 2.5, "clip", 0.1),
    "10k-floor-noise-5": (10000, 2.5, "noise", 5.0, 40.0),
    "16k-floor-noise-5": (16000, 2.5, "noise", 5.0, 40.0),
    "16k-floor-clip": (16000, 2.5, "clip", 0.2, 30.0),
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.path.insert(0, sys.argv[1])
    from pystoi import stoi

    cases = {}
    for name, (fs, sec, kind, p, *floor) in CASES.items():
        n = int(sec * fs)
        seed = 7 + len(cases)
        x = speech(1000 + fs // 1000, fs, n)
        if floor:
            x = add_noise(x, Rng(seed + 500).noise(n), floor[0])
        x = x.astype(np.float32)
        y = degrade(x.astype(np.float64), kind, p, fs, seed).astype(np.float32)
        xd, yd = x.astype(np.float64), y.astype(np.float64)
        d = float(stoi(xd, yd, fs))
        cases[name] = {"config": {"rate": fs, "n": n, "kind": kind, "param": p, "seed": seed,
                                  "floor": floor[0] if floor else None,
                                  "stoi": d, "xx": float(np.dot(xd, xd)), "yy": float(np.dot(yd, yd)),
                                  "xy": float(np.dot(xd, yd))},
                       "tensors": {}}
        print("%-18s stoi %.6f" % (name, d))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "stoi.json")
    doc = {"reference": "pystoi (mpariente/pystoi, stoi.py 5698450d, utils.py b88df5a7)",
           "numpy": np.__version__, "cases": cases}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(out), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
