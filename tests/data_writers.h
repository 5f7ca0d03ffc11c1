/* Writers for tiny dataset files in the exact on-disk formats (IDX, CIFAR
 * binary, STL-10 binary, PNG), shared by the data and CLI tests. Pixel values
 * follow known formulas so tests can check them at any position. */
#ifndef SCAN_TEST_DATA_WRITERS_H
#define SCAN_TEST_DATA_WRITERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "testlib.h"

/* Value of pixel (row y, column x, channel c) of image n in every test file. */
static inline uint8_t test_pixel(int n, int y, int x, int c) { return (uint8_t)(n * 31 + y * 7 + x * 3 + c * 101); }

static inline void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static inline int write_maybe_gz(const char *path, const void *data, long size) {
  size_t len = strlen(path);
  if (len > 3 && strcmp(path + len - 3, ".gz") == 0) {
    gzFile f = gzopen(path, "wb");
    if (!f) return -1;
    int ok = gzwrite(f, data, (unsigned)size) == (int)size;
    return (gzclose(f) == Z_OK && ok) ? 0 : -1;
  }
  return test_write_file(path, data, size);
}

/* IDX images file (magic 2051) of n images rows x cols; `magic` lets tests break it. */
static inline int write_idx_images(const char *path, uint32_t magic, int n, int rows, int cols) {
  long size = 16 + (long)n * rows * cols;
  unsigned char *buf = malloc((size_t)size);
  put_be32(buf, magic), put_be32(buf + 4, (uint32_t)n), put_be32(buf + 8, (uint32_t)rows), put_be32(buf + 12, (uint32_t)cols);
  for (int i = 0; i < n; i++)
    for (int y = 0; y < rows; y++)
      for (int x = 0; x < cols; x++) buf[16 + ((long)i * rows + y) * cols + x] = test_pixel(i, y, x, 0);
  int rc = write_maybe_gz(path, buf, size);
  free(buf);
  return rc;
}

static inline int write_idx_labels(const char *path, uint32_t magic, int n, const uint8_t *labels) {
  unsigned char *buf = malloc((size_t)n + 8);
  put_be32(buf, magic), put_be32(buf + 4, (uint32_t)n);
  memcpy(buf + 8, labels, (size_t)n);
  int rc = write_maybe_gz(path, buf, n + 8);
  free(buf);
  return rc;
}

/* CIFAR records: label byte(s) then 32x32 RGB stored CHW. labels2 == NULL: CIFAR-10 (one label byte);
 * otherwise CIFAR-100 with labels = coarse and labels2 = fine. first_n offsets the pixel formula. */
static inline int write_cifar(const char *path, int n, const uint8_t *labels, const uint8_t *labels2, int first_n) {
  int head = labels2 ? 2 : 1;
  long record = head + 3072;
  unsigned char *buf = malloc((size_t)(record * n));
  for (int i = 0; i < n; i++) {
    unsigned char *r = buf + record * i;
    r[0] = labels[i];
    if (labels2) r[1] = labels2[i];
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) r[head + c * 1024 + y * 32 + x] = test_pixel(first_n + i, y, x, c);
  }
  int rc = test_write_file(path, buf, record * n);
  free(buf);
  return rc;
}

/* STL-10 images: 3x96x96 per image, each plane column-major (byte c*9216 + x*96 + y). */
static inline int write_stl_images(const char *path, int n, int first_n) {
  long per = 3 * 96 * 96;
  unsigned char *buf = malloc((size_t)(per * n));
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      for (int x = 0; x < 96; x++)
        for (int y = 0; y < 96; y++) buf[per * i + c * 9216 + x * 96 + y] = test_pixel(first_n + i, y, x, c);
  int rc = test_write_file(path, buf, per * n);
  free(buf);
  return rc;
}

static inline void make_dir(const char *path) { mkdir(path, 0777); }

/* A PNG chunk with its CRC, for hand-made (broken) PNGs. */
static inline size_t put_png_chunk(unsigned char *out, const char *type, const unsigned char *data, uint32_t length) {
  put_be32(out, length);
  memcpy(out + 4, type, 4);
  if (length) memcpy(out + 8, data, length);
  put_be32(out + 8 + length, (uint32_t)crc32(0, out + 4, length + 4));
  return 12 + length;
}

/* A well-formed PNG signature and IHDR claiming width x height, then IEND (no image data). */
static inline int write_png_header_only(const char *path, uint32_t width, uint32_t height) {
  unsigned char buf[64] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  unsigned char ihdr[13] = {0};
  put_be32(ihdr, width), put_be32(ihdr + 4, height);
  ihdr[8] = 8; /* bit depth */
  ihdr[9] = 2; /* RGB */
  size_t n = 8;
  n += put_png_chunk(buf + n, "IHDR", ihdr, 13);
  n += put_png_chunk(buf + n, "IEND", NULL, 0);
  return test_write_file(path, buf, (long)n);
}

#endif
