"""Network-level reference for the RNNoise importer:
    /usr/bin/python3 tests/gen/rnnoise_net.py

Parses .rnnn text independently of Nerve (as ffmpeg's arnndn reads it: whitespace-
separated integers, weights /256) and runs RNNoise's network written out by hand in
PyTorch (float64): dense -> GRU (reset gate applied to the state before the recurrent
matrix, one bias per gate) -> ..., gains = sigmoid/... as each layer's activation
code says (0 tanh, 1 sigmoid, 2 relu). Output per frame: 22 gains then P(voice).

Writes tests/fixtures/:
  rnnoise-tiny.rnnn      a small model with seeded random int8 weights and sizes that
                         exercise every activation (committed: made here, not data)
  rnnoise-net.json       case "tiny": features x [T,42] and outputs y [T,23] of that
                         model; and, when ../shared/data/pretrained/rnnoise exists,
                         cases bd, cb, lq, mp, sh: the same features through each real
                         model (only the outputs are stored, never the weights);
                         NERVE_DATA_DIR overrides ../shared/data
The features are seeded and shaped like real ones (cepstra around 0..+-10, pitch
correlations near 0..1); frames 15..19 are all zero, as RNNoise gives in silence.
"""
import os
import random

import torch

from fixture import OUT, write

SEED = 1357
T = 40
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("NERVE_DATA_DIR") or os.path.join(HERE, "..", "..", "..", "shared", "data")
SHARED = os.path.join(DATA, "pretrained", "rnnoise")


def parse_rnnn(text):
    tokens = text.split()
    assert " ".join(tokens[:4]) == "rnnoise-nu model file version", "bad header"
    assert tokens[4] == "1"
    it = iter(int(t) for t in tokens[5:])
    layers = []
    for kind in ("dense", "gru", "gru", "gru", "dense", "dense"):
        nin, n, act = next(it), next(it), next(it)
        if kind == "dense":
            w = torch.tensor([next(it) for _ in range(nin * n)], dtype=torch.float64).view(nin, n) / 256
            b = torch.tensor([next(it) for _ in range(n)], dtype=torch.float64) / 256
            layers.append(dict(kind=kind, act=act, w=w, b=b))
        else:
            # file order: row (input / state unit), gate (z, r, h), unit
            w = torch.tensor([next(it) for _ in range(3 * nin * n)], dtype=torch.float64).view(nin, 3, n) / 256
            u = torch.tensor([next(it) for _ in range(3 * n * n)], dtype=torch.float64).view(n, 3, n) / 256
            b = torch.tensor([next(it) for _ in range(3 * n)], dtype=torch.float64).view(3, n) / 256
            layers.append(dict(kind=kind, act=act, w=w, u=u, b=b))
    assert next(it, None) is None, "trailing values"
    return layers


def activation(code, v):
    return [torch.tanh, torch.sigmoid, torch.relu][code](v)


def dense(layer, x):
    return activation(layer["act"], x @ layer["w"] + layer["b"])


def gru(layer, x, h):
    w, u, b = layer["w"], layer["u"], layer["b"]
    z = torch.sigmoid(x @ w[:, 0] + h @ u[:, 0] + b[0])
    r = torch.sigmoid(x @ w[:, 1] + h @ u[:, 1] + b[1])
    c = activation(layer["act"], x @ w[:, 2] + (r * h) @ u[:, 2] + b[2])
    return z * h + (1 - z) * c


def run(layers, feats):
    dense_in, vad_gru, noise_gru, denoise_gru, gains_out, vad_out = layers
    hv = torch.zeros(vad_gru["u"].shape[0], dtype=torch.float64)
    hn = torch.zeros(noise_gru["u"].shape[0], dtype=torch.float64)
    hd = torch.zeros(denoise_gru["u"].shape[0], dtype=torch.float64)
    out = []
    for x in feats:
        d = dense(dense_in, x)
        hv = gru(vad_gru, d, hv)
        vad = dense(vad_out, hv)
        hn = gru(noise_gru, torch.cat([d, hv, x]), hn)
        hd = gru(denoise_gru, torch.cat([hv, hn, x]), hd)
        out.append(torch.cat([dense(gains_out, hd), vad]))
    return torch.stack(out)


def tiny_rnnn(rng):
    """Sizes 5/6/7/8 (so every concat is visible), activations covering all codes."""
    sizes = [(42, 5, 0), (5, 6, 2), (5 + 6 + 42, 7, 1), (6 + 7 + 42, 8, 0), (8, 22, 1), (6, 1, 1)]
    lines = ["rnnoise-nu model file version 1"]
    for k, (nin, n, act) in enumerate(sizes):
        lines.append("%d %d %d" % (nin, n, act))
        gates = 1 if k in (0, 4, 5) else 3
        arrays = [nin * n * gates] + ([n * n * 3] if gates == 3 else []) + [n * gates]
        for count in arrays:
            lines.append(" ".join(str(rng.randint(-128, 127)) for _ in range(count)))
    return "\n".join(lines) + "\n"


def features(gen):
    x = torch.randn(T, 42, generator=gen, dtype=torch.float64)
    x[:, :22] *= 3.0
    x[:, 0] -= 5.0
    x[:, 34:40] = torch.rand(T, 6, generator=gen, dtype=torch.float64) - 0.8
    x[:, 40] = torch.randint(60, 768, (T,), generator=gen).double() * 0.01 - 3.0
    x[15:20] = 0
    return x


rng = random.Random(SEED)
gen = torch.Generator().manual_seed(SEED)
tiny = tiny_rnnn(rng)
with open(os.path.join(OUT, "rnnoise-tiny.rnnn"), "w") as f:
    f.write(tiny)
x = features(gen)
cases = {"tiny": ({"T": T}, {"x": x, "y": run(parse_rnnn(tiny), x)})}
for name in ("bd", "cb", "lq", "mp", "sh"):
    path = os.path.join(SHARED, name + ".rnnn")
    if os.path.exists(path):
        with open(path) as f:
            cases[name] = ({"T": T}, {"y": run(parse_rnnn(f.read()), x)})
    else:
        print("skipping", name, "(no", path + ")")
write("rnnoise-net", SEED, cases)
