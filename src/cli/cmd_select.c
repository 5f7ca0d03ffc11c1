/* scan select: build a training ImageSet from a pool, distributed like a target set (spec §17.2, issue 11). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "scan/atomic_file.h"
#include "scan/curate.h"
#include "scan/datasets.h"
#include "stage_common.h"

/* One side of the selection: features, names, and optionally images and labels. */
typedef struct {
  const char *what; /* "target" or "pool" */
  const char *features_path, *names_path, *labels_path;
  scan_dataset_spec spec; /* spec.name set: images (and labels) come from this dataset */
  float *features;
  int64_t rows;
  int dim;
  char **names;
  int32_t *labels;
  int num_classes;
  scan_dataset images;
  int images_loaded;
} select_side;

static void side_free(select_side *s) {
  free(s->features);
  scan_curate_free_names(s->names, s->rows);
  free(s->labels);
  if (s->images_loaded) scan_dataset_free(&s->images);
}

/* Names: --*-names, else "<features>.names.txt" written by `scan features` when present, else the dataset's
 * file names, else indices. */
static scan_status load_names(select_side *s) {
  char sibling[SCAN_PATH_MAX];
  const char *path = s->names_path;
  if (!path) {
    SCAN_TRY(scan_curate_names_path(s->features_path, sibling, sizeof sibling));
    if (scan_file_exists(sibling)) path = sibling;
  }
  if (path) return scan_curate_read_names(path, s->rows, &s->names);
  if (s->images_loaded && s->images.file_names) {
    s->names = scan_calloc((unsigned long)s->rows, sizeof(char *));
    if (!s->names) return SCAN_ERR_INTERNAL;
    for (int64_t i = 0; i < s->rows; i++)
      if (!(s->names[i] = strdup(s->images.file_names[i]))) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
    return SCAN_OK;
  }
  return scan_curate_index_names(s->rows, &s->names);
}

static scan_status load_side(select_side *s, int image_size) {
  SCAN_TRY(scan_curate_load_features(s->features_path, &s->features, &s->rows, &s->dim));
  if (s->spec.name) {
    s->spec.image_size = image_size;
    SCAN_TRY(scan_dataset_load(&s->images, &s->spec));
    s->images_loaded = 1;
    if (s->images.count != s->rows)
      return scan_fail(SCAN_ERR_INPUT, "--%s-dataset %s has %d images, but %s has %lld rows", s->what, s->images.name,
                       s->images.count, s->features_path, (long long)s->rows);
  }
  SCAN_TRY(load_names(s));
  if (s->labels_path) return scan_curate_load_labels(s->labels_path, s->rows, &s->labels, &s->num_classes);
  if (s->images_loaded && s->images.labels) {
    s->labels = scan_malloc(sizeof(int32_t) * (size_t)s->rows);
    if (!s->labels) return SCAN_ERR_INTERNAL;
    memcpy(s->labels, s->images.labels, sizeof(int32_t) * (size_t)s->rows);
    s->num_classes = s->images.num_classes;
  }
  return SCAN_OK;
}

static void print_result(const scan_curate_request *req, const scan_curate_result *r) {
  printf("target: %lld images, %lld after removing near-duplicates (cosine >= %g)\n", (long long)r->target_count,
         (long long)r->unique_count, req->dedup_threshold);
  printf("pool: %lld images\n", (long long)r->pool_count);
  for (int i = 0; i < req->k_count; i++) {
    const scan_curate_k_result *k = &r->per_k[i];
    printf("k=%d: %lld neighbours, %lld after de-duplication -> %s\n", k->k, (long long)k->neighbour_total,
           (long long)k->selected, k->image_set);
    if (k->missing_annotations > 0)
      printf("  %lld selected names have no annotation in %s/Annotations (listed in %s)\n",
             (long long)k->missing_annotations, req->voc_root, k->missing_list);
    else if (k->missing_annotations == 0)
      printf("  every selected name has an annotation in %s/Annotations\n", req->voc_root);
  }
  printf("distance to the target (MMD, RBF kernel):");
  for (int i = 0; i < req->k_count; i++) printf(" selection k=%d %.4f,", r->per_k[i].k, r->per_k[i].mmd_target);
  printf(" whole pool %.4f\n", r->mmd_pool);
  printf("mean similarity to the nearest target:");
  for (int i = 0; i < req->k_count; i++) printf(" selection k=%d %.4f,", r->per_k[i].k, r->per_k[i].mean_nn_similarity);
  printf(" whole pool %.4f\n", r->mean_nn_similarity_pool);
  if (r->tv_pool >= 0) {
    printf("class histogram, total variation to the target:");
    for (int i = 0; i < req->k_count; i++) printf(" selection k=%d %.4f,", r->per_k[i].k, r->per_k[i].tv_target);
    printf(" whole pool %.4f\n", r->tv_pool);
  }
  printf("evidence -> %s/evidence.json, evidence.png%s\n", req->out_dir, r->tv_pool >= 0 ? ", evidence_classes.png" : "");
  if (r->strips_written) printf("strips -> %s/strips/ (%d)\n", req->out_dir, r->strips_written);
}

