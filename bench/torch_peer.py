"""The PyTorch 1.13 side of bench/compare.py: the same models, batch sizes, thread
counts and timing method as bench/bench-train.c. One JSON line per measurement.
Usage: /usr/bin/python3 bench/torch_peer.py MODEL MODE THREADS"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))


class CNN(nn.Module):
    """models/fashion/cnn.json"""

    def __init__(self):
        super().__init__()
        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o)]
        self.stem = nn.Sequential(*block(1, 32), nn.ReLU(), nn.MaxPool2d(2),
                                  *block(32, 64), nn.ReLU(), nn.MaxPool2d(2))
        self.res = nn.Sequential(*block(64, 64), nn.ReLU(), *block(64, 64))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 49, 128), nn.ReLU(),
                                  nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, x):
        p = self.stem(x)
        return self.head(F.relu(p + self.res(p)))


class LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(128, 256, num_layers=2, batch_first=True)
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def main():
    model_name, mode, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    train = mode == "train"
    batch = (32 if model_name == "lstm" else 64) if train else 1
    model = {"mlp": mlp, "cnn": CNN, "lstm": LSTM}[model_name]()
    shape = (batch, 50, 128) if model_name == "lstm" else (batch, 1, 28, 28)
    x = torch.randn(*shape)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train(train)

    def step():
        if train:
            opt.zero_grad(set_to_none=False)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        else:
            with torch.no_grad():
                model(x)

    steps, samples = 1, []
    for rep in range(-2, 7):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        ms = (time.perf_counter() - t0) * 1000 / steps
        if rep == -2:
            steps = max(1, int(200 / max(ms, 1e-3)))
        if rep >= 0:
            samples.append(ms)
    print(json.dumps({"impl": "torch", "model": model_name, "mode": mode, "threads": threads,
                      "batch": batch, "ms": round(statistics.median(samples), 4)}))


if __name__ == "__main__":
    main()
