#!/usr/bin/python3
"""Makes a large image folder for tools/bench_loader.sh: Fashion-MNIST training images resized to 96x96
(nearest neighbour, x3 then padded) and tinted to colour (a per-copy hue), written as PNG in class folders.
Usage: make_big_folder.py OUT_DIR COUNT [FASHION_MNIST_DIR]"""
import gzip, os, struct, sys, zlib
from multiprocessing import Pool
import numpy as np

out, count = sys.argv[1], int(sys.argv[2])
src = sys.argv[3] if len(sys.argv) > 3 else '/usr/share/datasets/fashion-mnist'
with gzip.open(os.path.join(src, 'train-images-idx3-ubyte.gz')) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
with gzip.open(os.path.join(src, 'train-labels-idx1-ubyte.gz')) as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)
NAMES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot']

def png(pixels):
    h, w, _ = pixels.shape
    raw = b''.join(b'\0' + pixels[y].tobytes() for y in range(h))
    chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(raw, 1)) + chunk(b'IEND', b''))

def write(i):
    k = i % len(images)
    grey = np.kron(images[k], np.ones((3, 3), np.uint8))          # 84x84
    grey = np.pad(grey, 6)                                           # 96x96
    rng = np.random.default_rng(i)
    tint = rng.uniform(0.4, 1.0, 3)
    rgb = (grey[:, :, None] * tint[None, None, :]).astype(np.uint8)
    with open(os.path.join(out, NAMES[labels[k]], '%07d.png' % i), 'wb') as f:
        f.write(png(rgb))

if __name__ == '__main__':
    for n in NAMES: os.makedirs(os.path.join(out, n), exist_ok=True)
    with Pool(2) as pool:
        for done, _ in enumerate(pool.imap_unordered(write, range(count), chunksize=2000)):
            if done % 50000 == 0: print(done, flush=True)
