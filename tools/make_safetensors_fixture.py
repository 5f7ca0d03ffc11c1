#!/usr/bin/python3
"""Writes tests/data/reference.safetensors and tests/data/reference_*.npy, the fixtures that
tests/test_base_safetensors.c and tests/test_base_npy.c read back.

The `safetensors` package is not installed, so the file is laid out by hand the way the reference
writer (safetensors.torch.save_file) lays it out: an 8-byte little-endian header length, a compact
JSON header with "__metadata__" first, the header padded with spaces to a multiple of 8, and tensors
sorted by dtype alignment (largest first) then by name, packed without holes.
The .npy fixtures come from numpy.save itself.

Usage: /usr/bin/python3 tools/make_safetensors_fixture.py [tests/data]
"""
import os
import sys

import numpy as np

from fixture_common import write_safetensors

DTYPE_NAMES = {np.float32: "F32", np.float64: "F64", np.int64: "I64", np.int32: "I32", np.uint8: "U8"}


def tensors():
    # Names follow the reference PyTorch model (ContrastiveModel / ClusteringModel state dicts).
    return {
        "backbone.conv1.weight": (np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3) - 20.5) / 8.0,
        "backbone.bn1.running_var": np.array([0.25, 1.5], dtype=np.float64),
        "backbone.bn1.num_batches_tracked": np.array(12345678901, dtype=np.int64),  # 0-d, as PyTorch stores it
        "cluster_head.0.bias": np.array([-1.0, 0.5, 3.25], dtype=np.float32),
        "labels": np.array([7, -3, 2147483647, -2147483648], dtype=np.int32),
        "mask": np.array([[0, 1, 255]], dtype=np.uint8),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }


def write_reference(path, named, metadata):
    def order(item):
        name, array = item
        return (-array.dtype.itemsize, name)

    entries = [(name, DTYPE_NAMES[array.dtype.type], array.shape,
                np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())
               for name, array in sorted(named.items(), key=order)]
    write_safetensors(path, entries, metadata)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")
    os.makedirs(out, exist_ok=True)
    write_reference(os.path.join(out, "reference.safetensors"), tensors(), {"format": "pt", "head": "0"})
    np.save(os.path.join(out, "reference_f32.npy"), np.arange(12, dtype=np.float32).reshape(3, 4) / 4.0 - 1.0)
    np.save(os.path.join(out, "reference_i64.npy"), np.array([[0, 5, -1], [2**40, 3, 4]], dtype=np.int64))
    np.save(os.path.join(out, "reference_u8.npy"), np.arange(6, dtype=np.uint8).reshape(1, 2, 3) * 40)
    with open(os.path.join(out, "reference_f64_v2.npy"), "wb") as f:  # format 2.0 (4-byte header length)
        np.lib.format.write_array(f, np.array([1.5, -2.25], dtype=np.float64), version=(2, 0))
    np.save(os.path.join(out, "reference_fortran.npy"), np.asfortranarray(np.ones((2, 3), dtype=np.float32)))


if __name__ == "__main__":
    main()
