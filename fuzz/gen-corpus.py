"""Seed corpus for fuzz-model-load: small valid Nerve model files and one broken file
per rule the loader checks. Deterministic; plain Python (no torch):
    python3 fuzz/gen-corpus.py        rewrites fuzz/corpus/model-load/
"""
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "gen"))
from modelfile import write  # noqa: E402  (the plain struct/json writer)

OUT = os.path.join(HERE, "corpus", "model-load")


def f32(shape, seed):
    n = 1
    for d in shape:
        n *= d
    vals = [((i * 7919 + seed * 104729) % 2001 - 1000) / 1000.0 for i in range(n)]
    return ("F32", list(shape), struct.pack("<%df" % n, *vals))


def u8(data):
    return ("U8", [len(data)], data)


def meta(arch, **extra):
    m = {"nerve.format_version": "1", "nerve.architecture": json.dumps(arch, separators=(",", ":"))}
    m.update(extra)
    return m


def raw(name, header_text, data=b""):
    """A file whose header is given verbatim (duplicates, bad JSON...)."""
    h = header_text.encode("utf-8") if isinstance(header_text, str) else header_text
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def bytes_of(name):
    return open(os.path.join(OUT, name), "rb").read()


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    dense = {"input": [3], "layers": [{"type": "dense", "name": "d", "units": 2}, {"type": "relu"}]}
    dense_t = {"d.weight": f32([2, 3], 1), "d.bias": f32([2], 2)}
    mlp = {"input": [4], "layers": [{"type": "dense", "name": "a", "units": 3}, {"type": "tanh"},
                                    {"type": "dense", "name": "b", "units": 2}], "output": "b"}
    mlp_t = {"a.weight": f32([3, 4], 3), "a.bias": f32([3], 4), "b.weight": f32([2, 3], 5), "b.bias": f32([2], 6)}

    def w(name, tensors, metadata):
        write(os.path.join(OUT, name), tensors, metadata)

    # valid
    w("valid-dense.nerve", dense_t, meta(dense))
    w("valid-mlp-extras-blob.nerve", dict(mlp_t, **{"opt.m": f32([5], 7), "vocab": u8(b"a b c\n\x00\xff")}),
      meta(mlp, **{"nerve.task": "classify", "nerve.extras": '["opt.m"]', "nerve.blobs": '["vocab"]',
                   "labels": "yes,no", "frontend.sample_rate": "16000"}))
    w("valid-noparams.nerve", {}, meta({"input": [2, 2], "layers": [{"type": "sigmoid"}]}))
    w("valid-inputs.nerve", {"x.weight": f32([2, 2], 8), "x.bias": f32([2], 9), "y.weight": f32([2, 2], 10),
                             "y.bias": f32([2], 11)},
      meta({"input": [2], "layers": [{"type": "dense", "name": "x", "units": 2},
                                     {"type": "dense", "name": "y", "units": 2, "inputs": ["input"]}],
            "output": "x"}))
    good = bytes_of("valid-dense.nerve")
    (hlen,) = struct.unpack("<Q", good[:8])
    header = good[8:8 + hlen].decode()

    # broken: lengths
    open(os.path.join(OUT, "short.nerve"), "wb").write(good[:5])
    open(os.path.join(OUT, "cut-header.nerve"), "wb").write(good[:8 + hlen // 2])
    open(os.path.join(OUT, "cut-data.nerve"), "wb").write(good[:-3])
    open(os.path.join(OUT, "hlen-huge.nerve"), "wb").write(struct.pack("<Q", 1 << 40) + good[8:])
    open(os.path.join(OUT, "hlen-past-end.nerve"), "wb").write(struct.pack("<Q", len(good)) + good[8:])
    # broken: header text
    raw("not-utf8.nerve", b'{"\xff\xfe":1}')
    raw("not-json.nerve", header[:-9] + "}}}", good[8 + hlen:])
    raw("not-object.nerve", "[1,2,3]")
    raw("deep.nerve", "[" * 64 + "]" * 64)
    m = json.dumps(meta(dense))
    wt = '"d.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}'
    bt = '"d.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}'
    data = dense_t["d.weight"][2] + dense_t["d.bias"][2]

    def hdr(name, tensors, metadata=m, d=data):
        raw(name, '{"__metadata__":%s,%s}' % (metadata, tensors), d)

    hdr("dup-tensor.nerve", wt + "," + bt + "," + bt)
    hdr("dup-meta.nerve", wt + "," + bt, m[:-1] + ',"nerve.format_version":"1"}')
    hdr("overlap.nerve", wt + ',"d.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}')
    hdr("begin-after-end.nerve", wt + ',"d.bias":{"dtype":"F32","shape":[2],"data_offsets":[32,24]}')
    hdr("past-end.nerve", wt + ',"d.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,4096]}')
    hdr("size-mismatch.nerve", wt + ',"d.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,32]}')
    hdr("shape-negative.nerve", wt + ',"d.bias":{"dtype":"F32","shape":[-2],"data_offsets":[24,32]}')
    hdr("shape-overflow.nerve",
        wt + ',"d.bias":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[24,32]}')
    hdr("shape-float.nerve", wt + ',"d.bias":{"dtype":"F32","shape":[2.0],"data_offsets":[24,32]}')
    hdr("dtype-unknown.nerve", wt + ',"d.bias":{"dtype":"Q4","shape":[2],"data_offsets":[24,32]}')
    hdr("dtype-f16.nerve", wt + ',"d.bias":{"dtype":"F16","shape":[4],"data_offsets":[24,32]}')
    hdr("missing-param.nerve", wt, d=data[:24])
    hdr("unexpected.nerve", wt + "," + bt + ',"x":{"dtype":"U8","shape":[4],"data_offsets":[32,36]}',
        d=data + b"abcd")
    hdr("wrong-shape.nerve", '"d.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},' + bt)
    hdr("undeclared-extra.nerve", wt + "," + bt + ',"x":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}',
        json.dumps(meta(dense, **{"nerve.extras": '["y"]'})), data + b"\0\0\x80?")
    hdr("bad-blob-decl.nerve", wt + "," + bt + ',"x":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}',
        json.dumps(meta(dense, **{"nerve.blobs": '["x"]'})), data + b"\0\0\x80?")
    # broken: metadata and architecture
    hdr("no-version.nerve", wt + "," + bt, json.dumps({"nerve.architecture": json.dumps(dense)}))
    hdr("version-2.nerve", wt + "," + bt, json.dumps(dict(meta(dense), **{"nerve.format_version": "2"})))
    hdr("no-arch.nerve", wt + "," + bt, '{"nerve.format_version":"1"}')
    hdr("meta-not-string.nerve", wt + "," + bt, '{"nerve.format_version":1}')
    hdr("bad-arch.nerve", wt + "," + bt,
        json.dumps(meta({"input": [3], "layers": [{"type": "dense", "name": "d", "units": 2, "unit": 2}]})))
    hdr("arch-too-big.nerve", wt + "," + bt,
        json.dumps(meta({"input": [4096], "layers": [{"type": "dense", "units": 65536}]})))
    files = sorted(os.listdir(OUT))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in files)
    print("wrote %d files, %d bytes, to %s" % (len(files), total, os.path.relpath(OUT)))


if __name__ == "__main__":
    main()
