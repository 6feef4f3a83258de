"""Nerve vs PyTorch 1.13 CPU, measured in the same run on the same machine:
training step time (MLP and CNN at batch 64, 2-layer LSTM hidden 256 / seq 50 at
batch 32) and batch-1 inference latency, with 1 and 2 threads.

    /usr/bin/python3 bench/compare.py [BUILD_DIR]

Prints a table with the ratio Nerve/PyTorch (< 1 means Nerve is faster)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")


def run(cmd, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["ms"]


def main():
    nerve = os.path.join(BUILD, "bench", "bench-train")
    peer = os.path.join(ROOT, "bench", "torch_peer.py")
    print(f"{'model':6} {'mode':6} {'threads':>7} {'nerve ms':>10} {'torch ms':>10} {'ratio':>7}  goal")
    for model in ("mlp", "cnn", "lstm"):
        for mode in ("train", "infer"):
            for threads in (1, 2):
                a = run([nerve, model, mode, str(threads), ROOT], threads)
                b = run(["/usr/bin/python3", peer, model, mode, str(threads)], threads)
                goal = 1.0 if mode == "train" else 0.5
                mark = "ok" if a / b <= goal else "MISSED"
                print(f"{model:6} {mode:6} {threads:7d} {a:10.3f} {b:10.3f} {a / b:7.2f}  <= {goal} {mark}",
                      flush=True)


if __name__ == "__main__":
    main()
