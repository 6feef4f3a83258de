"""Sentiment throughput on one thread, measured in one run (/usr/bin/python3):

    /usr/bin/python3 bench/sentiment.py [--model models/sentiment/sentiment.nerve]
                                        [--data ../shared/data/sentiment] [--build build]

1. the C API (build/bench/bench-sentiment) on the SST-2 dev sentences;
2. a gst-launch-1.0 pipeline `filesrc ! nervesentiment ! fakesink` on the same
   sentences repeated 10 times (whole process, model loading included);
3. the peer: fastText `predict` (Debian fasttext, bigrams, trained here on SST-2 train)
   on the same repeated file, whole process.
Prints sentences/s and the ratio Nerve/fastText. Bars (issue 3): C API >= 5,000/s,
pipeline >= 2,000 lines/s."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, env=None):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "sentiment", "sentiment.nerve"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "sentiment"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    dev = os.path.join(a.data, "sst2", "dev.txt")
    if not os.path.exists(dev):
        print("skipped: %s not found" % dev)
        return 0
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", GST_PLUGIN_PATH=os.path.join(a.build, "plugins"))
    api = json.loads(subprocess.run([os.path.join(a.build, "bench", "bench-sentiment"), a.model, dev],
                                    check=True, capture_output=True, text=True, env=env).stdout)
    with tempfile.TemporaryDirectory() as tmp:
        sentences = [l.split(" ", 1)[1] for l in open(dev, encoding="utf-8").read().splitlines() if l]
        text = os.path.join(tmp, "lines.txt")
        with open(text, "w", encoding="utf-8") as f:
            for _ in range(10):
                f.write("\n".join(sentences) + "\n")
        n = 10 * len(sentences)
        pipe = min(timed(["gst-launch-1.0", "-q", "filesrc", "location=" + text, "!", "nervesentiment",
                          "model=" + a.model, "!", "fakesink"], env) for _ in range(3))
        train = os.path.join(tmp, "train.txt")
        with open(train, "w", encoding="utf-8") as f:
            for l in open(os.path.join(a.data, "sst2", "train.txt"), encoding="utf-8"):
                label, s = l.rstrip("\n").split(" ", 1)
                f.write("__label__%s %s\n" % (label, s))
        ft = os.path.join(tmp, "ft")
        subprocess.run(["fasttext", "supervised", "-input", train, "-output", ft, "-wordNgrams", "2",
                        "-bucket", "100000", "-epoch", "10", "-lr", "0.5", "-thread", "1", "-seed", "1"],
                       check=True, capture_output=True)
        peer = min(timed(["fasttext", "predict", ft + ".bin", text]) for _ in range(3))
    print("%-40s %12s %10s" % ("what", "sentences/s", "vs fastText"))
    print("%-40s %12.0f %10s" % ("Nerve C API (batch 32, loading excluded)", api["per_s"], "-"))
    print("%-40s %12.0f %10.2f" % ("Nerve gst-launch pipeline (whole run)", n / pipe, (n / pipe) / (n / peer)))
    print("%-40s %12.0f %10.2f" % ("fastText predict (whole run)", n / peer, 1.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
