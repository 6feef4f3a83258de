#!/usr/bin/python3
"""The sentiment data splits, shared by every script that reports a number on them.

Data: ../shared/data/sentiment (relative to the project root; see --data in the
scripts). Nothing here is copied into the repository.

  SST-2     train: SST-2 sentences sst2/train.txt (6,920), or every non-neutral phrase
            of the SST train trees sst-trees/train.txt (labels 0-4: drop 2, 0/1 -> 0,
            3/4 -> 1; duplicate phrases kept once); eval: sst2/dev.txt (872).
            Never train on dev.
  IMDB      imdb/train.tsv.gz, the 25,000 data lines after the header, 0-based index i.
            Held out: the first 2,500 entries of a Fisher-Yates shuffle of 0..24999 made
            by nerve_rng_shuffle with nerve_rng_seed(1) (core/rng.c); train: the other
            22,500. Both sets are used in file order, and the file is sorted by label
            (12,500 positive, then 12,500 negative): shuffle before SGD training.

The generator below is core/rng.c bit for bit (xoshiro128** seeded by splitmix64);
`splits.py --self-test` checks it against values printed by the C code, which
tests/test-rng.c asserts on the C side.
"""
import gzip
import os
import re
import sys

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

IMDB_N = 25000
IMDB_HELD_OUT = 2500
IMDB_SEED = 1


class NerveRng:
    """core/rng.c: nerve_rng_seed, nerve_rng_u32, nerve_rng_below, nerve_rng_shuffle."""

    def __init__(self, seed):
        x = seed & M64

        def splitmix64():
            nonlocal x
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            return z ^ (z >> 31)

        a, b = splitmix64(), splitmix64()
        self.s = [a & M32, a >> 32, b & M32, (b >> 32) | 1]

    def u32(self):
        s = self.s

        def rotl(v, k):
            return ((v << k) | (v >> (32 - k))) & M32

        result = (rotl((s[1] * 5) & M32, 7) * 9) & M32
        t = (s[1] << 9) & M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def below(self, n):
        return (self.u32() * n) >> 32

    def shuffle(self, v):
        for i in range(len(v) - 1, 0, -1):
            j = self.below(i + 1)
            v[i], v[j] = v[j], v[i]


def imdb_split(n=IMDB_N, held_out=IMDB_HELD_OUT, seed=IMDB_SEED):
    """(train indices, held-out indices), each ascending."""
    v = list(range(n))
    NerveRng(seed).shuffle(v)
    held = sorted(v[:held_out])
    hs = set(held)
    return [i for i in range(n) if i not in hs], held


# Printed by a C program built from core/rng.c (seed 1); tests/test-rng.c asserts the same.
SELF_CHECK = {
    "state": [2298633409, 2433363436, 1703865447, 3203108257],
    "u32": [1695105466, 1423115009, 634581793, 1068227753, 716759206],
    "below1000": [394, 331, 147, 248, 166],
    "shuffle10": [0, 8, 5, 9, 4, 6, 7, 1, 2, 3],
    "shuffle25000_first10": [24868, 17421, 9554, 4755, 7870, 16583, 8340, 1353, 7941, 17471],
    "held_out_sum": 31520128,
}


def self_test():
    r = NerveRng(1)
    assert r.s == SELF_CHECK["state"], r.s
    assert [r.u32() for _ in range(5)] == SELF_CHECK["u32"]
    r = NerveRng(1)
    assert [r.below(1000) for _ in range(5)] == SELF_CHECK["below1000"]
    v = list(range(10))
    NerveRng(1).shuffle(v)
    assert v == SELF_CHECK["shuffle10"], v
    v = list(range(IMDB_N))
    NerveRng(IMDB_SEED).shuffle(v)
    assert v[:10] == SELF_CHECK["shuffle25000_first10"], v[:10]
    train, held = imdb_split()
    assert sum(held) == SELF_CHECK["held_out_sum"] and len(held) == IMDB_HELD_OUT
    assert len(train) == IMDB_N - IMDB_HELD_OUT and not set(train) & set(held)
    # the tree reader on a tiny tree, including the real-data quirk of a split leaf
    assert tree_phrases("(3 (2 The) (3 (2 R  ock) (4 rocks)))") == [
        (3, "The Rock rocks"), (2, "The"), (3, "Rock rocks"), (2, "Rock"), (4, "rocks")]
    assert tokenize("I won't say it's <br />GREAT-ish!") == \
        ["i", "wo", "n't", "say", "it", "'s", "great-ish", "!"]
    print("splits self-test: ok")


