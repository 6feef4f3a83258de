"""Reference fixtures for embedding and attention: /usr/bin/python3 tests/gen/attention.py

torch 1.13 has no F.scaled_dot_product_attention, so the single-head reference is
written out here; multi-head attention is nn.MultiheadAttention(batch_first=True) and
Bahdanau attention a hand-written module with Nerve's parameter names.
"""
import math

import torch
import torch.nn as nn

from fixture import write

SEED = 4321
torch.manual_seed(SEED)
cases = {}


def f(x):
    return torch.tensor(x, dtype=torch.float32)


# ---- embedding with padding_idx; ids [B=2, T=5] with repeats and the padding id
emb = nn.Embedding(7, 4, padding_idx=1)
ids = torch.tensor([[0, 1, 3, 3, 6], [5, 1, 1, 2, 0]])
y = emb(ids)
dy = torch.randn_like(y)
y.backward(dy)
cases["embedding"] = ({"vocab": 7, "dim": 4, "padding_idx": 1, "B": 2, "T": 5},
                      {"ids": ids.float(), "weight": emb.weight, "y": y, "dy": dy, "dweight": emb.weight.grad})


# ---- scaled dot-product attention, one head
def sdpa(q, k, v, valid, causal):
    s = q @ k.t() / math.sqrt(q.shape[1])
    Tq, Tk = s.shape
    mask = torch.arange(Tk)[None, :] >= valid
    if causal:
        mask = mask | torch.ones(Tq, Tk, dtype=torch.bool).triu(1)
    a = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1)
    return a @ v, a


for name, Tq, Tk, d, dv, valid, causal in [("sdpa", 4, 5, 3, 2, 5, False),
                                           ("sdpa_causal", 5, 5, 3, 2, 5, True),
                                           ("sdpa_len", 4, 6, 3, 2, 4, False),
                                           ("sdpa_len_causal", 5, 5, 4, 3, 3, True)]:
    q = torch.randn(Tq, d, requires_grad=True)
    k = torch.randn(Tk, d, requires_grad=True)
    v = torch.randn(Tk, dv, requires_grad=True)
    o, a = sdpa(q, k, v, valid, causal)
    dy = torch.randn_like(o)
    o.backward(dy)
    cases[name] = ({"Tq": Tq, "Tk": Tk, "d": d, "dv": dv, "valid": valid, "causal": int(causal)},
                   {"q": q, "k": k, "v": v, "o": o, "att": a, "dy": dy,
                    "dq": q.grad, "dk": k.grad, "dv": v.grad})


# ---- multi-head attention, batch_first, 2 heads; lengths -> key_padding_mask
def mha_case(name, B, Tq, Tk, E, heads, lengths, causal, cross, bias=True):
    mha = nn.MultiheadAttention(E, heads, bias=bias, batch_first=True)
    with torch.no_grad():  # non-zero biases so a bias bug cannot hide
        if bias:
            mha.in_proj_bias.normal_(0, 0.3)
            mha.out_proj.bias.normal_(0, 0.3)
    x = torch.randn(B, Tq, E, requires_grad=True)
    m = torch.randn(B, Tk, E, requires_grad=True) if cross else x
    kpm = torch.arange(Tk)[None, :] >= torch.tensor(lengths)[:, None]
    am = torch.ones(Tq, Tk, dtype=torch.bool).triu(1) if causal else None
    y, _ = mha(x, m, m, key_padding_mask=kpm, attn_mask=am, need_weights=False)
    dy = torch.randn_like(y)
    y.backward(dy)
    t = {"x": x, "in_proj_weight": mha.in_proj_weight, "out_proj_weight": mha.out_proj.weight,
         "lengths": f(lengths), "y": y, "dy": dy, "dx": x.grad,
         "d_in_proj_weight": mha.in_proj_weight.grad, "d_out_proj_weight": mha.out_proj.weight.grad}
    if bias:
        t.update({"in_proj_bias": mha.in_proj_bias, "out_proj_bias": mha.out_proj.bias,
                  "d_in_proj_bias": mha.in_proj_bias.grad, "d_out_proj_bias": mha.out_proj.bias.grad})
    if cross:
        t.update({"m": m, "dm": m.grad})
    cases[name] = ({"B": B, "Tq": Tq, "Tk": Tk, "E": E, "heads": heads, "causal": int(causal),
                    "cross": int(cross), "bias": int(bias)}, t)


mha_case("mha_self", 2, 5, 5, 6, 2, [5, 3], False, False)
mha_case("mha_self_causal", 2, 5, 5, 6, 2, [5, 2], True, False)
mha_case("mha_cross", 2, 3, 4, 6, 2, [4, 2], False, True)
mha_case("mha_nobias", 2, 4, 4, 4, 2, [4, 4], False, False, bias=False)


# ---- additive (Bahdanau) attention with Nerve's parameter names
class Bahdanau(nn.Module):
    """score[i,j] = vᵀ tanh(W_q q_i + W_k m_j + b); pooling: W_q q_i is absent and the
    learned 'query' vector plays v's role."""

    def __init__(self, dq, dk, units, pooling):
        super().__init__()
        self.pooling = pooling
        if not pooling:
            self.query_weight = nn.Parameter(torch.randn(units, dq) * 0.5)
        self.key_weight = nn.Parameter(torch.randn(units, dk) * 0.5)
        self.bias = nn.Parameter(torch.randn(units) * 0.3)
        vec = nn.Parameter(torch.randn(units))
        if pooling:
            self.query = vec
        else:
            self.v = vec

    def forward(self, q, m, lengths):  # q [B,Tq,Dq] or None, m [B,Tk,Dk]
        kp = m @ self.key_weight.t() + self.bias                       # [B,Tk,U]
        if self.pooling:
            e, v = torch.tanh(kp)[:, None], self.query                  # [B,1,Tk,U]
        else:
            qp = q @ self.query_weight.t()                              # [B,Tq,U]
            e, v = torch.tanh(qp[:, :, None, :] + kp[:, None, :, :]), self.v
        s = e @ v                                                       # [B,Tq,Tk]
        mask = torch.arange(m.shape[1])[None, :] >= lengths[:, None]
        a = torch.softmax(s.masked_fill(mask[:, None, :], float("-inf")), dim=-1)
        return a @ m                                                    # [B,Tq,Dk]


def additive_case(name, B, Tq, Tk, Dq, Dk, U, lengths, pooling, vec_query=False):
    mod = Bahdanau(Dq, Dk, U, pooling)
    q = None if pooling else torch.randn(B, Tq, Dq, requires_grad=True)
    m = torch.randn(B, Tk, Dk, requires_grad=True)
    y = mod(q, m, torch.tensor(lengths))
    dy = torch.randn_like(y)
    y.backward(dy)
    t = {"m": m, "dm": m.grad, "lengths": f(lengths), "y": y, "dy": dy}
    for pname, p in mod.named_parameters():
        t[pname] = p
        t["d_" + pname] = p.grad
    if not pooling:
        t.update({"q": q, "dq": q.grad})
    cases[name] = ({"B": B, "Tq": Tq, "Tk": Tk, "Dq": Dq, "Dk": Dk, "units": U,
                    "pooling": int(pooling), "vec_query": int(vec_query)}, t)


additive_case("additive", 2, 3, 5, 4, 6, 7, [5, 2], False)
additive_case("additive_vec", 2, 1, 4, 3, 5, 6, [3, 4], False, vec_query=True)
additive_case("additive_pool", 2, 1, 5, 0, 6, 7, [5, 3], True)

write("attention", SEED, cases)
