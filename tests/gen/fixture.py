"""Shared writer for the PyTorch reference fixtures read by tests/check.c.

Run generators with Debian's interpreter, which has python3-torch 1.13:
    /usr/bin/python3 tests/gen/<name>.py
Each writes tests/fixtures/<name>.json: {"seed": S, "torch": version,
"cases": {case: {"config": {...}, "tensors": {name: {"shape": [...], "data": [...]}}}}}.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def t(x):
    x = x.detach().to(torch.float32).contiguous()
    return {"shape": list(x.shape), "data": [float("%.9g" % v) for v in x.flatten().tolist()]}


def write(name, seed, cases):
    os.makedirs(OUT, exist_ok=True)
    doc = {"seed": seed, "torch": torch.__version__, "cases": {}}
    for cname, (config, tensors) in cases.items():
        doc["cases"][cname] = {"config": config, "tensors": {k: t(v) for k, v in tensors.items()}}
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes")
