"""Reference fixtures for LSTM and GRU: /usr/bin/python3 tests/gen/rnn.py

Writes tests/fixtures/rnn-lstm.json and rnn-gru.json. Each has the cases
  bi_seq   2 layers, bidirectional, variable lengths (packed), outputs [N,T,2H]
  bi_last  the same model and input, output h_n of the last layer [N,2H]
  uni      2 layers, one direction, all lengths full, outputs [N,T,H]
with every parameter under its PyTorch name and its gradient as "grad.<name>".
"""
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from fixture import write

SEED = 4321
N, T, F, H = 3, 5, 4, 5
LENGTHS = [5, 2, 3]  # unsorted on purpose: enforce_sorted=False


def run(kind, layers, bidir, lengths, seq_out):
    torch.manual_seed(SEED)
    rnn = getattr(torch.nn, kind)(F, H, num_layers=layers, bidirectional=bidir, batch_first=True)
    x = torch.randn(N, T, F)
    if lengths is not None:  # padded steps must not matter: make them loud
        for n, ln in enumerate(lengths):
            x[n, ln:] = 10.0
    x.requires_grad_()
    if lengths is not None:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        out, state = rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    else:
        out, state = rnn(x)
    h_n = state[0] if kind == "LSTM" else state
    if seq_out:
        y = out
    else:
        dirs = 2 if bidir else 1
        y = torch.cat([h_n[-dirs + d] for d in range(dirs)], dim=1)
    dy = torch.randn_like(y)
    y.backward(dy)
    config = {"N": N, "T": T, "F": F, "H": H, "layers": layers, "bidirectional": int(bidir),
              "seq_out": int(seq_out), "has_lengths": int(lengths is not None)}
    tensors = {"x": x, "y": y, "dy": dy, "dx": x.grad}
    if lengths is not None:
        tensors["lengths"] = torch.tensor(lengths, dtype=torch.float32)
    for name, p in rnn.named_parameters():
        tensors[name] = p
        tensors["grad." + name] = p.grad
    return config, tensors


for kind in ("LSTM", "GRU"):
    cases = {
        "bi_seq": run(kind, 2, True, LENGTHS, True),
        "bi_last": run(kind, 2, True, LENGTHS, False),
        "uni": run(kind, 2, False, None, True),
    }
    write("rnn-" + kind.lower(), SEED, cases)
