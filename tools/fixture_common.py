"""Shared by the fixture writers in tools/: a safetensors file laid out by hand (the `safetensors` package is
not installed), as the reference writer lays it out: an 8-byte little-endian header length, a compact JSON
header ("__metadata__" first when there is any) padded with spaces to a multiple of 8, then the tensors' bytes
in the order given, packed without holes. Each writer keeps its own choice of order and dtypes."""
import json
import struct


def write_safetensors(path, entries, metadata=None):
    """entries: (name, dtype, shape, raw) in file order; dtype a safetensors name ("F32", "I64", ...), raw the
    little-endian bytes. Returns the number of data bytes."""
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for entry in entries:
            f.write(entry[3])
    return offset
