"""Reference fixtures for the GRU variants: /usr/bin/python3 tests/gen/gru_variant.py

torch.nn.GRU only has the reset-after cell with tanh, so the cell is written out by
hand here (autograd gives the gradients):
  r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
  reset_after=False:  n = act(W_in x + b_in + W_hn (r*h) + b_hn)
  reset_after=True:   n = act(W_in x + b_in + r*(W_hn h + b_hn))
  h' = (1-z)*n + z*h
Parameters use PyTorch's names and layouts (weight_ih_l0 [3H,F], rows r, z, n).
Sequences past their length output zeros and keep the state; the reverse direction
starts at length-1 from zero, as packed sequences do.

Config "act" numbers the activation as NerveRnnActivation: 0 tanh, 1 relu, 2 sigmoid.
Writes tests/fixtures/gru-variant.json with cases
  rb_tanh   2 layers, reset_before, tanh, variable lengths
  rb_relu   1 layer, bidirectional, reset_before, relu, variable lengths
  rb_sig    1 layer, reset_before, sigmoid, full lengths
  ra_relu   1 layer, reset_after, relu, full lengths
"""
import torch

from fixture import write

SEED = 2468
N, T, F, H = 3, 5, 4, 5


def act_fn(name):
    return {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[name]


def cell(x, h, w_ih, w_hh, b_ih, b_hh, reset_after, act):
    gi = x @ w_ih.t() + b_ih
    r = torch.sigmoid(gi[:H] + h @ w_hh[:H].t() + b_hh[:H])
    z = torch.sigmoid(gi[H:2 * H] + h @ w_hh[H:2 * H].t() + b_hh[H:2 * H])
    if reset_after:
        n = act(gi[2 * H:] + r * (h @ w_hh[2 * H:].t() + b_hh[2 * H:]))
    else:
        n = act(gi[2 * H:] + (r * h) @ w_hh[2 * H:].t() + b_hh[2 * H:])
    return (1 - z) * n + z * h


def run(layers, bidir, lengths, reset_after, act_name):
    torch.manual_seed(SEED)
    act = act_fn(act_name)
    dirs = 2 if bidir else 1
    params = {}
    bound = 1 / H ** 0.5
    for k in range(layers):
        for d in range(dirs):
            suf = "_l%d%s" % (k, "_reverse" if d else "")
            fin = F if k == 0 else H * dirs
            params["weight_ih" + suf] = torch.empty(3 * H, fin).uniform_(-bound, bound).requires_grad_()
            params["weight_hh" + suf] = torch.empty(3 * H, H).uniform_(-bound, bound).requires_grad_()
            params["bias_ih" + suf] = torch.empty(3 * H).uniform_(-bound, bound).requires_grad_()
            params["bias_hh" + suf] = torch.empty(3 * H).uniform_(-bound, bound).requires_grad_()
    x = torch.randn(N, T, F)
    lens = lengths or [T] * N
    for n, ln in enumerate(lens):  # padded steps must not matter: make them loud
        x[n, ln:] = 10.0
    x.requires_grad_()
    seq = x
    for k in range(layers):
        outs = []
        for n in range(N):
            rows = [torch.zeros(H * dirs) for _ in range(T)]
            cols = [[None] * T for _ in range(dirs)]
            for d in range(dirs):
                suf = "_l%d%s" % (k, "_reverse" if d else "")
                p = [params[b + suf] for b in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                h = torch.zeros(H)
                steps = range(lens[n] - 1, -1, -1) if d else range(lens[n])
                for t in steps:
                    h = cell(seq[n, t], h, *p, reset_after, act)
                    cols[d][t] = h
            for t in range(T):
                if t < lens[n]:
                    rows[t] = torch.cat([cols[d][t] for d in range(dirs)])
            outs.append(torch.stack(rows))
        seq = torch.stack(outs)
    y = seq
    dy = torch.randn_like(y)
    y.backward(dy)
    config = {"N": N, "T": T, "F": F, "H": H, "layers": layers, "bidirectional": int(bidir),
              "has_lengths": int(lengths is not None), "reset_after": int(reset_after),
              "act": ["tanh", "relu", "sigmoid"].index(act_name)}
    tensors = {"x": x, "y": y, "dy": dy, "dx": x.grad}
    if lengths is not None:
        tensors["lengths"] = torch.tensor(lengths, dtype=torch.float32)
    for name, p in params.items():
        tensors[name] = p
        tensors["grad." + name] = p.grad
    return config, tensors


cases = {
    "rb_tanh": run(2, False, [5, 2, 3], False, "tanh"),
    "rb_relu": run(1, True, [4, 5, 1], False, "relu"),
    "rb_sig": run(1, False, None, False, "sigmoid"),
    "ra_relu": run(1, False, None, True, "relu"),
}
write("gru-variant", SEED, cases)