static scan_status run_select(select_side *target, select_side *pool, scan_curate_request *req, int image_size) {
  SCAN_TRY(load_side(target, image_size));
  SCAN_TRY(load_side(pool, image_size));
  if (target->dim != pool->dim)
    return scan_fail(SCAN_ERR_INPUT, "%s has %d dimensions but %s has %d: features must come from the same model",
                     target->features_path, target->dim, pool->features_path, pool->dim);
  req->target = target->features, req->target_count = target->rows;
  req->pool = pool->features, req->pool_count = pool->rows;
  req->dim = target->dim;
  req->target_names = (const char *const *)target->names;
  req->pool_names = (const char *const *)pool->names;
  if (target->labels && pool->labels) {
    req->target_labels = target->labels, req->pool_labels = pool->labels;
    req->num_classes = target->num_classes > pool->num_classes ? target->num_classes : pool->num_classes;
    if (pool->images_loaded && pool->images.class_names && pool->images.num_classes == req->num_classes)
      req->class_names = (const char *const *)pool->images.class_names;
  }
  if (target->images_loaded && pool->images_loaded) {
    req->target_images = &target->images;
    req->pool_images = &pool->images;
  } else if (req->strips > 0) {
    return scan_fail(SCAN_ERR_INPUT, "--strips needs the images: give --target-dataset and --pool-dataset");
  }
  scan_curate_result result;
  SCAN_TRY(scan_curate_select(req, &result));
  print_result(req, &result);
  return SCAN_OK;
}

int cmd_select(int argc, char **argv) {
  select_side target = {.what = "target"}, pool = {.what = "pool"};
  arg_list ks = {0};
  double dedup = 0.98;
  int strips = 0, mmd_samples = 1000, seed = 0, image_size = 0;
  const char *out = NULL, *voc_root = NULL;
  const arg_option options[] = {
      {"--target", ARG_STRING, &target.features_path, "target features .npy (from 'scan features'; required)"},
      {"--pool", ARG_STRING, &pool.features_path, "pool (training DB) features .npy (required)"},
      {"--target-names", ARG_STRING, &target.names_path, "target names, one per line (default <target>.names.txt)"},
      {"--pool-names", ARG_STRING, &pool.names_path, "pool names, one per line (default <pool>.names.txt)"},
      {"--k", ARG_LIST, &ks, "pool neighbours per target image (repeatable: one ImageSet each; default 20)"},
      {"--dedup", ARG_DOUBLE, &dedup, "near-duplicate threshold on cosine similarity (default 0.98; > 1 = off)"},
      {"--out", ARG_STRING, &out, "output directory (required)"},
      {"--voc-root", ARG_STRING, &voc_root, "VOC root: check Annotations/<name>.xml of every selected name"},
      {"--strips", ARG_INDEX, &strips, "write N PNG strips: a target and its first-k neighbours (needs the datasets)"},
      {"--target-dataset", ARG_STRING, &target.spec.name, "target images (and labels): dataset name"},
      {"--target-root", ARG_STRING, &target.spec.root, "target dataset directory (list: the list file)"},
      {"--target-split", ARG_STRING, &target.spec.split, "target dataset split"},
      {"--pool-dataset", ARG_STRING, &pool.spec.name, "pool images (and labels): dataset name"},
      {"--pool-root", ARG_STRING, &pool.spec.root, "pool dataset directory (list: the list file)"},
      {"--pool-split", ARG_STRING, &pool.spec.split, "pool dataset split"},
      {"--image-size", ARG_INT, &image_size, "folder/list datasets: resize images to N x N"},
      {"--target-labels", ARG_STRING, &target.labels_path, "target labels .npy (class histograms; -1 = unknown)"},
      {"--pool-labels", ARG_STRING, &pool.labels_path, "pool labels .npy"},
      {"--mmd-samples", ARG_INDEX, &mmd_samples, "images per set used for the MMD (default 1000)"},
      {"--seed", ARG_INT, &seed, "seed of the MMD subsamples (default 0)"},
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL,
                      "scan select --target T.npy --pool P.npy [--k 20 ...] [--dedup 0.98] --out DIR [--voc-root DIR]",
                      "Removes near-duplicate target images (greedy, file order), takes the k nearest pool images of\n"
                      "each remaining target and writes their union as DIR/ImageSets/scan_nn<k>.txt (names without\n"
                      "extension, pool order), with neighbour indices (.npy) and evidence that the selection resembles\n"
                      "the target: evidence.json (MMD, nearest-target similarity, class histograms) and evidence.png.");
  if (rc) return rc < 0 ? 0 : rc;
  if (!target.features_path || !pool.features_path || !out) {
    fprintf(stderr, "scan select: --target, --pool and --out are required (see --help)\n");
    return 2;
  }
  scan_curate_request req = {.dedup_threshold = dedup, .out_dir = out, .voc_root = voc_root, .strips = strips,
                             .mmd_samples = mmd_samples, .seed = (uint64_t)seed};
  if (ks.count > SCAN_CURATE_MAX_K) {
    fprintf(stderr, "scan select: at most %d values of --k\n", SCAN_CURATE_MAX_K);
    return 2;
  }
  req.k_count = ks.count ? ks.count : 1;
  req.ks[0] = 20;
  for (int i = 0; i < ks.count; i++) {
    char *end;
    long k = strtol(ks.items[i], &end, 10);
    if (*end || end == ks.items[i] || k < 1 || k > 1000000) {
      fprintf(stderr, "scan select: --k expects a positive whole number, got '%s'\n", ks.items[i]);
      return 2;
    }
    req.ks[i] = (int)k;
  }
  if (mmd_samples < 2 || strips < 0) {
    fprintf(stderr, "scan select: --mmd-samples must be at least 2 and --strips at least 0\n");
    return 2;
  }
  scan_status status = run_select(&target, &pool, &req, image_size);
  side_free(&target);
  side_free(&pool);
  return cli_report_error(status);
}
