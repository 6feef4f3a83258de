"""Reference fixtures for conv2d, conv_transpose2d and conv1d:
    /usr/bin/python3 tests/gen/conv.py
writes tests/fixtures/conv2d.json, conv_transpose2d.json, conv1d.json.

Each case's config has the geometry (top/left padding as ph/pw, or "same": 1) and
"bias"; tensors x, w, b (when bias), y, dy and the gradients dx, dw, db.
conv1d tensors are CHANNELS-LAST like Nerve's conv1d: x [N, T, C], y [N, TO, O]
(PyTorch's [N, C, T] transposed); weights keep PyTorch's layout.
"""
import torch
import torch.nn.functional as F

from fixture import write

SEED = 4321
torch.manual_seed(SEED)


def run(fn, x, w, b, bias):
    x = x.clone().requires_grad_()
    w = w.clone().requires_grad_()
    b = b.clone().requires_grad_() if bias else None
    y = fn(x, w, b)
    dy = torch.randn_like(y)
    y.backward(dy)
    t = {"x": x, "w": w, "y": y, "dy": dy, "dx": x.grad, "dw": w.grad}
    if bias:
        t["b"] = b
        t["db"] = b.grad
    return t


# name: N, C, H, W, O, (kh, kw), (sh, sw), (ph, pw) or "same", (dh, dw), groups, bias
CONV2D = {
    "basic": (2, 3, 5, 6, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    "stride2": (2, 3, 7, 5, 4, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    "nonsquare": (2, 2, 5, 6, 3, (2, 3), (1, 2), (0, 1), (1, 1), 1, True),
    "dilation2": (2, 2, 6, 6, 3, (3, 3), (1, 1), (2, 2), (2, 2), 1, True),
    "groups2": (2, 4, 5, 5, 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
    "depthwise": (2, 3, 6, 5, 6, (3, 3), (2, 2), (1, 1), (1, 1), 3, True),
    "onechannel": (2, 1, 6, 6, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    "pointwise": (3, 4, 4, 5, 3, (1, 1), (1, 1), (0, 0), (1, 1), 1, False),
    "same_even": (2, 2, 5, 6, 3, (2, 4), (1, 1), "same", (1, 2), 1, True),
}
# 3x3 stride 1 with >= 8 channels: Nerve's Winograd path (own file, for size)
CONV2D_WINOGRAD = {
    "winograd": (2, 8, 4, 5, 8, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    "winograd_odd": (1, 8, 5, 5, 9, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),
    "winograd_pad2": (1, 9, 3, 4, 8, (3, 3), (1, 1), (2, 2), (1, 1), 1, False),
}


def conv2d_cases(configs):
    cases = {}
    for name, (N, C, H, W, O, k, s, p, d, g, bias) in configs.items():
        x = torch.randn(N, C, H, W)
        w = torch.randn(O, C // g, *k) * 0.5
        b = torch.randn(O)
        fn = lambda x, w, b: F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
        cfg = {"N": N, "C": C, "H": H, "W": W, "O": O, "kh": k[0], "kw": k[1], "sh": s[0], "sw": s[1],
               "dh": d[0], "dw": d[1], "groups": g, "bias": int(bias)}
        if p == "same":
            cfg["same"] = 1
        else:
            cfg["ph"], cfg["pw"] = p
        cases[name] = (cfg, run(fn, x, w, b, bias))
    return cases


# name: N, C, H, W, O, (kh, kw), (sh, sw), (ph, pw), (oph, opw), (dh, dw), groups, bias
CONVT2D = {
    "basic": (2, 3, 4, 5, 2, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1, True),
    "stride2": (2, 2, 3, 4, 3, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1, True),
    "nonsquare": (2, 2, 4, 3, 3, (2, 3), (2, 1), (0, 1), (0, 0), (1, 1), 1, True),
    "dilation2": (2, 2, 4, 4, 2, (3, 3), (1, 1), (1, 1), (0, 0), (2, 2), 1, True),
    "groups2": (2, 4, 3, 3, 6, (3, 3), (2, 2), (0, 0), (0, 0), (1, 1), 2, True),
    "depthwise": (2, 3, 4, 3, 3, (3, 3), (2, 2), (1, 1), (0, 1), (1, 1), 3, True),
    "pointwise": (3, 4, 3, 4, 2, (1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1, False),
    "winograd": (2, 8, 4, 4, 8, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
}


def convt2d_cases():
    cases = {}
    for name, (N, C, H, W, O, k, s, p, op, d, g, bias) in CONVT2D.items():
        x = torch.randn(N, C, H, W)
        w = torch.randn(C, O // g, *k) * 0.5
        b = torch.randn(O)
        fn = lambda x, w, b: F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op,
                                                groups=g, dilation=d)
        cfg = {"N": N, "C": C, "H": H, "W": W, "O": O, "kh": k[0], "kw": k[1], "sh": s[0], "sw": s[1],
               "ph": p[0], "pw": p[1], "oph": op[0], "opw": op[1], "dh": d[0], "dw": d[1], "groups": g,
               "bias": int(bias)}
        cases[name] = (cfg, run(fn, x, w, b, bias))
    return cases


# name: N, C, T, O, k, stride, padding (int, "same" or "causal"), dilation, groups, bias
CONV1D = {
    "basic": (2, 3, 8, 4, 3, 1, 1, 1, 1, True),
    "stride2": (2, 3, 9, 4, 3, 2, 1, 1, 1, True),
    "dilation2": (2, 2, 10, 3, 3, 1, 2, 2, 1, True),
    "groups2": (2, 4, 7, 6, 3, 1, 1, 1, 2, True),
    "depthwise": (2, 4, 7, 4, 3, 1, 1, 1, 4, True),
    "pointwise": (3, 4, 5, 3, 1, 1, 0, 1, 1, False),
    "causal": (2, 3, 8, 4, 3, 1, "causal", 2, 1, True),
    "same_even": (2, 3, 7, 2, 4, 1, "same", 1, 1, True),
}


def conv1d_cases():
    cases = {}
    for name, (N, C, T, O, k, s, p, d, g, bias) in CONV1D.items():
        x = torch.randn(N, T, C)  # channels-last, as Nerve stores it
        w = torch.randn(O, C // g, k) * 0.5
        b = torch.randn(O)
        cfg = {"N": N, "C": C, "T": T, "O": O, "k": k, "stride": s, "dilation": d, "groups": g,
               "bias": int(bias)}
        if p == "causal":
            cfg["causal"] = 1
            pad = (d * (k - 1), 0)
        elif p == "same":
            cfg["same"] = 1
            pad = (0, 0)
        else:
            cfg["pad"] = p
            pad = (p, p)

        def fn(x, w, b, p=p, pad=pad, s=s, d=d, g=g):
            xt = x.transpose(1, 2)  # [N, C, T]
            if p == "same":
                y = F.conv1d(xt, w, b, stride=s, padding="same", dilation=d, groups=g)
            else:
                y = F.conv1d(F.pad(xt, pad), w, b, stride=s, dilation=d, groups=g)
            return y.transpose(1, 2)  # [N, TO, O]

        cases[name] = (cfg, run(fn, x, w, b, bias))
    return cases


write("conv2d", SEED, conv2d_cases(CONV2D))
write("conv2d_winograd", SEED, conv2d_cases(CONV2D_WINOGRAD))
write("conv_transpose2d", SEED, convt2d_cases())
write("conv1d", SEED, conv1d_cases())
