/* Curation (spec §17, issue 11): from a large pool of images, select a training set distributed like a target set,
 * in a feature space where inner product = cosine similarity (L2-normalised rows, e.g. from `scan features`).
 *
 *   1. greedy near-duplicate removal within the target (consecutive video frames), in file order;
 *   2. the top-K pool neighbours of each remaining target, for each K;
 *   3. per K, the union of those neighbours (each pool image once, in pool order) = the selection,
 *      written as ImageSets/scan_nn<K>.txt (names without extension, one per line);
 *   4. evidence that the selection resembles the target: MMD between feature distributions, nearest-neighbour
 *      similarities to the target, class histograms when labels exist.
 *
 * Library code: errors are values naming the file or the argument; nothing is printed. */
#ifndef SCAN_CURATE_H
#define SCAN_CURATE_H

#include <stddef.h>
#include <stdint.h>

#include "scan/dataset.h"
#include "scan/error.h"
#include "scan/paths.h"

/* ---- the steps, each usable on its own ---- */

/* Greedy de-duplication in file order: row i is kept unless an earlier kept row j has x_i·x_j >= threshold.
 * keep[n] receives 1/0, *kept_count the number kept. Exact: every pair above the threshold is found
 * (top-k candidates from the blocked GEMM search, widened to a full scan for a row whose candidates are all
 * above the threshold). A threshold above 1 keeps everything. */
scan_status scan_curate_dedup(const float *x, int64_t n, int d, double threshold, uint8_t *keep, int64_t *kept_count);

/* The pool indices in the first k columns of neighbors [rows, cols], each once, in increasing order.
 * selected needs room for min(rows*k, pool_count) entries. Indices outside [0, pool_count) are an internal error. */
scan_status scan_curate_union(const int64_t *neighbors, int64_t rows, int cols, int k, int64_t pool_count,
                              int64_t *selected, int64_t *selected_count);

/* `name` without its image extension (.png .jpg .jpeg .bmp .ppm .pgm .pnm .tif .tiff .webp .gif, any case),
 * as the reference writes ImageSets names; directories are kept. Writes at most size-1 characters. */
void scan_curate_strip_extension(const char *name, char *out, size_t size);

/* Names: one per line (trailing CR/LF removed). Exactly `expected` lines are required (an error names the file,
 * the count found and the count expected). free with scan_curate_free_names. */
scan_status scan_curate_read_names(const char *path, int64_t expected, char ***names);
/* The names file that goes with a features file: "<features_path without .npy>.names.txt" (what `scan features`
 * writes by default and `scan select` looks for). */
scan_status scan_curate_names_path(const char *features_path, char *buf, size_t size);
/* "0", "1", ... for sets that have no file names. */
scan_status scan_curate_index_names(int64_t count, char ***names);
void scan_curate_free_names(char **names, int64_t count);

/* Features from a .npy file: a 2-D float32 or float64 array [rows, dim] of finite values, returned as float32 rows
 * made unit length (features from other tools may not be). Errors name the file. free(*features). */
scan_status scan_curate_load_features(const char *path, float **features, int64_t *rows, int *dim);
/* Labels from a .npy file: 1-D integers (int64, int32 or uint8) with `expected` entries, -1 = unknown.
 * *num_classes = largest label + 1. free(*labels). */
scan_status scan_curate_load_labels(const char *path, int64_t expected, int32_t **labels, int *num_classes);

/* What `scan features` writes: features [rows, dim] as float32 .npy, their names one per line (names_path may be
 * NULL), and optionally (csv_path != NULL) the reference's CSV layout "name,f1,...,fD" without a header (names
 * holding a comma or a quote are quoted as in RFC 4180). Each file is written atomically. */
scan_status scan_curate_write_features(const char *npy_path, const char *names_path, const char *csv_path,
                                       const float *features, int64_t rows, int dim, const char *const *names);

/* Squared Euclidean distances between the rows of x [nx, d] and y [ny, d]: their median over all nx*ny pairs
 * (the median heuristic for the RBF bandwidth; computed in double). -1 when out of memory (the message is recorded). */
double scan_curate_median_sq_distance(const float *x, int64_t nx, const float *y, int64_t ny, int d);
/* Maximum mean discrepancy with the RBF kernel k(a,b) = exp(-|a-b|^2 / (2 sigma2)), biased (V-statistic)
 * estimate: MMD^2 = mean k(x,x') + mean k(y,y') - 2 mean k(x,y). Returns sqrt(max(MMD^2, 0)); 0 for equal sets.
 * Cost O((nx+ny)^2 d): callers subsample (scan_curate_subsample). */