# ---- readers ----------------------------------------------------------------------------

def default_data_dir():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, "..", "shared", "data", "sentiment")


def find_data(override=None):
    """The data folder (override, $NERVE_SENTIMENT_DATA or ../shared/data/sentiment), or
    None when it or one of its files is missing."""
    d = override or os.environ.get("NERVE_SENTIMENT_DATA") or default_data_dir()
    need = ["sst2/train.txt", "sst2/dev.txt", "sst-trees/train.txt", "imdb/train.tsv.gz"]
    if all(os.path.isfile(os.path.join(d, f)) for f in need):
        return d
    return None


def read_sst2(path):
    """[(label 0/1, sentence)] from `LABEL sentence` lines."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                lab, text = line.split(" ", 1)
                out.append((int(lab), text))
    return out


def tree_phrases(line):
    """[(label 0-4, phrase text)] for every node of one PTB-style SST tree, root first.
    A leaf is one token: whitespace inside it (`R  ock` in train line 1) is removed."""
    pos = 0
    out = []

    def node():
        nonlocal pos
        assert line[pos] == "(", line[pos:pos + 20]
        pos += 1
        sp = line.index(" ", pos)
        label = int(line[pos:sp])
        pos = sp + 1
        slot = len(out)
        out.append(None)
        if line[pos] == "(":
            words = []
            while line[pos] == "(":
                words += node()
                while line[pos] == " ":
                    pos += 1
        else:
            end = line.index(")", pos)
            words = ["".join(line[pos:end].split())]
            pos = end
        assert line[pos] == ")"
        pos += 1
        out[slot] = (label, " ".join(words))
        return words

    node()
    return out


def sst_tree_phrases(path):
    """[(label 0/1, phrase)]: every non-neutral phrase of the trees, binarised, each
    distinct phrase once (first occurrence), in file order."""
    seen = set()
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            for lab, text in tree_phrases(line):
                if lab == 2 or text in seen:
                    continue
                seen.add(text)
                out.append((0 if lab < 2 else 1, text))
    return out


def read_imdb(path):
    """[(label 0/1, review text)] for the 25,000 data lines, in file order."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header = f.readline()
        assert header.startswith("label\t"), header
        for line in f:
            lab, _rating, text = line.rstrip("\n").split("\t", 2)
            out.append((int(lab), text))
    assert len(out) == IMDB_N, len(out)
    return out


def imdb_sets(path):
    """(train [(label, text)], held-out [(label, text)])."""
    rows = read_imdb(path)
    tr, ho = imdb_split(len(rows))
    return [rows[i] for i in tr], [rows[i] for i in ho]


BR = re.compile(r"<br\s*/?>", re.I)


def strip_html(text):
    """IMDB's `<br />` tags become spaces."""
    return BR.sub(" ", text)


_TOKEN = re.compile(r"n't|'(?:s|re|ve|ll|d|m)\b|\w+(?:[-']\w+)*|[^\w\s]")


def tokenize(text):
    """Lower-case PTB-like tokens for the word-based baselines: `<br />` removed,
    contractions split as SST does (`wo n't`, `it 's`), punctuation separate.
    Idempotent on SST's already tokenised text."""
    t = strip_html(text).lower()
    t = re.sub(r"(\w)n't\b", r"\1 n't", t)
    t = re.sub(r"(\w)'(s|re|ve|ll|d|m)\b", r"\1 '\2", t)
    return _TOKEN.findall(t)


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        sys.exit("usage: splits.py --self-test")
