"""PyTorch's side of bench-conv: the same conv2d shapes, forward and backward, timed
the same way (fastest of runs, this thread's CPU time, 1 thread). Run with Debian's
interpreter, which has python3-torch 1.13:

    /usr/bin/python3 bench/bench-conv-torch.py

Backward is dW, db and dx, except for the first layer ("in"), whose input needs no
gradient, as in bench-conv.
"""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
clock = time.thread_time

# name, N, C, H, O, k, stride, pad, groups, first
SHAPES = [
    ("fmnist c1 1->32 28x28", 64, 1, 28, 32, 3, 1, 1, 1, True),
    ("fmnist c2 32->64 14x14", 64, 32, 14, 64, 3, 1, 1, 1, False),
    ("fmnist c3 64->64 7x7", 64, 64, 7, 64, 3, 1, 1, 1, False),
    ("resnet 64->64 56x56", 8, 64, 56, 64, 3, 1, 1, 1, False),
    ("1x1 64->128 28x28", 16, 64, 28, 128, 1, 1, 0, 1, False),
    ("stride 2 64->128 28x28", 16, 64, 28, 128, 3, 2, 1, 1, False),
    ("depthwise 128 28x28", 16, 128, 28, 128, 3, 1, 1, 128, False),
]


def fastest(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t = clock()
        fn()
        best = min(best, clock() - t)
    return best


print("PyTorch %s, %d thread(s), fastest of runs, thread CPU time\n" % (torch.__version__, torch.get_num_threads()))
print("%-26s %5s | %8s %7s | %8s %7s" % ("layer", "batch", "fwd ms", "GFLOP/s", "bwd ms", "GFLOP/s"))
total_f = total_b = 0.0
for i, (name, N, C, H, O, k, s, p, g, first) in enumerate(SHAPES):
    x = torch.randn(N, C, H, H, requires_grad=not first)
    w = torch.randn(O, C // g, k, k, requires_grad=True)
    b = torch.randn(O, requires_grad=True)
    y = F.conv2d(x, w, b, stride=s, padding=p, groups=g)
    dy = torch.randn_like(y)
    flops = 2.0 * y.numel() * (C // g) * k * k
    reps = int(min(200, max(10, 1e9 / flops)))
    tf = fastest(lambda: F.conv2d(x, w, b, stride=s, padding=p, groups=g), reps)

    def bwd():
        yy = F.conv2d(x, w, b, stride=s, padding=p, groups=g)
        t = clock()
        yy.backward(dy)
        return clock() - t

    bwd()
    tb = min(bwd() for _ in range(reps))
    bflops = flops * (1 if first else 2)
    print("%-26s %5d | %8.3f %7.1f | %8.3f %7.1f%s" % (name, N, tf * 1e3, flops / tf * 1e-9, tb * 1e3,
                                                       bflops / tb * 1e-9, " in" if first else ""))
    if i < 3:
        total_f += tf
        total_b += tb
print("\nFashion-MNIST CNN convs (first three rows), batch 64: forward %.2f ms, backward %.2f ms, "
      "total %.2f ms" % (total_f * 1e3, total_b * 1e3, (total_f + total_b) * 1e3))
