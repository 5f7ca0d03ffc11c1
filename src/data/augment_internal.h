/* The building blocks of scan_augment, one family per file (not a public
 * interface). Images are HWC uint8 unless said otherwise; `tmp` is a caller
 * buffer of the same size for operations that cannot work in place. */
#ifndef SCAN_AUGMENT_INTERNAL_H
#define SCAN_AUGMENT_INTERNAL_H

#include <stdint.h>

#include "scan/rng.h"

/* For the per-pixel loops: at -O2 GCC vectorises only loops that need no runtime
 * checks (its "very cheap" cost model), and loops with selects only when told that
 * floating-point operations do not trap (so it may compute both sides). Neither
 * reorders any arithmetic, so the results are bit-for-bit those of the scalar loop. */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORISE_SELECTS __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")))
#else
#define VECTORISE_SELECTS
#endif

/* resample.c: scan_resample_bilinear_u8 with an optional horizontal mirror of the
 * output, so crop + resize + flip is one pass. clip_to_box = 1 reads only the box
 * (crop, then resize: torchvision's resized_crop); 0 lets the filter read the
 * image around the box (resize the whole image, then crop). */
void aug_resample(const uint8_t *src, int src_h, int src_w, int channels, double top, double left, double box_h,
                  double box_w, uint8_t *dst, int out_h, int out_w, int antialias, int flip, int clip_to_box);

/* augment_geometry.c */
typedef struct { int top, left, height, width; } aug_box;
/* torchvision RandomResizedCrop.get_params: 10 attempts, then the centre-crop fallback. */
aug_box aug_rrc_box(scan_rng *rng, int h, int w, double scale_min, double scale_max, double ratio_min,
                    double ratio_max);
/* PIL Image.transform(AFFINE, m, NEAREST) with black fill: output pixel (x, y)
 * samples the input at (m0 x + m1 y + m2, m3 x + m4 y + m5) taken at pixel centres. */
void aug_affine_nearest(const uint8_t *src, uint8_t *dst, int h, int w, int channels, const double m[6]);
/* PIL img.rotate(degrees) (counter-clockwise, about the centre, nearest, black fill). */
void aug_rotate(const uint8_t *src, uint8_t *dst, int h, int w, int channels, double degrees);

/* augment_colour.c: PIL ImageEnhance / torchvision ColorJitter on PIL images.
 * Every blend truncates like PIL's Image.blend. n = pixel count. */
uint8_t aug_luma(const uint8_t *rgb); /* PIL convert("L") */
void aug_brightness(uint8_t *img, long n, int channels, double factor);
void aug_contrast(uint8_t *img, long n, int channels, double factor);
void aug_saturation(uint8_t *img, long n, double factor);  /* RGB only */
void aug_hue(uint8_t *img, long n, double shift);          /* RGB only; shift in [-0.5, 0.5] turns */
void aug_grayscale(uint8_t *img, long n);                  /* RGB only; all three channels = luma */
void aug_sharpness(uint8_t *img, uint8_t *tmp, int h, int w, int channels, double factor);

/* augment_strong.c: the pixel ops of spec §4.4 and the random choice among the 14. */
void aug_autocontrast(uint8_t *img, long n, int channels);
void aug_equalize(uint8_t *img, long n, int channels);
void aug_solarize(uint8_t *img, long n, int channels, double threshold);
void aug_posterize(uint8_t *img, long n, int channels, int bits);
/* Applies `count` ops drawn with replacement (image in `img`; `tmp` is scratch). */
void aug_strong_ops(uint8_t *img, uint8_t *tmp, int h, int w, int channels, int count, scan_rng *rng);

/* augment_erase.c: on the normalised CHW float tensor. */
/* Hole side: drawn in [1, length] (the reference, cutout_kwargs.random: true) or exactly length (fixed_length). */
void aug_cutout(float *chw, int channels, int h, int w, int holes, int length, int fixed_length, scan_rng *rng);
void aug_random_erasing(float *chw, int channels, int h, int w, double p, double scale_min, double scale_max,
                        scan_rng *rng);

#endif
