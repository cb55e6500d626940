#!/usr/bin/env python3
"""An independent safetensors reader (standard library only) for a file written by ctdl.

Usage: read_safetensors.py WRITER OUT_DIR
Runs WRITER (tests/nn/write_safetensors_sample.cpp) to write OUT_DIR/sample.safetensors, then
reads it following the format's specification and checks every value bit for bit against
the formulas the writer used, recomputed here. Exits non-zero, saying why, on any mismatch.
"""
import json
import math
import os
import struct
import subprocess
import sys

FORMATS = {"F32": ("f", 4), "F64": ("d", 8), "I64": ("q", 8), "BOOL": ("?", 1)}


def fail(message):
    print("read_safetensors.py: " + message, file=sys.stderr)
    sys.exit(1)


def expected_values():
    f64 = [math.exp(-(6 * a + 3 * c + b) / 7.0) for a in range(2) for b in range(3) for c in range(2)]
    return {
        "f32": ("F32", [3, 4], [math.sin(i) for i in range(12)]),
        "f64": ("F64", [2, 3, 2], f64),
        "i64": ("I64", [7], [i * i - 50 if i % 2 else (1 << 40) + i for i in range(7)]),
        "bool": ("BOOL", [5], [i % 3 == 0 for i in range(5)]),
        "scalar": ("F64", [], [math.pi]),
        "empty": ("F32", [0, 3], []),
    }


def main():
    writer, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "sample.safetensors")
    subprocess.run([writer, path], check=True)
    with open(path, "rb") as f:
        content = f.read()
    (n,) = struct.unpack("<Q", content[:8])
    if n % 8 != 0:
        fail("the header length %d is not a multiple of 8 (the data would be misaligned)" % n)
    header = json.loads(content[8:8 + n].decode("utf-8"))
    data = content[8 + n:]
    metadata = header.pop("__metadata__", {})
    if metadata != {"epoch": "7", "writer": "ctdl"}:
        fail("unexpected metadata %r" % metadata)
    # The data offsets must tile the buffer exactly, without gaps or overlaps.
    spans = sorted(tuple(entry["data_offsets"]) for entry in header.values())
    position = 0
    for begin, end in spans:
        if begin != position:
            fail("data offsets leave a gap or overlap at %d" % position)
        position = end
    if position != len(data):
        fail("the tensors cover %d of %d data bytes" % (position, len(data)))
    expected = expected_values()
    if set(header) != set(expected):
        fail("tensors %s, expected %s" % (sorted(header), sorted(expected)))
    for name, (dtype, shape, values) in expected.items():
        entry = header[name]
        if entry["dtype"] != dtype or entry["shape"] != shape:
            fail("%s: %s %s, expected %s %s" % (name, entry["dtype"], entry["shape"], dtype, shape))
        code, size = FORMATS[dtype]
        begin, end = entry["data_offsets"]
        raw = data[begin:end]
        want = struct.pack("<%d%s" % (len(values), code), *values)
        if raw != want:
            got = struct.unpack("<%d%s" % (len(raw) // size, code), raw)
            fail("%s: values %r, expected %r" % (name, got, values))
    print("read_safetensors.py: %d tensors and the metadata match, bit for bit" % len(expected))


main()
