#!/usr/bin/env python3
"""Writes tests/data/quickshift.safetensors: a textured 40x40 RGB image and the quickshift labels that
skimage.segmentation.quickshift(image, kernel_size=4, max_dist=200, ratio=0.2) computes for it (the
segmentation lime uses), plus kernel_size=2, max_dist=6, ratio=0.5 (links cut by max_dist), for
tests/test_explain_lime.c.

scikit-image is not installed here, so its algorithm (skimage/segmentation/_quickshift_cy.pyx and
color.rgb2lab) is restated with numpy: Lab image times ratio; Parzen density over a window of
ceil(3 kernel_size); each pixel's parent = the nearest pixel of higher density in that window;
links longer than max_dist are cut; labels = np.unique of the roots. skimage adds N(0, 1e-5) noise to
the densities to break ties; the image below is textured enough to have none, so it is left out.
Run: /usr/bin/python3 tools/make_quickshift_fixture.py
"""
import math
import os

import numpy as np

from fixture_common import write_safetensors


def rgb2lab(rgb):
    rgb = rgb.astype(np.float64) / 255.0
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    to_xyz = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], -1)


def quickshift(image, kernel_size, max_dist, ratio):
    features = rgb2lab(image) * ratio
    h, w, _ = features.shape
    width = int(math.ceil(3 * kernel_size))
    ys, xs = np.mgrid[0:h, 0:w]

    def window(r, c):
        r0, r1, c0, c1 = max(r - width, 0), min(r + width + 1, h), max(c - width, 0), min(c + width + 1, w)
        d = ((features[r0:r1, c0:c1] - features[r, c]) ** 2).sum(-1) + (ys[r0:r1, c0:c1] - r) ** 2 + (xs[r0:r1, c0:c1] - c) ** 2
        return r0, c0, d

    density = np.zeros((h, w))
    for r in range(h):
        for c in range(w):
            _, _, d = window(r, c)
            density[r, c] = np.exp(-0.5 * d / kernel_size ** 2).sum()
    parent = np.arange(h * w)
    min_gap = np.inf
    for r in range(h):
        for c in range(w):
            r0, c0, d = window(r, c)
            dens = density[r0:r0 + d.shape[0], c0:c0 + d.shape[1]]
            gaps = np.abs(dens - density[r, c])
            min_gap = min(min_gap, gaps[gaps > 0].min())
            d = np.where(dens > density[r, c], d, np.inf)
            k = np.argmin(d)  # first minimum in row-major order, like skimage's scan
            if np.isfinite(d.flat[k]) and math.sqrt(d.flat[k]) <= max_dist:
                parent[r * w + c] = (r0 + k // d.shape[1]) * w + c0 + k % d.shape[1]
    assert min_gap > 1e-9, "density ties: the fixture would depend on skimage's tie-breaking noise"
    old = None
    while old is None or (old != parent).any():
        old, parent = parent, parent[parent]
    return np.unique(parent, return_inverse=True)[1].reshape(h, w)


# (kernel_size, max_dist, ratio): lime's defaults, and a setting where max_dist cuts links
CASES = {"lime": (4, 200, 0.2), "cut": (2, 6, 0.5)}


def main():
    rng = np.random.default_rng(5)
    coarse = rng.integers(0, 256, size=(5, 5, 3))
    image = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1) + rng.integers(-12, 13, size=(40, 40, 3))
    image = np.clip(image, 0, 255).astype(np.uint8)
    tensors = {"image": image}
    for name, (kernel_size, max_dist, ratio) in CASES.items():
        labels = quickshift(image, kernel_size, max_dist, ratio).astype(np.int32)
        print(f"{name}: {labels.max() + 1} segments")
        tensors[f"labels_{name}"] = labels
    entries = [(name, {np.uint8: "U8", np.int32: "I32"}[t.dtype.type], t.shape, np.ascontiguousarray(t).tobytes())
               for name, t in tensors.items()]
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "quickshift.safetensors")
    write_safetensors(path, entries)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
