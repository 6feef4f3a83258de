"""A Nerve model file written from Python with plain struct/json, as any PyTorch user
could (the `safetensors` package writes the same bytes):

    /usr/bin/python3 tests/gen/modelfile.py            writes tests/fixtures/python-written.nerve
    /usr/bin/python3 tests/gen/modelfile.py --check F  checks F against the safetensors rules
                                                       (what safetensors.safe_open enforces)

The file holds a torch MLP 6 -> Linear(8) -> tanh -> Linear(3), a U8 blob, and the
PyTorch forward pass of a fixed input as two declared extras ("ref.x", "ref.y"), so
tests/test-modelfile.c can check Nerve computes what PyTorch computed.
"""
import json
import os
import struct
import sys

SEED = 4321
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "python-written.nerve")

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
         "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}


def write(path, tensors, metadata):
    """tensors: {name: (dtype, shape, raw little-endian bytes)}; metadata: {str: str}."""
    # Same order as safetensors: larger alignment first, then by name.
    order = sorted(tensors, key=lambda n: (-SIZES[tensors[n][0]], n))
    header, data, off = {"__metadata__": metadata}, bytearray(), 0
    for name in order:
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + bytes(data))


def read(path):
    """Returns (metadata, {name: (dtype, shape, raw bytes)}), enforcing safetensors' rules."""
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert n <= 100_000_000 and 8 + n <= len(blob), "bad header length"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    assert blob[8:9] == b"{", "header must start with '{'"
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    data = blob[8 + n:]
    start, out = 0, {}
    for name, t in sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        b, e = t["data_offsets"]
        assert b == start and e >= b, "tensor %s: offsets must be contiguous from 0" % name
        numel = 1
        for d in t["shape"]:
            numel *= d
        assert e - b == numel * SIZES[t["dtype"]], "tensor %s: size mismatch" % name
        out[name] = (t["dtype"], t["shape"], data[b:e])
        start = e
    assert start == len(data), "data must end with the last tensor"
    return metadata, out


def f32(t):
    t = t.detach().to(dtype=__import__("torch").float32).contiguous()
    return ("F32", list(t.shape), struct.pack("<%df" % t.numel(), *t.flatten().tolist()))


def main():
    import torch

    torch.manual_seed(SEED)
    fc1, fc2 = torch.nn.Linear(6, 8), torch.nn.Linear(8, 3)
    x = torch.randn(4, 6)
    y = fc2(torch.tanh(fc1(x)))
    arch = {"input": [6], "layers": [{"type": "dense", "name": "fc1", "units": 8}, {"type": "tanh"},
                                     {"type": "dense", "name": "fc2", "units": 3}]}
    labels = "cat\ndog\nbird\n".encode("utf-8")
    tensors = {"fc1.weight": f32(fc1.weight), "fc1.bias": f32(fc1.bias),
               "fc2.weight": f32(fc2.weight), "fc2.bias": f32(fc2.bias),
               "ref.x": f32(x.flatten()), "ref.y": f32(y.flatten()),
               "labels.txt": ("U8", [len(labels)], labels)}
    metadata = {"nerve.format_version": "1", "nerve.architecture": json.dumps(arch),
                "nerve.task": "classify", "nerve.extras": json.dumps(["ref.x", "ref.y"]),
                "nerve.blobs": json.dumps(["labels.txt"]), "labels": "cat,dog,bird",
                "written_by": "tests/gen/modelfile.py seed %d torch %s" % (SEED, torch.__version__)}
    write(OUT, tensors, metadata)
    read(OUT)
    print("wrote", os.path.relpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        meta, ts = read(sys.argv[2])
        print("ok: %d tensors, metadata keys %s" % (len(ts), sorted(meta)))
    else:
        main()
