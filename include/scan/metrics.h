/* Evaluation against ground truth (spec §9.3, corrected per §18.1-18.4), label-free
 * cluster diagnostics, k-means baselines and cluster prototypes. */
#ifndef SCAN_METRICS_H
#define SCAN_METRICS_H

#include <stdint.h>

#include "scan/dataset.h"
#include "scan/error.h"

/* Rectangular linear assignment (Kuhn-Munkres with potentials / shortest augmenting
 * paths): minimises the total cost of min(rows, cols) row-column pairs, each row
 * and column used at most once. cost is [rows, cols] row-major; row_to_col[r] = the
 * column of row r, or -1 when r is left unassigned (only when rows > cols). */
scan_status scan_hungarian(const double *cost, int rows, int cols, int *row_to_col);

/* Supervised metrics. Fractions are in 0..1 (not percent).
 * - The contingency matrix covers all ids: [num_clusters, num_classes].
 * - acc: Hungarian matching between the clusters that occur and the classes that
 *   occur (rectangular when their counts differ); samples of unmatched clusters are
 *   wrong (spec §18.1).
 * - acc_majority: each cluster -> its most frequent class (smallest on a tie), for
 *   over-clustering (several clusters may map to one class).
 * - nmi (arithmetic mean normalisation, natural log), ari, ami (scikit-learn's
 *   definitions; ami uses the hypergeometric expected mutual information) are
 *   computed on the raw ids.
 * - acc_top5: with probs, a sample is a hit when its class is the match of one of
 *   its 5 most probable clusters; unmatched clusters never hit (spec §18.2).
 * - precision / recall / f1 of the matched predictions, averaged over the classes
 *   that occur weighted by their support (scikit-learn average='weighted';
 *   weighted recall therefore equals acc). A class without any cluster matched to
 *   it has precision 0 (scikit-learn's zero_division=0). */
typedef struct {
  int num_clusters, num_classes;
  int64_t n;
  double acc, acc_majority, nmi, ari, ami;
  int has_top5; /* 0 when probs was NULL */
  double acc_top5;
  double precision_weighted, recall_weighted, f1_weighted;
  int32_t *match;          /* [num_clusters]: class matched to each cluster, or -1 */
  int32_t *majority_match; /* [num_clusters]: most frequent class, -1 for empty clusters */
  int64_t *contingency;    /* [num_clusters * num_classes], row = cluster, column = class */
} scan_metrics;

/* pred in 0..num_clusters-1, labels in 0..num_classes-1 (else SCAN_ERR_INPUT);
 * probs [n, num_clusters] or NULL. Free the result with scan_metrics_free. */
scan_status scan_cluster_metrics(const int32_t *pred, const int32_t *labels, int n, int num_clusters,
                                 int num_classes, const float *probs, scan_metrics *out);
void scan_metrics_free(scan_metrics *m);

/* Ids from a file that came from anywhere (scan metrics): a .npy of any integer dtype, shape [n] or [n, 1]; or a
 * text/CSV file with one id per line, or with several columns and a header line, from which the column named
 * `column` is read (e.g. "label" or "cluster" of scan eval's predictions.csv). Ids are 0..SCAN_MAX_LABEL_ID;
 * a negative or larger id, a non-integer, an empty file: SCAN_ERR_INPUT naming the file and line or element. */
#define SCAN_MAX_LABEL_ID 99999
scan_status scan_label_file_read(const char *path, const char *column, int32_t **ids, int64_t *n);
/* Probabilities [n, k] from a float32/float64 .npy or a CSV of k numbers per line (a header line allowed). */
scan_status scan_prob_file_read(const char *path, float **probs, int64_t *n, int *k);
/* Every metric of the ids in two files (and top-5 with a probabilities file): clusters = the largest cluster id
 * + 1 (or the probabilities' columns, when more: clusters nobody was assigned to count as empty), classes = the
 * largest class id + 1. Different lengths: SCAN_ERR_INPUT naming both files. Free with scan_metrics_free. */
scan_status scan_metrics_files(const char *truth_path, const char *pred_path, const char *probs_path, scan_metrics *out);
/* The metrics (acc, majority_acc, nmi, ari, ami, top5 when computed, weighted precision/recall/F1) as members of
 * a cJSON object; the table version adds n, the counts, the matching and the confusion [clusters][classes]. */
