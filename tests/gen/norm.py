"""Reference fixtures for pooling, normalisation, softmax and merge layers:
    /usr/bin/python3 tests/gen/norm.py
writes tests/fixtures/pool.json, norm.json and merge.json."""
import torch
import torch.nn.functional as F

from fixture import write

SEED = 4321
torch.manual_seed(SEED)


def grads(y, *inputs):
    """Backpropagates a random dy; returns dy and the gradients of inputs."""
    dy = torch.randn_like(y)
    y.backward(dy)
    return dy, [t.grad for t in inputs]


# ---- pooling -----------------------------------------------------------------
pool = {}
for name, shape, k, s, p in [("max_k2", (2, 3, 6, 7), 2, 2, 0),
                             ("max_k3s2p1", (2, 2, 7, 6), 3, 2, 1),
                             ("max_k2s1", (1, 2, 5, 5), 2, 1, 0)]:
    x = torch.randn(*shape, requires_grad=True)
    y = F.max_pool2d(x, k, s, p)
    dy, (dx,) = grads(y, x)
    pool[name] = ({"N": shape[0], "C": shape[1], "H": shape[2], "W": shape[3], "k": k, "s": s, "p": p},
                  {"x": x, "y": y, "dy": dy, "dx": dx})
for name, shape, k, s, p in [("avg_k2", (2, 3, 6, 7), 2, 2, 0),
                             ("avg_k3s2p1", (2, 2, 7, 6), 3, 2, 1)]:
    x = torch.randn(*shape, requires_grad=True)
    y = F.avg_pool2d(x, k, s, p)  # count_include_pad=True
    dy, (dx,) = grads(y, x)
    pool[name] = ({"N": shape[0], "C": shape[1], "H": shape[2], "W": shape[3], "k": k, "s": s, "p": p},
                  {"x": x, "y": y, "dy": dy, "dx": dx})
x = torch.randn(2, 3, 4, 5, requires_grad=True)
y = x.mean(dim=(2, 3))
dy, (dx,) = grads(y, x)
pool["global_avg"] = ({"N": 2, "C": 3, "S": 20}, {"x": x, "y": y, "dy": dy, "dx": dx})
x = torch.randn(2, 3, 4, 5, requires_grad=True)
y = x.amax(dim=(2, 3))
dy, (dx,) = grads(y, x)
pool["global_max"] = ({"N": 2, "C": 3, "S": 20}, {"x": x, "y": y, "dy": dy, "dx": dx})

# time pooling over the first lengths[n] steps; padded steps hold large values that
# would dominate if they leaked in
N, T, Fe = 3, 5, 4
lengths = torch.tensor([5, 3, 1])
valid = (torch.arange(T)[None, :] < lengths[:, None])[:, :, None]  # [N,T,1]
for mode in ("mean", "max"):
    x = torch.randn(N, T, Fe)
    x = torch.where(valid, x, torch.full_like(x, 50.0)).requires_grad_()
    if mode == "mean":
        y = (x * valid).sum(1) / lengths[:, None]
    else:
        y = x.masked_fill(~valid, float("-inf")).amax(1)
    dy, (dx,) = grads(y, x)
    pool["time_" + mode] = ({"N": N, "T": T, "F": Fe},
                            {"x": x, "lengths": lengths.float(), "y": y, "dy": dy, "dx": dx})
write("pool", SEED, pool)

# ---- normalisation and softmax -------------------------------------------------
norm = {}


def batchnorm_case(name, x, to_ncl, momentum, eps, training):
    """x as Nerve lays it out; to_ncl maps it to what BatchNorm{1,2}d expects."""
    C = to_ncl(x).shape[1]
    bn = torch.nn.BatchNorm2d(C, eps=eps, momentum=momentum) if x.dim() == 4 else \
        torch.nn.BatchNorm1d(C, eps=eps, momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(C) * 0.5 + 1)
        bn.bias.copy_(torch.randn(C) * 0.5)
        bn.running_mean.copy_(torch.randn(C))
        bn.running_var.copy_(torch.rand(C) + 0.5)
    rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
    bn.train(training)
    x = x.requires_grad_()
    y = to_ncl(bn(to_ncl(x)))  # the permutations used are their own inverses
    dy, (dx, dw, db) = grads(y, x, bn.weight, bn.bias)
    norm[name] = ({"momentum": momentum, "eps": eps, "training": int(training)},
                  {"x": x, "weight": bn.weight, "bias": bn.bias, "running_mean": rm0, "running_var": rv0,
                   "y": y, "dy": dy, "dx": dx, "dweight": dw, "dbias": db,
                   "running_mean_after": bn.running_mean, "running_var_after": bn.running_var})


same = lambda v: v
seq = lambda v: v.transpose(1, 2)  # [N,T,F] <-> [N,F,T]
# inputs with a non-zero mean so that centring matters
batchnorm_case("bn2d_train", torch.randn(4, 3, 5, 4) * 2 + 1, same, 0.1, 1e-5, True)
batchnorm_case("bn2d_eval", torch.randn(4, 3, 5, 4) * 2 + 1, same, 0.1, 1e-5, False)
batchnorm_case("bn1d_train", torch.randn(6, 5) * 3 - 2, same, 0.2, 1e-3, True)
batchnorm_case("bn1d_eval", torch.randn(6, 5), same, 0.1, 1e-5, False)
batchnorm_case("bnseq_train", torch.randn(3, 4, 5) + 0.5, seq, 0.1, 1e-5, True)

x = (torch.randn(3, 4, 7) * 2 + 1).requires_grad_()
ln = torch.nn.LayerNorm(7)
with torch.no_grad():
    ln.weight.copy_(torch.randn(7) * 0.5 + 1)
    ln.bias.copy_(torch.randn(7) * 0.5)
y = ln(x)
dy, (dx, dw, db) = grads(y, x, ln.weight, ln.bias)
norm["layernorm"] = ({"R": 12, "D": 7, "eps": 1e-5},
                     {"x": x, "weight": ln.weight, "bias": ln.bias, "y": y, "dy": dy, "dx": dx,
                      "dweight": dw, "dbias": db})

for name, fn in (("softmax", lambda v: F.softmax(v, -1)), ("log_softmax", lambda v: F.log_softmax(v, -1))):
    for suffix, scale in (("", 2.0), ("_large", 300.0)):
        x = (torch.randn(4, 6) * scale).requires_grad_()
        y = fn(x)
        dy, (dx,) = grads(y, x)
        norm[name + suffix] = ({"R": 4, "D": 6}, {"x": x, "y": y, "dy": dy, "dx": dx})
write("norm", SEED, norm)

# ---- merge ------------------------------------------------------------------------
merge = {}
xs = [torch.randn(2, 3, 4, requires_grad=True) for _ in range(3)]
y = xs[0] + xs[1] + xs[2]
dy, dxs = grads(y, *xs)
merge["add"] = ({}, {"x0": xs[0], "x1": xs[1], "x2": xs[2], "y": y, "dy": dy,
                     "dx0": dxs[0], "dx1": dxs[1], "dx2": dxs[2]})
# per-sample axis 1 of [3,*,4] (tensor axis 2)
xs = [torch.randn(2, 3, n, 4, requires_grad=True) for n in (2, 1, 3)]
y = torch.cat(xs, dim=2)
dy, dxs = grads(y, *xs)
merge["concat_axis1"] = ({"axis": 1}, {"x0": xs[0], "x1": xs[1], "x2": xs[2], "y": y, "dy": dy,
                                       "dx0": dxs[0], "dx1": dxs[1], "dx2": dxs[2]})
write("merge", SEED, merge)