double scan_curate_mmd_rbf(const float *x, int64_t nx, const float *y, int64_t ny, int d, double sigma2);
/* Copies min(n, max_rows) rows of x [n, d], chosen uniformly without replacement with the counter-based RNG
 * (seed, stream), into out (room for min(n, max_rows) rows), in increasing row order. Returns the rows copied. */
int64_t scan_curate_subsample(const float *x, int64_t n, int d, int64_t max_rows, uint64_t seed, uint64_t stream,
                              float *out);

/* Total-variation distance 0.5 * sum |a_c/A - b_c/B| between two count histograms of `classes` bins; 0 when a
 * histogram is empty. */
double scan_curate_tv_distance(const int64_t *a, const int64_t *b, int classes);

/* ---- the whole selection (what `scan select` runs) ---- */

#define SCAN_CURATE_MAX_K 16

typedef struct {
  const float *target; /* [target_count, dim], L2-normalised */
  int64_t target_count;
  const float *pool;   /* [pool_count, dim], L2-normalised */
  int64_t pool_count;
  int dim;
  const char *const *target_names; /* target_count names (file names, possibly with extension) */
  const char *const *pool_names;   /* pool_count names */
  int ks[SCAN_CURATE_MAX_K];       /* neighbours per target, each 1..pool_count */
  int k_count;
  double dedup_threshold;          /* e.g. 0.98; above 1 turns de-duplication off */
  const char *out_dir;
  const char *voc_root;            /* NULL, or a VOC root whose Annotations/<name>.xml must exist */
  /* Optional labels (-1 = unknown) for class histograms; num_classes bins, class_names may be NULL. */
  const int32_t *target_labels, *pool_labels;
  int num_classes;
  const char *const *class_names;
  /* Optional images for the strips: the i-th image of each dataset belongs to the i-th feature row. */
  const scan_dataset *target_images, *pool_images;
  int strips;      /* number of PNG strips (target + its first-K neighbours) to write; 0 = none */
  int mmd_samples; /* rows per set used for MMD (bounded cost); 0 = 1000 */
  uint64_t seed;
} scan_curate_request;

typedef struct {
  int k;
  int64_t neighbour_total;   /* unique targets * k, before de-duplication of the union */
  int64_t selected;          /* pool images in the union */
  int64_t missing_annotations; /* with voc_root: selected names without Annotations/<name>.xml; -1 without */
  char missing_list[SCAN_PATH_MAX];   /* with voc_root: the file listing them, missing_annotations_nn<k>.txt */
  double mmd_target;         /* MMD(target, selection) */
  double mean_nn_similarity; /* mean over the selection of its highest similarity to a unique target */
  double tv_target;          /* class histograms: TV(target, selection); -1 without labels */
  char image_set[SCAN_PATH_MAX];      /* path of ImageSets/scan_nn<k>.txt */
} scan_curate_k_result;

typedef struct {
  int64_t target_count, unique_count, pool_count;
  double mmd_pool;                /* MMD(target, pool), the baseline the selections are compared with */
  double mean_nn_similarity_pool; /* mean over the pool of its highest similarity to a unique target */
  double mean_nn_similarity_target; /* mean over unique targets of the highest similarity to another unique target */
  double tv_pool;                 /* TV(target, pool) of class histograms; -1 without labels */
  double mmd_sigma2;              /* sigma^2 of the RBF kernel: median squared distance of target-pool sample pairs */
  int strips_written;
  scan_curate_k_result per_k[SCAN_CURATE_MAX_K];
} scan_curate_result;

/* Runs the selection and writes, under out_dir:
 *   ImageSets/scan_nn<K>.txt          selected pool names (extension stripped), in pool order
 *   target_kept.npy                   int64 [U]: indices of the unique targets
 *   neighbors_nn<K>.npy               int64 [U, K]: pool indices of each unique target's neighbours, nearest first
 *   selected_nn<K>.npy                int64 [S]: the selection as pool indices
 *   missing_annotations_nn<K>.txt     (with voc_root) selected names lacking an annotation
 *   evidence.json, evidence.png       distribution distances, nearest-neighbour similarity histograms, classes
 *   strips/strip_<i>.png              (with strips and images) a target followed by its neighbours
 * Bad input (empty sets, k outside 1..pool_count, non-finite values) is SCAN_ERR_INPUT naming the argument. */
scan_status scan_curate_select(const scan_curate_request *req, scan_curate_result *result);

#endif
