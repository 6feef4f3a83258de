"""Independent reference for the DTLN import (tests/test-dtln.c).

DTLN (Westhausen & Meyer, Interspeech 2020; github breizhn/DTLN, MIT) re-implemented
in PyTorch 1.13 (torch.nn.LSTM, Conv1d, the paper's instant layer normalisation),
run offline over whole sequences, with the weights read by the `onnx` Python package
(Google's protobuf, not Nerve's reader) and mapped to PyTorch's layout here, written
separately from core/import-dtln.c. Two further checks keep the reference honest:

  * a literal numpy (float64) interpreter of the ONNX graphs, run block by block
    with the LSTM states carried as in DTLN's real_time_processing_onnx.py: the
    PyTorch model must agree with the published graphs (gate orders, layouts);
  * the same PyTorch class loads DTLN_norm_500h.h5 (Keras layout, via h5py) with the
    norm option (log + instant layer normalisation in stage 1). The .h5 holds a
    different model (the ONNX files are DTLN's baseline model.h5), so it is not
    compared with Nerve; it shows the class is DTLN by denoising with both weight sets.

Input: LJ001-0001.flac from 0.5 s, 2 s, plus misc/noise1.flac from 3 s scaled to 5 dB
SNR (the scale is stored; test-dtln.c mixes the same in float32). Both are decoded by
sox to int16 (FLAC is lossless; libsndfile gives the same values / 32768).

Also tests/fixtures/dtln-tiny/ (a tiny export shaped like DTLN's, random weights) with
dtln-tiny.json (its reference output) and the fuzz-onnx seeds; --tiny-only writes just
those.

Output, tests/fixtures/dtln.json (< 100 KB): the reference's time-aligned enhanced
signal (out[i] = enhanced in[i]; the 384-sample latency removed, the tail drained with
zeros) as int16 scaled by `out_scale`, base64; stage-1 masks of every 25th frame as
uint16 (mask * 65535), base64; summary numbers.

    /usr/bin/python3 tests/gen/dtln.py [--data ../shared/data]
"""
import argparse
import base64
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
N, HOP = 512, 128
START, LEN, NOISE_START, SNR_DB = 8000, 32000, 48000, 5.0
MASK_EVERY = 25


