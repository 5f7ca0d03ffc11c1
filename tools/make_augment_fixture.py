#!/usr/bin/env python3
"""Writes tests/data/augment_ops_fixture.txt: one small RGB image and one grey image
put through PIL 9's operations with fixed magnitudes, the reference for the single
ops of src/data/augment_*.c (tests/test_data_augment.c). The ops are written the way
the SCAN reference's augment.py and torchvision's ColorJitter (on PIL images) call PIL.

Format:
  image RGB|L HEIGHT WIDTH
  H*W*C bytes (HWC)
  op NAME PARAM MODE      (MODE: RGB or L, which source image)
  H*W*C bytes of the result
Usage: python3 tools/make_augment_fixture.py [OUTPUT]
"""
import sys

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

H, W = 16, 20


def adjust_hue(img, shift):
    # torchvision.transforms.functional_pil.adjust_hue
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    with np.errstate(over="ignore"):
        np_h += np.uint8(shift * 255)
    return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert(img.mode)


def affine(img, m):
    return img.transform(img.size, Image.AFFINE, m)


OPS = [
    ("autocontrast", 0, lambda im, v: ImageOps.autocontrast(im)),
    ("equalize", 0, lambda im, v: ImageOps.equalize(im)),
    ("solarize", 100.5, lambda im, v: ImageOps.solarize(im, v)),
    ("posterize", 5, lambda im, v: ImageOps.posterize(im, int(v))),
    ("color", 0.3, lambda im, v: ImageEnhance.Color(im).enhance(v)),
    ("color", 1.35, lambda im, v: ImageEnhance.Color(im).enhance(v)),
    ("contrast", 0.3, lambda im, v: ImageEnhance.Contrast(im).enhance(v)),
    ("contrast", 1.37, lambda im, v: ImageEnhance.Contrast(im).enhance(v)),
    ("brightness", 0.7, lambda im, v: ImageEnhance.Brightness(im).enhance(v)),
    ("brightness", 1.33, lambda im, v: ImageEnhance.Brightness(im).enhance(v)),
    ("sharpness", 0.3, lambda im, v: ImageEnhance.Sharpness(im).enhance(v)),
    ("sharpness", 1.8, lambda im, v: ImageEnhance.Sharpness(im).enhance(v)),
    ("rotate", 17.3, lambda im, v: im.rotate(v)),
    ("rotate", -26.0, lambda im, v: im.rotate(v)),
    ("shearx", 0.07, lambda im, v: affine(im, (1, v, 0, 0, 1, 0))),
    ("sheary", -0.09, lambda im, v: affine(im, (1, 0, 0, v, 1, 0))),
    ("translatex", 0.1, lambda im, v: affine(im, (1, 0, v * im.size[0], 0, 1, 0))),
    ("translatey", -0.07, lambda im, v: affine(im, (1, 0, 0, 0, 1, v * im.size[1]))),
    ("hue", 0.07, adjust_hue),
    ("hue", -0.093, adjust_hue),
    ("grayscale", 0, lambda im, v: im.convert("L").convert("RGB")),
]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/augment_ops_fixture.txt"
    rng = np.random.default_rng(7)
    # Smooth-ish content with noise, so histograms and edges are not degenerate.
    yy, xx = np.mgrid[0:H, 0:W]
    base = np.stack([yy * 9 + xx * 3, 200 - xx * 8, (yy * xx) % 97 + 60], axis=-1)
    rgb = np.clip(base + rng.integers(-20, 21, size=(H, W, 3)), 0, 255).astype(np.uint8)
    grey = np.clip(yy * 11 + xx * 4 + rng.integers(-15, 16, size=(H, W)), 0, 255).astype(np.uint8)
    images = {"RGB": Image.fromarray(rgb, "RGB"), "L": Image.fromarray(grey, "L")}
    lines = []
    for mode in ("RGB", "L"):
        arr = np.array(images[mode])
        lines.append(f"image {mode} {H} {W}")
        lines.append(" ".join(str(int(v)) for v in arr.reshape(-1)))
    for mode in ("RGB", "L"):
        for name, v, fn in OPS:
            if mode == "L" and name in ("color", "hue", "grayscale"):
                continue  # identities or undefined on grey images
            res = np.array(fn(images[mode], v))
            lines.append(f"op {name} {v} {mode}")
            lines.append(" ".join(str(int(x)) for x in res.reshape(-1)))
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