struct cJSON;
void scan_metrics_add_json(struct cJSON *object, const scan_metrics *m);
void scan_metrics_add_table_json(struct cJSON *object, const scan_metrics *m);

/* Mean silhouette coefficient (scikit-learn's definition, Euclidean distance) of
 * x [n, d] under `labels` (any int32 values). When there are fewer than 2 or more
 * than n-1 distinct labels the score is undefined: returns 0 and sets *defined = 0
 * (defined may be NULL). */
double scan_silhouette(const float *x, int n, int d, const int32_t *labels, int *defined);

/* Label-free diagnostics of a clustering. */
typedef struct {
  int num_clusters;
  int num_nonempty;
  int64_t *sizes;            /* [num_clusters] */
  double entropy;            /* of the cluster-size distribution, natural log */
  double entropy_normalized; /* entropy / log(num_clusters); 1 = perfectly balanced */
  int has_confidence;
  double mean_confidence;    /* mean of each sample's largest probability */
} scan_cluster_summary;

/* probs [n, num_clusters] or NULL. Free with scan_cluster_summary_free. */
scan_status scan_cluster_summarize(const int32_t *pred, int64_t n, int num_clusters, const float *probs,
                                   scan_cluster_summary *out);
void scan_cluster_summary_free(scan_cluster_summary *s);

/* k-means: k-means++ initialisation (greedy, 2 + ln k trials per centre, as
 * scikit-learn), Lloyd iterations until the centre shift falls below
 * tol * mean feature variance (or assignments stop changing), n_init restarts, the
 * lowest inertia wins. Distances come from GEMM; results are identical for any
 * thread count. */
typedef struct {
  int k;
  int n_init;     /* restarts (scikit-learn default 10) */
  int max_iter;   /* per restart (default 300) */
  double tol;     /* relative tolerance (default 1e-4) */
  uint64_t seed;
} scan_kmeans_options;

void scan_kmeans_default_options(scan_kmeans_options *opt, int k, uint64_t seed);
/* x [n, d]; centroids [k, d] and assign [n] are outputs; inertia (may be NULL) =
 * sum of squared distances to the assigned centroid. Needs 1 <= k <= n. */
scan_status scan_kmeans(const float *x, int64_t n, int d, const scan_kmeans_options *opt, float *centroids,
                        int32_t *assign, double *inertia);
/* k-means on the pixels of a dataset's images (scaled to [0, 1]; in memory or streamed): the images are read one
 * at a time; at most fit_max of them (all when count <= fit_max, else image i * count / fit_max for i < fit_max) are
 * clustered by scan_kmeans, then every image is assigned to its nearest centre (squared distance in double, the
 * smaller index on a tie). centroids [k, height * width * channels] (NULL: not wanted) and assign [count]. */
scan_status scan_kmeans_images(const scan_dataset *images, long fit_max, const scan_kmeans_options *opt,
                               float *centroids, int32_t *assign);

/* Prototypes (spec §9.5, corrected per §18.4): for each cluster, among ITS members
 * only, the `topk` with the highest confidence (smaller index on a tie); the
 * prototype is the one of those closest (L2) to their mean feature. Clusters with
 * no member get -1. confidence [n] (e.g. the largest probability), features [n, d]. */
scan_status scan_prototypes(const int32_t *pred, const float *confidence, const float *features, int64_t n,
                            int d, int num_clusters, int topk, int64_t *prototypes);

/* Confusion-matrix figure (PNG) of an evaluated clustering: rows = the classes that
 * occur, columns = the non-empty clusters (named "cluster <id>"). Each class with a
 * matched cluster comes first, in class order, with that cluster in the same position,
 * so matched pairs form the diagonal; classes without a matched cluster and unmatched
 * clusters (marked so) follow. Cells show the count and the row percentage. The axis
 * label says how many empty clusters were left out. class_names [num_classes] or NULL
 * (then "class i"). */
scan_status scan_confusion_chart(const scan_metrics *m, const char *const *class_names, const char *title,
                                 const char *path);

#endif
