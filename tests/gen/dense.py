"""Reference fixtures for dense + activations: /usr/bin/python3 tests/gen/dense.py"""
import torch
import torch.nn.functional as F

from fixture import write

SEED = 1234
torch.manual_seed(SEED)
cases = {}

x = torch.randn(3, 5, requires_grad=True)
lin = torch.nn.Linear(5, 4)
y = lin(x)
dy = torch.randn_like(y)
y.backward(dy)
cases["dense"] = ({"N": 3, "I": 5, "O": 4},
                  {"x": x, "w": lin.weight, "b": lin.bias, "y": y, "dy": dy,
                   "dx": x.grad, "dw": lin.weight.grad, "db": lin.bias.grad})

acts = {"relu": F.relu, "leaky_relu": lambda v: F.leaky_relu(v, 0.1), "sigmoid": torch.sigmoid,
        "tanh": torch.tanh, "gelu": F.gelu}
for name, fn in acts.items():
    x = (torch.randn(17) * 2).requires_grad_()
    y = fn(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    cases[name] = ({"slope": 0.1}, {"x": x, "y": y, "dy": dy, "dx": x.grad})

write("dense", SEED, cases)
