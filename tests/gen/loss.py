"""Reference fixtures for the losses: /usr/bin/python3 tests/gen/loss.py
Writes tests/fixtures/loss.json (cross-entropy, MSE, L1) and tests/fixtures/ctc.json.
Gradients are of the reduced loss (scale 1). Integer tensors are stored as floats;
an ignored cross-entropy row has target -1."""
import torch
import torch.nn.functional as F

from fixture import write

SEED = 4321
torch.manual_seed(SEED)

# ---- cross-entropy, MSE, L1 -------------------------------------------------------
cases = {}


def ce_case(name, N, C, weighted, ignored):
    logits = (torch.randn(N, C) * 2).requires_grad_()
    targets = torch.randint(0, C, (N,))
    for i in ignored:
        targets[i] = -1
    w = torch.rand(C) + 0.5 if weighted else None
    loss = F.cross_entropy(logits, targets, weight=w, ignore_index=-1)
    loss.backward()
    tensors = {"logits": logits, "targets": targets.float(), "loss": loss, "dlogits": logits.grad}
    if weighted:
        tensors["weights"] = w
    cases[name] = ({"N": N, "C": C, "weighted": int(weighted)}, tensors)


ce_case("ce", 6, 5, False, [])
ce_case("ce_weighted", 8, 37, True, [2, 5])   # C not a multiple of the 16 lanes
ce_case("ce_ignore", 7, 4, False, [0, 3, 4])
ce_case("ce_wide", 4, 300, True, [1])

pred = torch.randn(23, requires_grad=True)
target = torch.randn(23)
target[3] = pred[3].item()       # exact ties: L1's gradient is 0 there
target[11] = pred[11].item()
for name, fn in (("mse", F.mse_loss), ("l1", F.l1_loss)):
    p = pred.detach().clone().requires_grad_()
    loss = fn(p, target)
    loss.backward()
    cases[name] = ({"n": 23}, {"pred": p, "target": target, "loss": loss, "dpred": p.grad})

write("loss", SEED, cases)

# ---- CTC ---------------------------------------------------------------------------
cases = {}


def ctc_case(name, T, C, input_lengths, targets, blank=0, blank_bias=0.0, zero_infinity=False):
    N = len(input_lengths)
    logits = torch.randn(N, T, C) * 1.5
    logits[:, :, blank] += blank_bias
    logits.requires_grad_()
    flat = torch.tensor([c for t in targets for c in t], dtype=torch.long)
    il = torch.tensor(input_lengths, dtype=torch.long)
    tl = torch.tensor([len(t) for t in targets], dtype=torch.long)
    lp = F.log_softmax(logits, dim=-1).transpose(0, 1)   # [T,N,C]
    kw = dict(blank=blank, zero_infinity=zero_infinity)
    loss_mean = F.ctc_loss(lp, flat, il, tl, reduction="mean", **kw)
    loss_mean.backward()
    grad_mean = logits.grad.clone()
    logits.grad = None
    lp = F.log_softmax(logits, dim=-1).transpose(0, 1)
    loss_sum = F.ctc_loss(lp, flat, il, tl, reduction="sum", **kw)
    loss_sum.backward()
    losses = F.ctc_loss(lp.detach(), flat, il, tl, reduction="none", **kw)
    tensors = {"logits": logits, "input_lengths": il.float(), "targets": flat.float(),
               "target_lengths": tl.float(), "loss_mean": loss_mean, "loss_sum": loss_sum,
               "grad_mean": grad_mean, "grad_sum": logits.grad}
    if torch.isfinite(losses).all():
        tensors["losses"] = losses
    else:   # JSON has no infinity: -1 marks an infinite loss
        tensors["losses"] = torch.where(torch.isinf(losses), torch.tensor(-1.0), losses)
    cases[name] = ({"N": N, "T": T, "C": C, "blank": blank, "zero_infinity": int(zero_infinity)},
                   tensors)


ctc_case("basic", 12, 6, [12, 10, 7], [[1, 2, 3, 4], [2, 2, 5], [3, 1]])
ctc_case("repeats", 9, 4, [9, 6], [[1, 1, 2], [3, 3, 3]])          # blanks forced between repeats
ctc_case("blank_heavy", 15, 5, [15, 11, 8], [[1, 4], [2, 3, 2], [4]], blank_bias=6.0)
ctc_case("empty_target", 6, 4, [6, 4], [[], [2, 1]])
ctc_case("tight", 5, 5, [5, 5], [[1, 2, 2, 3], [4, 4, 4]])        # exactly L + repeats frames
ctc_case("infeasible", 6, 5, [6, 3], [[1, 2], [1, 1, 2]], zero_infinity=True)
ctc_case("blank_last", 8, 5, [8, 7], [[0, 1, 2], [3, 0]], blank=4)

write("ctc", SEED, cases)
