#!/usr/bin/python3
"""Sentiment quality table for the model card (docs/models/sentiment.md): baselines and
Nerve models on the same splits (models/sentiment/splits.py), made by this one script.

    /usr/bin/python3 models/sentiment/baselines.py [--data DIR]
        [--nerve-sst MODEL] [--nerve-imdb MODEL] [--out FILE]

Rows:
  fastText    Debian's `fasttext supervised` (word bigrams, -bucket 100000, one thread,
              fixed seed), trained on SST-2 train sentences, or on every non-neutral phrase
              of the SST train trees, and on the IMDB 90 % train part. Input lower-cased
              and tokenised by splits.tokenize().
  VADER       npm vader-sentiment (lexicon and rules, no training): compound >= 0 ->
              positive. It gets the text as the data has it (IMDB `<br />` tags replaced
              by spaces) since it uses case and punctuation.
  Nerve       --nerve-sst / --nerve-imdb MODEL: `build/core/cli/nerve eval MODEL FILE.tsv`
              on `label<TAB>text` files holding the same evaluation items (raw text);
              the "accuracy  NN.NN%" line of its report is read. --nerve-eval-cmd changes
              the command ({model} and {data} are substituted).

Columns: accuracy on SST-2 dev (872 sentences) and on the IMDB held-out 10 % (2,500
reviews); training wall time (one thread); prediction throughput on one thread in
items/s, model loading excluded (fastText and Nerve: time on the evaluation items
repeated to >= 10,000 minus the time on one item; VADER: its scoring loop alone).
The machine is shared: times are indicative, accuracies are deterministic.

fastText's hyper-parameters were chosen on parts of the training data (see FASTTEXT),
never on SST-2 dev or the IMDB held-out part, and nothing is trained on those.

Needs (Debian): fasttext (apt-get install fasttext; 0.9.2), nodejs with npm (Debian's
nodejs + npm, or NodeSource's nodejs which bundles npm). vader-sentiment is installed
on first use with `npm install --prefix build/npm vader-sentiment@1.1.3` (see
--npm-dir); nothing else is needed beyond the Python 3 standard library.

Exits 0 with "skipped: ../shared/data/sentiment not found" when the data is absent.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import splits  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VADER_PKG = "vader-sentiment@1.1.3"

# fastText settings per training set (the defaults of `fasttext supervised` otherwise:
# dim 100, softmax loss, minCount 1). Chosen on validation parts of the TRAIN data only
# (SST: the last 692 SST-2 train sentences, phrase training without their trees; IMDB:
# every 9th review of the 22,500), grid epoch {5, 10, 25} x lr {0.1, 0.5, 1.0} (IMDB
# {5, 10} x {0.1, 0.5}); validation accuracy 78.9 / 81.1 / 90.2 %.
FASTTEXT_COMMON = ["-wordNgrams", "2", "-bucket", "100000", "-thread", "1", "-seed", "1", "-verbose", "0"]
FASTTEXT = {
    "sst-sentences": ["-epoch", "10", "-lr", "0.5"],
    "sst-phrases": ["-epoch", "5", "-lr", "0.5"],
    "imdb": ["-epoch", "10", "-lr", "0.5"],
}
# Training lines are shuffled with the project RNG (this seed) first: IMDB train is sorted
# by label and phrases come tree by tree, and with one thread fastText reads its input in
# order, which ruined both (IMDB 50 %, phrases 70 % on validation) when unshuffled.
TRAIN_SHUFFLE_SEED = 1
MIN_THROUGHPUT_ITEMS = 10000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def one_line(text):
    return " ".join(text.split())


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def fasttext_lines(rows):
    return ["__label__%d %s" % (lab, " ".join(splits.tokenize(text))) for lab, text in rows]


def run(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(map(shlex.quote, cmd)), p.returncode,
                                                   (p.stderr or p.stdout).strip()[-500:]))
    return p, dt


def repeated(path, lines, n_min):
    """Writes the lines repeated to at least n_min and returns the count."""
    reps = max(1, -(-n_min // len(lines)))
    write_lines(path, lines * reps)
    return len(lines) * reps


def throughput(cmd_for, tmp, name, lines):
    """items/s of cmd_for(file) over lines repeated to >= MIN_THROUGHPUT_ITEMS, minus the
    time of the same command on one line (loading); best of two."""
    big, small = os.path.join(tmp, name + ".tp"), os.path.join(tmp, name + ".tp1")
    n = repeated(big, lines, MIN_THROUGHPUT_ITEMS)
    write_lines(small, lines[:1])
    best = None
    for _ in range(2):
        t_small = run(cmd_for(small))[1]
        t_big = run(cmd_for(big))[1]
        dt = max(t_big - t_small, 1e-6)
        best = dt if best is None else min(best, dt)
    return (n - 1) / best


# ---- fastText ----------------------------------------------------------------------------

def fasttext_system(tmp, key, train_rows, eval_rows):
    """(accuracy, train seconds, items/s)."""
    train = os.path.join(tmp, key + ".ft.train")
    test = os.path.join(tmp, key + ".ft.test")
    lines = fasttext_lines(train_rows)
    splits.NerveRng(TRAIN_SHUFFLE_SEED).shuffle(lines)
    write_lines(train, lines)
    eval_lines = fasttext_lines(eval_rows)
    write_lines(test, eval_lines)
    model = os.path.join(tmp, key + ".ft")
    cmd = ["fasttext", "supervised", "-input", train, "-output", model] + FASTTEXT_COMMON + FASTTEXT[key]
    log("  " + " ".join(cmd))
    _, t_train = run(cmd)
    p, _ = run(["fasttext", "predict", model + ".bin", test])
    pred = [line.strip() for line in p.stdout.splitlines()]
    assert len(pred) == len(eval_rows), (len(pred), len(eval_rows))
    correct = sum(pr == "__label__%d" % lab for pr, (lab, _) in zip(pred, eval_rows))
    tp = throughput(lambda f: ["fasttext", "predict", model + ".bin", f], tmp, key + ".ft", eval_lines)
    return correct / len(eval_rows), t_train, tp


# ---- VADER -------------------------------------------------------------------------------

def ensure_vader(npm_dir):
    mod = os.path.join(npm_dir, "node_modules", "vader-sentiment", "package.json")
    if os.path.isfile(mod):
        return
    if not shutil.which("npm"):
        raise RuntimeError("npm not found (apt-get install npm, or nodejs from NodeSource)")
    log("installing %s into %s (first use)" % (VADER_PKG, npm_dir))
    os.makedirs(npm_dir, exist_ok=True)
    run(["npm", "install", "--no-audit", "--no-fund", "--prefix", npm_dir, VADER_PKG])


def vader_system(tmp, npm_dir, key, eval_rows):
    """(accuracy, items/s)."""
    path = os.path.join(tmp, key + ".vader.txt")
    write_lines(path, [one_line(splits.strip_html(text)) for _, text in eval_rows])
    js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vader.js")
    p, _ = run(["node", js, npm_dir, path])
    out = [line.split("\t") for line in p.stdout.splitlines()]
    assert len(out) == len(eval_rows)
    pred = [int(lab) for lab, _ in out]
    log("  VADER %s: compound exactly 0 (no sentiment words) for %d of %d"
        % (key, sum(float(c) == 0 for _, c in out), len(out)))
    timing = json.loads(p.stderr.strip().splitlines()[-1])
    correct = sum(pr == lab for pr, (lab, _) in zip(pred, eval_rows))
    return correct / len(eval_rows), timing["items"] / timing["seconds"]


# ---- Nerve -------------------------------------------------------------------------------

ACC_RE = re.compile(r"^accuracy\s+([0-9.]+)\s*%", re.M)


def nerve_system(tmp, eval_cmd, model, key, eval_rows):
    """(accuracy, items/s) from `nerve eval` on a label<TAB>text file."""
    path = os.path.join(tmp, key + ".nerve.tsv")
    lines = ["%d\t%s" % (lab, one_line(text)) for lab, text in eval_rows]
    write_lines(path, lines)

    def cmd_for(data):
        return shlex.split(eval_cmd.format(model=shlex.quote(model), data=shlex.quote(data)))

    log("  " + " ".join(cmd_for(path)))
    p, _ = run(cmd_for(path))
    m = ACC_RE.search(p.stdout)
    if not m:
        raise RuntimeError("no 'accuracy NN.NN%%' line in the output of nerve eval:\n" + p.stdout[-500:])
    tp = throughput(cmd_for, tmp, key + ".nerve", lines)
    return float(m.group(1)) / 100, tp


# ---- table -------------------------------------------------------------------------------

def pct(a):
    return "—" if a is None else "%.2f %%" % (100 * a)


def secs(t):
    return "—" if t is None else ("%.1f s" % t if t < 100 else "%.0f s" % t)


def rate(r):
    return "—" if r is None else "{:,.0f}".format(r)


def pair(f, a, b):
    return "%s / %s" % (f(a), f(b))


def table(rows):
    out = ["| system | SST-2 dev acc. | IMDB held-out acc. | training time (SST-2 / IMDB) "
           "| items/s, 1 thread (SST-2 / IMDB) |",
           "|---|---:|---:|---:|---:|"]
    for r in rows:
        out.append("| %s | %s | %s | %s | %s |" % (
            r["name"], pct(r.get("sst")), pct(r.get("imdb")),
            pair(secs, r.get("sst_train"), r.get("imdb_train")),
            pair(rate, r.get("sst_tp"), r.get("imdb_tp"))))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="sentiment data folder (default ../shared/data/sentiment "
                    "from the project root, or $NERVE_SENTIMENT_DATA)")
    ap.add_argument("--nerve-sst", metavar="MODEL", help="add a Nerve row: this model on SST-2 dev")
    ap.add_argument("--nerve-imdb", metavar="MODEL", help="... and this one on the IMDB held-out part")
    ap.add_argument("--nerve-eval-cmd", default=os.path.join(ROOT, "build", "core", "cli", "nerve")
                    + " eval {model} {data}", help="command that evaluates a model on a label<TAB>text file")
    ap.add_argument("--npm-dir", default=os.path.join(ROOT, "build", "npm"),
                    help="npm prefix holding vader-sentiment (default build/npm)")
    ap.add_argument("--no-fasttext", action="store_true")
    ap.add_argument("--no-vader", action="store_true")
    ap.add_argument("--keep", metavar="DIR", help="write the prepared files here and keep them")
    ap.add_argument("--out", metavar="FILE", help="also write the table to FILE")
    args = ap.parse_args()

    data = splits.find_data(args.data)
    if data is None:
        print("skipped: %s not found" % (args.data or "../shared/data/sentiment"))
        return 0
    if not args.no_fasttext and not shutil.which("fasttext"):
        sys.exit("fasttext not found: apt-get install fasttext (or pass --no-fasttext)")
    if not args.no_vader and not shutil.which("node"):
        sys.exit("node not found: apt-get install nodejs npm (or pass --no-vader)")

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        tmp = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="nerve-sentiment-")
    try:
        log("data: %s" % os.path.abspath(data))
        sst_sent = splits.read_sst2(os.path.join(data, "sst2", "train.txt"))
        sst_dev = splits.read_sst2(os.path.join(data, "sst2", "dev.txt"))
        imdb_train, imdb_held = splits.imdb_sets(os.path.join(data, "imdb", "train.tsv.gz"))
        log("SST-2 train %d sentences, dev %d; IMDB train %d, held out %d"
            % (len(sst_sent), len(sst_dev), len(imdb_train), len(imdb_held)))
        rows = []
        failed = False
        if not args.no_fasttext:
            sst_phr = splits.sst_tree_phrases(os.path.join(data, "sst-trees", "train.txt"))
            log("fastText (SST train phrases: %d)" % len(sst_phr))
            a, t, tp = fasttext_system(tmp, "sst-sentences", sst_sent, sst_dev)
            ai, ti, tpi = fasttext_system(tmp, "imdb", imdb_train, imdb_held)
            rows.append(dict(name="fastText, bigrams (SST-2 train sentences)", sst=a, sst_train=t, sst_tp=tp,
                             imdb=ai, imdb_train=ti, imdb_tp=tpi))
            a, t, tp = fasttext_system(tmp, "sst-phrases", sst_phr, sst_dev)
            rows.append(dict(name="fastText, bigrams (SST train phrases)", sst=a, sst_train=t, sst_tp=tp,
                             imdb=ai, imdb_train=ti, imdb_tp=tpi))
        if not args.no_vader:
            log("VADER")
            ensure_vader(args.npm_dir)
            a, tp = vader_system(tmp, args.npm_dir, "sst", sst_dev)
            ai, tpi = vader_system(tmp, args.npm_dir, "imdb", imdb_held)
            rows.append(dict(name="VADER (lexicon, no training)", sst=a, sst_tp=tp, imdb=ai, imdb_tp=tpi))
        if args.nerve_sst or args.nerve_imdb:
            log("Nerve")
            r = dict(name="Nerve")
            for key, model, rows_ in (("sst", args.nerve_sst, sst_dev), ("imdb", args.nerve_imdb, imdb_held)):
                if not model:
                    continue
                try:
                    r[key], r[key + "_tp"] = nerve_system(tmp, args.nerve_eval_cmd, model, key, rows_)
                except (RuntimeError, OSError) as e:
                    log("nerve eval failed: %s" % e)
                    failed = True
            rows.append(r)
        t = table(rows)
        print(t)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(t + "\n")
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