def decode(path):
    raw = subprocess.run(["sox", path, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-"],
                         check=True, stdout=subprocess.PIPE).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / np.float32(32768)


# ---------------------------------------------------------------- PyTorch DTLN

class InstantLayerNorm(torch.nn.Module):
    """DTLN_model.py's InstantLayerNormalization: per frame over channels,
    (x - mean) / sqrt(var + eps) * gamma + beta with eps = 1e-7."""

    def __init__(self, d, eps=1e-7):
        super().__init__()
        self.gamma = torch.nn.Parameter(torch.ones(d))
        self.beta = torch.nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        var = ((x - mean) ** 2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.gamma + self.beta


class DTLN(torch.nn.Module):
    def __init__(self, norm_stft=False, bins=257, frame=512, enc=256, hidden=128):
        super().__init__()
        self.norm_stft = norm_stft
        self.norm1 = InstantLayerNorm(bins) if norm_stft else None
        self.lstm1 = torch.nn.LSTM(bins, hidden, num_layers=2, batch_first=True)
        self.dense1 = torch.nn.Linear(hidden, bins)
        self.encoder = torch.nn.Conv1d(frame, enc, 1, bias=False)
        self.norm2 = InstantLayerNorm(enc)
        self.lstm2 = torch.nn.LSTM(enc, hidden, num_layers=2, batch_first=True)
        self.dense2 = torch.nn.Linear(hidden, enc)
        self.decoder = torch.nn.Conv1d(enc, frame, 1, bias=False)

    def forward(self, frames):
        """frames [T, N] (the padded signal cut into hops) -> decoded frames [T, N], masks [T, bins]."""
        spec = torch.fft.rfft(frames.double()).to(torch.complex64)
        mag = spec.abs()
        x = mag
        if self.norm_stft:
            x = self.norm1(torch.log(mag + 1e-7))
        h, _ = self.lstm1(x[None])
        mask1 = torch.sigmoid(self.dense1(h))[0]
        est = torch.fft.irfft(spec * mask1, n=frames.shape[1])  # mag * mask * exp(i phase)
        enc = self.encoder(est.T[None])                            # [1, enc, T]
        h, _ = self.lstm2(self.norm2(enc[0].T)[None])
        mask2 = torch.sigmoid(self.dense2(h))[0]                   # [T, enc]
        dec = self.decoder((enc[0] * mask2.T)[None])[0].T          # [T, N]
        return dec, mask1


def lstm_from_onnx(lstm, k, W, R, B):
    """ONNX LSTM W [1,4H,In], R [1,4H,H], B [1,8H], gates i,o,f,c -> torch i,f,g,o."""
    H = R.shape[2]
    order = [0, 2, 3, 1]
    reo = lambda a: np.concatenate([a[g * H:(g + 1) * H] for g in order])
    getattr(lstm, "weight_ih_l%d" % k).data = torch.tensor(reo(W[0]))
    getattr(lstm, "weight_hh_l%d" % k).data = torch.tensor(reo(R[0]))
    getattr(lstm, "bias_ih_l%d" % k).data = torch.tensor(reo(B[0, :4 * H]))
    getattr(lstm, "bias_hh_l%d" % k).data = torch.tensor(reo(B[0, 4 * H:]))


def lstm_from_keras(lstm, k, kernel, recurrent, bias):
    """Keras kernel [In,4H], recurrent [H,4H], bias [4H], gates i,f,c,o = torch's order."""
    getattr(lstm, "weight_ih_l%d" % k).data = torch.tensor(kernel.T.copy())
    getattr(lstm, "weight_hh_l%d" % k).data = torch.tensor(recurrent.T.copy())
    getattr(lstm, "bias_ih_l%d" % k).data = torch.tensor(bias)
    getattr(lstm, "bias_hh_l%d" % k).data = torch.zeros(len(bias))


def load_onnx(model, d):
    import onnx
    from onnx import numpy_helper
    g1 = {t.name: numpy_helper.to_array(t) for t in onnx.load(os.path.join(d, "model_1.onnx")).graph.initializer}
    g2 = {t.name: numpy_helper.to_array(t) for t in onnx.load(os.path.join(d, "model_2.onnx")).graph.initializer}
    g1 = {k: v.copy() for k, v in g1.items()}
    g2 = {k: v.copy() for k, v in g2.items()}
    for k, name in enumerate(["lstm_4", "lstm_5"]):
        lstm_from_onnx(model.lstm1, k, g1[name + "_W"], g1[name + "_R"], g1[name + "_B"])
    model.dense1.weight.data = torch.tensor(g1["dense_2/kernel:0"].T.copy())
    model.dense1.bias.data = torch.tensor(g1["dense_2/bias:0"])
    model.encoder.weight.data = torch.tensor(g2["conv1d_2/kernel:0"])
    model.decoder.weight.data = torch.tensor(g2["conv1d_3/kernel:0"])
    p = "model_2/instant_layer_normalization_1/"
    model.norm2.gamma.data = torch.tensor(g2[p + "mul/ReadVariableOp/resource:0"])
    model.norm2.beta.data = torch.tensor(g2[p + "add_1/ReadVariableOp/resource:0"])
    model.norm2.eps = float(g2[p + "add/y:0"])
    for k, name in enumerate(["lstm_6", "lstm_7"]):
        p = "model_2/%s/" % name
        lstm_from_keras(model.lstm2, k, g2[p + "MatMul/ReadVariableOp/resource:0"],
                        g2[p + "MatMul_1/ReadVariableOp/resource:0"], g2[p + "BiasAdd/ReadVariableOp/resource:0"])
    model.dense2.weight.data = torch.tensor(g2["model_2/dense_3/Tensordot/Reshape_1:0"].T.copy())
    model.dense2.bias.data = torch.tensor(g2["model_2/dense_3/BiasAdd/ReadVariableOp/resource:0"])


def load_h5(model, path):
    import h5py
    with h5py.File(path, "r") as f:
        w = lambda layer, name: np.array(f[layer][layer][name])
        model.norm1.gamma.data = torch.tensor(w("instant_layer_normalization", "gamma:0"))
        model.norm1.beta.data = torch.tensor(w("instant_layer_normalization", "beta:0"))
        for lstm, names in ((model.lstm1, ["lstm", "lstm_1"]), (model.lstm2, ["lstm_2", "lstm_3"])):
            for k, name in enumerate(names):
                cell = f[name][name]["lstm_cell" + name[4:]]
                lstm_from_keras(lstm, k, np.array(cell["kernel:0"]), np.array(cell["recurrent_kernel:0"]),
                                np.array(cell["bias:0"]))
        model.dense1.weight.data = torch.tensor(w("dense", "kernel:0").T.copy())
        model.dense1.bias.data = torch.tensor(w("dense", "bias:0"))
        model.dense2.weight.data = torch.tensor(w("dense_1", "kernel:0").T.copy())
        model.dense2.bias.data = torch.tensor(w("dense_1", "bias:0"))
        model.encoder.weight.data = torch.tensor(w("conv1d", "kernel:0")[0].T.copy())[:, :, None]  # Keras [1, in, out]
        model.decoder.weight.data = torch.tensor(w("conv1d_1", "kernel:0")[0].T.copy())[:, :, None]
        model.norm2.gamma.data = torch.tensor(w("instant_layer_normalization_1", "gamma:0"))
        model.norm2.beta.data = torch.tensor(w("instant_layer_normalization_1", "beta:0"))


def enhance(model, x, N=N, HOP=HOP):
    """As DTLN's real-time loop: N - HOP zeros before x (the empty buffer), zeros after it
    to drain; returns the time-aligned output (out[i] = enhanced x[i]) and the masks."""
    lat = N - HOP
    n = len(x)
    blocks = -(-(n + lat) // HOP)
    xp = np.concatenate([np.zeros(lat, np.float32), x, np.zeros(blocks * HOP - n, np.float32)])
    frames = np.stack([xp[t * HOP:t * HOP + N] for t in range(blocks)])
    with torch.no_grad():
        dec, mask1 = model(torch.tensor(frames))
    ola = np.zeros(len(xp) + N, np.float64)
    for t in range(blocks):
        ola[t * HOP:t * HOP + N] += dec[t].numpy()
    # the block that ends with input sample i outputs ola at i - lat: that is padded index i
    return ola[lat:lat + n].astype(np.float32), mask1.numpy()


# ---------------------------------------------------------------- literal ONNX interpreter

def run_graph(graph, inits, feeds):
    from onnx import helper
    env = dict(inits)
    env.update(feeds)
    sig = lambda v: 1 / (1 + np.exp(-v))
    for n in graph.node:
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        i = [env[k] if k else None for k in n.input]
        op = n.op_type
        if op == "Transpose":
            out = [np.transpose(i[0], a["perm"])]
        elif op == "Slice":
            x = i[0]
            sl = [slice(None)] * x.ndim
            for s, e, ax, st in zip(i[1], i[2], i[3], i[4]):
                sl[int(ax)] = slice(int(s), int(min(e, x.shape[int(ax)])), int(st))
            out = [x[tuple(sl)]]
        elif op == "Squeeze":
            out = [np.squeeze(i[0], axis=tuple(a["axes"]))]
        elif op == "Unsqueeze":
            x = i[0]
            for ax in sorted(ax % (x.ndim + len(a["axes"])) for ax in a["axes"]):
                x = np.expand_dims(x, ax)
            out = [x]
        elif op == "Concat":
            out = [np.concatenate(i, axis=a["axis"])]
        elif op in ("Add", "Sub", "Mul", "Div"):
            out = [{"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op](i[0], i[1])]
        elif op == "MatMul":
            out = [np.matmul(i[0], i[1])]
        elif op == "Sigmoid":
            out = [sig(i[0])]
        elif op == "Tanh":
            out = [np.tanh(i[0])]
        elif op == "Sqrt":
            out = [np.sqrt(i[0])]
        elif op == "ReduceMean":
            out = [np.mean(i[0], axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))]
        elif op == "Split":
            out = np.split(i[0], len(n.output), axis=a.get("axis", 0))
        elif op == "Reshape":
            out = [np.reshape(i[0], [int(v) for v in i[1]])]
        elif op == "Pad":
            p = [int(v) for v in i[1]]
            k = len(p) // 2
            out = [np.pad(i[0], list(zip(p[:k], p[k:])))]
        elif op == "Conv":
            assert list(a["kernel_shape"]) == [1]
            out = [np.einsum("oc,ncl->nol", i[1][:, :, 0], i[0])]
        elif op == "LSTM":
            X, W, R, B, h, c = i[0], i[1][0], i[2][0], i[3][0], i[5][0], i[6][0]
            H = R.shape[1]
            ys = []
            for t in range(X.shape[0]):
                z = X[t] @ W.T + h @ R.T + B[:4 * H] + B[4 * H:]
                ig, og, fg, cg = (z[:, k * H:(k + 1) * H] for k in range(4))
                c = sig(fg) * c + sig(ig) * np.tanh(cg)
                h = sig(og) * np.tanh(c)
                ys.append(h)
            out = [np.stack(ys)[:, None], h[None], c[None]]
        else:
            raise NotImplementedError(op)
        for k, v in zip(n.output, out):
            env[k] = v
    return [env[o.name] for o in graph.output]


def onnx_realtime(d, x, blocks):
    """real_time_processing_onnx.py with the interpreter, float64, first `blocks` blocks."""
    import onnx
    from onnx import numpy_helper
    gs = [onnx.load(os.path.join(d, "model_%d.onnx" % k)).graph for k in (1, 2)]
    inits = [{t.name: numpy_helper.to_array(t).astype(np.float64) if t.data_type == 1 else numpy_helper.to_array(t)
              for t in g.initializer} for g in gs]
    names = [[i.name for i in g.input if i.name not in inits[k]] for k, g in enumerate(gs)]
    st = [np.zeros((1, 2, 128, 2)), np.zeros((1, 2, 128, 2))]
    inb, outb = np.zeros(N), np.zeros(N)
    xp = np.concatenate([x, np.zeros(blocks * HOP)]).astype(np.float64)
    out, masks = np.zeros(blocks * HOP), []
    for b in range(blocks):
        inb[:-HOP] = inb[HOP:]
        inb[-HOP:] = xp[b * HOP:(b + 1) * HOP]
        spec = np.fft.rfft(inb)
        mag = np.abs(spec)
        m, st[0] = run_graph(gs[0], inits[0], {names[0][0]: mag.reshape(1, 1, -1), names[0][1]: st[0]})
        masks.append(m.reshape(-1))
        est = np.fft.irfft(mag * m.reshape(-1) * np.exp(1j * np.angle(spec)))
        y, st[1] = run_graph(gs[1], inits[1], {names[1][0]: est.reshape(1, 1, -1), names[1][1]: st[1]})
        outb[:-HOP] = outb[HOP:]
        outb[-HOP:] = 0
        outb += y.reshape(-1)
        out[b * HOP:(b + 1) * HOP] = outb[:HOP]
    return out, np.array(masks)



# ---------------------------------------------------------------- a tiny DTLN-shaped export

def tiny_export(out_dir, F=9, H=4, E=6, seed=7):
    """model_1.onnx / model_2.onnx shaped and named like DTLN's keras2onnx export
    (stage 1 with LSTM nodes and float_data, stage 2 unrolled with raw_data), with
    small random weights: a test of the import and the front end without shared data,
    and the fuzzer's seeds. The graphs name the weights as the importer finds them;
    they are not meant to be executed."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    N = 2 * (F - 1)
    r = lambda *shape: (rng.standard_normal(shape) * 0.5).astype(np.float32)
    fd = lambda name, a: helper.make_tensor(name, TensorProto.FLOAT, a.shape, a.flatten().tolist())
    acts = dict(activations=["Sigmoid", "Tanh", "Tanh"], direction="forward", hidden_size=H)
    i1 = [fd("lstm_4_W", r(1, 4 * H, F)), fd("lstm_4_R", r(1, 4 * H, H)), fd("lstm_4_B", r(1, 8 * H)),
          fd("lstm_5_W", r(1, 4 * H, H)), fd("lstm_5_R", r(1, 4 * H, H)), fd("lstm_5_B", r(1, 8 * H)),
          fd("dense_2/kernel:0", r(H, F)), fd("dense_2/bias:0", r(F))]
    n1 = [helper.make_node("LSTM", ["x", "lstm_4_W", "lstm_4_R", "lstm_4_B"], ["y4"], "lstm_4", **acts),
          helper.make_node("LSTM", ["y4", "lstm_5_W", "lstm_5_R", "lstm_5_B"], ["y5"], "lstm_5", **acts),
          helper.make_node("MatMul", ["y5", "dense_2/kernel:0"], ["d"], "dense_2"),
          helper.make_node("Add", ["d", "dense_2/bias:0"], ["b"], "Add"),
          helper.make_node("Sigmoid", ["b"], ["mask"], "Sigmoid")]
    raw = lambda name, a: numpy_helper.from_array(a, name)
    res = "/ReadVariableOp/resource:0"
    i2 = [raw("conv1d_2/kernel:0", r(E, N, 1)), raw("conv1d_3/kernel:0", r(N, E, 1)),
          raw("model_2/instant_layer_normalization_1/mul" + res, 1 + r(E)),
          raw("model_2/instant_layer_normalization_1/add_1" + res, r(E)),
          raw("model_2/instant_layer_normalization_1/add/y:0", np.array(1e-7, np.float32)),
          raw("model_2/dense_3/Tensordot/Reshape_1:0", r(H, E)), raw("model_2/dense_3/BiasAdd" + res, r(E))]
    for k, name in enumerate(["lstm_6", "lstm_7"]):
        i2 += [raw("model_2/%s/MatMul%s" % (name, res), r(E if k == 0 else H, 4 * H)),
               raw("model_2/%s/MatMul_1%s" % (name, res), r(H, 4 * H)),
               raw("model_2/%s/BiasAdd%s" % (name, res), r(4 * H))]
    n2 = [helper.make_node("Conv", ["frame", "conv1d_2/kernel:0"], ["enc"], "conv1d_2", kernel_shape=[1]),
          helper.make_node("Conv", ["masked", "conv1d_3/kernel:0"], ["out"], "conv1d_3", kernel_shape=[1])]
    vi = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    graphs = [helper.make_graph(n1, "model_1", [vi("x", [1, 1, F])], [vi("mask", [1, 1, F])], i1),
              helper.make_graph(n2, "model_2", [vi("frame", [1, 1, N])], [vi("out", [1, 1, N])], i2)]
    os.makedirs(out_dir, exist_ok=True)
    data = []
    for k, g in enumerate(graphs):
        m = helper.make_model(g, producer_name="tests/gen/dtln.py", opset_imports=[helper.make_opsetid("", 11)])
        m.ir_version = 6
        data.append(m.SerializeToString())
        with open(os.path.join(out_dir, "model_%d.onnx" % (k + 1)), "wb") as f:
            f.write(data[-1])
    return N, data


def write_tiny(fixtures):
    d = os.path.join(fixtures, "dtln-tiny")
    n_frame, data = tiny_export(d)
    model = DTLN(bins=n_frame // 2 + 1, frame=n_frame, enc=6, hidden=4).eval()
    load_onnx(model, d)
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(203) * 0.3).astype(np.float32)
    y, masks = enhance(model, x, N=n_frame, HOP=n_frame // 4)
    doc = {"about": "tests/gen/dtln.py: a tiny DTLN-shaped export (dtln-tiny/) run by the PyTorch reference",
           "frame": n_frame, "hop": n_frame // 4, "x": [float(v) for v in x], "y": [float(v) for v in y],
           "mask0": [float(v) for v in masks[0]], "mask_last": [float(v) for v in masks[-1]]}
    with open(os.path.join(fixtures, "dtln-tiny.json"), "w") as f:
        json.dump(doc, f)
        f.write("\n")
    corpus = os.path.join(ROOT, "fuzz", "corpus", "onnx")
    os.makedirs(corpus, exist_ok=True)
    # fuzz-onnx input: 4-byte little-endian length of model_1, model_1, model_2
    with open(os.path.join(corpus, "tiny-dtln.bin"), "wb") as f:
        f.write(len(data[0]).to_bytes(4, "little") + data[0] + data[1])
    for k in range(2):
        with open(os.path.join(corpus, "tiny-model_%d.bin" % (k + 1)), "wb") as f:
            f.write(len(data[k]).to_bytes(4, "little") + data[k])
    print("wrote tests/fixtures/dtln-tiny/ and dtln-tiny.json, fuzz/corpus/onnx/")



def snr_db(ref, x):
    ref, x = np.asarray(ref, np.float64), np.asarray(x, np.float64)
    return float(10 * np.log10(np.sum(ref ** 2) / max(np.sum((ref - x) ** 2), 1e-300)))


def si_sdr(ref, x):
    ref, x = np.asarray(ref, np.float64), np.asarray(x, np.float64)
    a = np.dot(x, ref) / np.dot(ref, ref)
    return snr_db(a * ref, x)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "dtln.json"))
    ap.add_argument("--tiny-only", action="store_true", help="only the tiny export (no shared data needed)")
    args = ap.parse_args()
    d = os.path.join(args.data, "pretrained", "dtln")
    torch.manual_seed(0)
    write_tiny(os.path.dirname(args.out))
    if args.tiny_only:
        return

    speech = decode(os.path.join(args.data, "speech", "ljspeech", "LJ001-0001.flac"))[START:START + LEN]
    noise = decode(os.path.join(args.data, "noise", "misc", "noise1.flac"))[NOISE_START:NOISE_START + LEN]
    gain = np.float32(np.sqrt(np.sum(speech.astype(np.float64) ** 2) /
                              (np.sum(noise.astype(np.float64) ** 2) * 10 ** (SNR_DB / 10))))
    x = speech + gain * noise  # float32, as the C test computes it

    model = DTLN(norm_stft=False).eval()
    load_onnx(model, d)
    y, masks = enhance(model, x)

    # the published graphs, interpreted literally, must agree with the PyTorch model
    lat = N - HOP
    blocks = -(-(LEN + lat) // HOP)
    y_onnx, m_onnx = onnx_realtime(d, x, blocks)
    y_onnx = y_onnx[lat:lat + LEN]
    agree = snr_db(y_onnx, y)
    mask_diff = float(np.abs(m_onnx - masks[:len(m_onnx)]).max())
    print("PyTorch vs ONNX graph interpreter: output SNR %.1f dB, max |diff| %.2e; mask max |diff| %.2e"
          % (agree, np.abs(y_onnx - y).max(), mask_diff))
    if agree < 80 or mask_diff > 1e-4:
        sys.exit("the PyTorch re-implementation disagrees with the ONNX graphs")

    model_norm = DTLN(norm_stft=True).eval()
    load_h5(model_norm, os.path.join(d, "DTLN_norm_500h.h5"))
    y_norm, _ = enhance(model_norm, x)
    print("SI-SDR: input %.2f dB, DTLN (ONNX weights) %.2f dB, DTLN_norm_500h (.h5) %.2f dB"
          % (si_sdr(speech, x), si_sdr(speech, y), si_sdr(speech, y_norm)))

    scale = float(np.abs(y).max()) / 32767
    q = np.round(y / scale).astype("<i2")
    sel = np.arange(0, len(masks), MASK_EVERY)
    mq = np.round(masks[sel] * 65535).astype("<u2")
    doc = {
        "about": "tests/gen/dtln.py: DTLN re-implemented in PyTorch from model_1.onnx/model_2.onnx",
        "torch": torch.__version__,
        "speech": "speech/ljspeech/LJ001-0001.flac", "speech_start": START,
        "noise": "noise/misc/noise1.flac", "noise_start": NOISE_START,
        "n": LEN, "snr_db": SNR_DB, "noise_gain": float(gain),
        "input_head": [float(v) for v in x[:8]],
        "input_sum_sq": float(np.sum(x.astype(np.float64) ** 2)),
        "latency": lat, "hop": HOP, "frame": N,
        "out_scale": scale, "out_i16": b64(q),
        "out_sum_sq": float(np.sum(y.astype(np.float64) ** 2)),
        "mask_frames": [int(v) for v in sel], "mask_bins": int(masks.shape[1]), "masks_u16": b64(mq),
        "summary": {
            "si_sdr_input": si_sdr(speech, x), "si_sdr_output": si_sdr(speech, y),
            "si_sdr_output_norm_h5": si_sdr(speech, y_norm),
            "torch_vs_onnx_graph_snr_db": agree, "quantisation_snr_db": snr_db(y, q * scale),
        },
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(args.out), os.path.getsize(args.out), "bytes")


if __name__ == "__main__":
    main()
