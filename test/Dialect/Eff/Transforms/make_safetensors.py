#!/usr/bin/env python3
# ===- make_safetensors.py - safetensors files for the lit tests ---------=== #
#
# SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
#
# ===----------------------------------------------------------------------=== #
#
# Writes the small safetensors files that materialize-parameters.mlir and materialize-parameters-invalid.mlir
# read, into the directory given as the only argument. Standard library only: a safetensors file is an 8-byte
# little-endian header length, a JSON header, then the raw little-endian tensor bytes.
#
# ===----------------------------------------------------------------------=== #

import json
import os
import struct
import sys


def header_bytes(header):
    return json.dumps(header, separators=(",", ":")).encode()


def write(path, header, data, header_size=None):
    """Writes a file whose header-length field is `header_size` (default: the true length)."""
    text = header if isinstance(header, bytes) else header_bytes(header)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text) if header_size is None else header_size))
        f.write(text)
        f.write(data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    join = lambda name: os.path.join(out, name)

    # tiny.safetensors: fc.weight f32 [2, 3] = [[1, 2, 3], [4, 5, 6]], fc.bias f16 [3] = [1, 2, 3],
    # ids i64 [2] = [7, 8], mask bool [4] = [1, 0, 1, 1].
    weight = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    bias = struct.pack("<3e", 1, 2, 3)
    ids = struct.pack("<2q", 7, 8)
    mask = bytes([1, 0, 1, 1])
    tensors = [("fc.weight", "F32", [2, 3], weight), ("fc.bias", "F16", [3], bias), ("ids", "I64", [2], ids),
               ("mask", "BOOL", [4], mask)]
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    write(join("tiny.safetensors"), header, data)
    # other.safetensors: fc.weight f32 [2, 3] = [[-1, -2, -3], [-4, -5, -6]], to tell the two files apart.
    negated = struct.pack("<6f", -1, -2, -3, -4, -5, -6)
    write(join("other.safetensors"), {"fc.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}, negated)

    one = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    eight = struct.pack("<2f", 1, 2)
    # The header claims more bytes than the file has.
    write(join("truncated_header.safetensors"), one, eight, header_size=4096)
    # Fewer than the 8 bytes of the header length.
    with open(join("no_header.safetensors"), "wb") as f:
        f.write(b"\x01\x02\x03")
    # The header is not JSON, or JSON but not an object.
    write(join("malformed_json.safetensors"), b'{"w": {"dtype": "F32",', eight)
    write(join("not_object.safetensors"), b"[1, 2, 3]", eight)
    # Entries that break the format's rules.
    write(join("missing_field.safetensors"), {"w": {"dtype": "F32", "shape": [2]}}, eight)
    write(join("bad_shape.safetensors"), {"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, eight)
    write(join("bad_offsets.safetensors"), {"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, eight)
    write(join("bad_dtype.safetensors"), {"w": {"dtype": "C64", "shape": [2], "data_offsets": [0, 8]}}, eight)
    write(join("size_mismatch.safetensors"), {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, eight)
    # A sharded checkpoint: shard_a.safetensors holds a = [1, 2], conv f32 [2, 3] = [[1, 2, 3], [4, 5, 6]] (a
    # GPT-2 Conv1D weight, stored [in, out]) and e0 f32 [1, 2] = [[5, 6]]; shard_b.safetensors holds b = [3, 4] and
    # e1 f32 [1, 2] = [[7, 8]]; dup_a.safetensors holds another a.
    def tensors_file(name, tensors):
        header, data = {}, b""
        for tensor, shape, values in tensors:
            raw = struct.pack(f"<{len(values)}f", *values)
            header[tensor] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
            data += raw
        write(join(name), header, data)

    tensors_file("shard_a.safetensors", [("a", [2], [1, 2]), ("conv", [2, 3], [1, 2, 3, 4, 5, 6]),
                                         ("e0", [1, 2], [5, 6])])
    tensors_file("shard_b.safetensors", [("b", [2], [3, 4]), ("e1", [1, 2], [7, 8])])
    tensors_file("dup_a.safetensors", [("a", [2], [9, 9])])
    # The data section ends before the tensor does.
    write(join("truncated_data.safetensors"), {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, eight)


if __name__ == "__main__":
    main()
