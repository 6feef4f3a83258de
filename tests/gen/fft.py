"""Reference fixtures for the real FFT: /usr/bin/python3 tests/gen/fft.py

For a few lengths, x -> numpy.fft.rfft(x) and a random half spectrum Y (with nonzero
imaginary parts in bins 0 and n/2, which the inverse must ignore) -> numpy.fft.irfft(Y, n).
Other lengths are checked in the test against a double-precision naive DFT.
Writes tests/fixtures/fft.json in the layout tests/check.c reads.
"""
import json
import os

import numpy as np

SEED = 4321
SIZES = [2, 3, 5, 7, 8, 12, 16, 30, 100, 127, 480]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "fft.json")


def t(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float("%.9g" % v) for v in a.flatten()]}


def interleave(c):
    return np.stack([c.real, c.imag], axis=-1).reshape(-1)


rng = np.random.default_rng(SEED)
cases = {}
for n in SIZES:
    x = rng.uniform(-1, 1, n).astype(np.float32).astype(np.float64)
    X = np.fft.rfft(x)
    bins = n // 2 + 1
    Y = (rng.uniform(-1, 1, bins) + 1j * rng.uniform(-1, 1, bins)).astype(np.complex64).astype(np.complex128)
    y = np.fft.irfft(Y, n)
    cases["n%d" % n] = {"config": {"n": n},
                        "tensors": {"x": t(x), "X": t(interleave(X)), "Y": t(interleave(Y)), "y": t(y)}}

doc = {"seed": SEED, "numpy": np.__version__, "cases": cases}
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print("wrote", os.path.relpath(OUT), os.path.getsize(OUT), "bytes")
