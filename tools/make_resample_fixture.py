#!/usr/bin/env python3
"""Writes tests/data/resample_fixture.txt: small random images resized by PyTorch's
torch.nn.functional.interpolate(mode='bilinear', align_corners=False, antialias=...),
the reference for scan_resample_bilinear_u8 (tests/test_data_resample.c).

Crops are integer boxes taken by slicing before interpolating, which is what
torchvision's resized_crop does. Values are written as float (not rounded), so the
test can check that the C code rounds to the nearest integer.

Format, one case after another:
  case SRC_H SRC_W CHANNELS TOP LEFT BOX_H BOX_W OUT_H OUT_W ANTIALIAS
  SRC_H*SRC_W*CHANNELS source bytes, HWC
  OUT_H*OUT_W*CHANNELS expected values, HWC
Usage: python3 tools/make_resample_fixture.py [OUTPUT]
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

CASES = [
    # src_h, src_w, channels, top, left, box_h, box_w, out_h, out_w, antialias
    (32, 32, 3, 0, 0, 32, 32, 20, 20, 1),   # shrink with antialias
    (32, 32, 3, 0, 0, 32, 32, 20, 20, 0),   # shrink, plain bilinear
    (32, 32, 3, 5, 9, 16, 14, 32, 32, 1),   # crop enlarged (RandomResizedCrop-like)
    (32, 24, 3, 3, 2, 27, 13, 32, 32, 1),   # crop, different aspect ratio
    (28, 28, 1, 0, 0, 28, 28, 11, 9, 1),    # grey, strong shrink, non-square
    (9, 7, 1, 0, 0, 9, 7, 31, 23, 1),       # grey, strong enlarge
    (40, 50, 3, 0, 0, 40, 50, 13, 17, 1),   # shrink by about 3
]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/resample_fixture.txt"
    rng = np.random.default_rng(20240611)
    lines = []
    for (sh, sw, c, top, left, bh, bw, oh, ow, aa) in CASES:
        src = rng.integers(0, 256, size=(sh, sw, c), dtype=np.uint8)
        box = torch.from_numpy(src[top:top + bh, left:left + bw, :].astype(np.float64))
        box = box.permute(2, 0, 1).unsqueeze(0)
        res = F.interpolate(box, size=(oh, ow), mode="bilinear", align_corners=False, antialias=bool(aa))
        res = res.squeeze(0).permute(1, 2, 0).numpy()
        lines.append(f"case {sh} {sw} {c} {top} {left} {bh} {bw} {oh} {ow} {aa}")
        lines.append(" ".join(str(int(v)) for v in src.reshape(-1)))
        lines.append(" ".join(f"{v:.4f}" for v in res.reshape(-1)))
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
