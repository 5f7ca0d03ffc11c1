/* The three training losses (SimCLR, SCAN, self-label) and the validation helpers around them.
 * Each loss is a plain forward that returns the loss value and, when the gradient pointers are
 * non-NULL, writes the gradient of that value w.r.t. its inputs (overwriting, not accumulating).
 * Sums run in double; inputs and gradients are float, like the network's activations.
 * Formulas follow the reference implementation (spec §6.2, §7.3, §7.4, §8.2). */
#ifndef SCAN_LOSSES_H
#define SCAN_LOSSES_H

#include <stdint.h>

/* NT-Xent as the reference implements it (spec §6.2): z1, z2 [b, d] are the two views, already
 * L2-normalised. Anchors = view-1 vectors; contrast set = both views (2b vectors); the anchor itself
 * is excluded, the positive (its view-2 partner) is kept in the denominator:
 *   loss = -(1/b) sum_i [ s(i, b+i) - log sum_{j != i} exp s(i, j) ],  s = a . c / temperature.
 * symmetric=1 also uses view-2 anchors (self = b+i excluded, positive = i) and averages the two.
 * d_z1 / d_z2 [b, d] may be NULL (value only). Returns NaN if its scratch memory (about 2b^2 doubles)
 * cannot be allocated, so the caller's finite-loss check stops the run. */
double scan_loss_simclr(const float *z1, const float *z2, int b, int d, double temperature, int symmetric,
                        float *d_z1, float *d_z2);

/* SCAN loss for one head (spec §7.3). anchor_logits / neighbor_logits [b, c]:
 *   consistency = mean_i -log <softmax(a_i), softmax(n_i)>   (log clamped at -100 like PyTorch's BCE)
 *   entropy     = H(mean_i softmax(a_i)), each mean probability clamped to >= 1e-8
 *   total       = consistency - entropy_weight * entropy.
 * d_anchor / d_neighbor [b, c] receive d total / d logits (either may be NULL).
 * The consistency gradient uses PyTorch's BCE backward, (s-1)/max(s(1-s), 1e-12), and the
 * clamp passes no gradient below 1e-8, so training matches the reference's update. */
typedef struct {
  double total, consistency, entropy;
} scan_scan_loss;
scan_scan_loss scan_loss_scan(const float *anchor_logits, const float *neighbor_logits, int b, int c,
                              double entropy_weight, float *d_anchor, float *d_neighbor);

/* The SCAN loss of a data-parallel shard: this rank's b anchor and neighbour rows out of a global batch of global_b.
 * scan_scan_prob_sums writes the shard's sums over rows of softmax(anchor) into sums [c]; their sum over ranks
 * (global_sums) gives the global mean prediction that the entropy term uses. scan_loss_scan_shard returns
 * consistency = (sum over this shard's rows of -log <p_i, q_i>) / global_b, which summed over ranks is the global
 * consistency, and entropy = H(global mean) (the same on every rank); total = consistency - weight * entropy / ranks
 * is left to the caller. The gradients are those of the global loss w.r.t. this shard's rows, times grad_scale. */
void scan_scan_prob_sums(const float *anchor_logits, int b, int c, double *sums);
scan_scan_loss scan_loss_scan_shard(const float *anchor_logits, const float *neighbor_logits, int b, int c,
                                    double entropy_weight, const double *global_sums, long global_b, double grad_scale,
                                    float *d_anchor, float *d_neighbor);

/* Validation SCAN loss used to pick the best head (spec §7.4). probs [n, c] softmax outputs,
 * neighbors [n, cols] row i = indices of i's neighbours (self normally in column 0).
 * consistency = mean over all (i, j in row i) of -log <p_i, p_j> (clamped at -100);
 * entropy = H(mean_i p_i) (1e-8 clamp); total = consistency - entropy_weight * entropy
 * (the reference uses entropy_weight 1 here). Indices outside [0, n) are skipped rather than read
 * out of bounds (the reference crashes there, its issue #72). Output pointers may be NULL. */
void scan_scan_eval_loss(const float *probs, int n, int c, const int64_t *neighbors, int cols, double entropy_weight,
                         double *total, double *consistency, double *entropy);

/* Self-label confidence-based cross-entropy (spec §8.2). weak_logits [b, c] pick the targets
 * (no gradient flows to them): p = softmax(weak), target = argmax p, confident when
 * max p > threshold (strict), or > class_thresholds[target] when class_thresholds [c] is given
 * (adaptive mode). With balance=1 each confident sample is weighted n / count(target) (n = number of
 * confident samples), else 1; the loss is the weighted mean CE of strong_logits [b, c] on the targets.
 * *confident (may be NULL) receives the number of confident samples. With none the loss is 0 and the
 * gradient zero: the caller skips the batch (the reference raises "Mask ... is all zeros", issue #46).
 * d_strong [b, c] may be NULL. targets_out [b] (may be NULL) receives the target of each confident
 * sample and -1 for the others. */
double scan_loss_selflabel(const float *weak_logits, const float *strong_logits, int b, int c, double threshold,
                           const float *class_thresholds, int balance, float *d_strong, int *confident,
                           int32_t *targets_out);

/* The targets scan_loss_selflabel trains on, from weak_logits [b, c] alone: targets [b] gets each confident
 * sample's class and -1 for the others; returns the number of confident samples. *top_probability (may be
 * NULL) receives the highest max-probability of the batch. The self-label stage calls it before the strong
 * view's training-mode forward pass, so that a batch with nothing to train on never runs one. */
int scan_selflabel_targets(const float *weak_logits, int b, int c, double threshold, const float *class_thresholds,
                           int32_t *targets, double *top_probability);

/* The self-label loss of a data-parallel shard: targets [b] of this rank's rows (scan_selflabel_targets, -1 = not
 * confident) and global_counts [c], the confident samples per class over the global batch (their sum is n > 0).
 * Each confident row is weighted (balance ? n / count(target) : 1) / W with W the global weight sum (n times the
 * classes present, or n); returns this shard's part of the global loss (the parts sum to it over ranks) and writes
 * d_strong [b, c] (may be NULL): the global loss's gradient w.r.t. this shard's rows times grad_scale, zero rows for
 * samples that are not confident. */
double scan_loss_selflabel_shard(const float *strong_logits, const int32_t *targets, int b, int c,
                                 const double *global_counts, int balance, double grad_scale, float *d_strong);

/* Per-class thresholds for adaptive self-labelling: for each class, the `quantile` (0..1, linear
 * interpolation like numpy's default) of the max probability among the samples of probs [n, c] whose
 * argmax is that class, raised to at least floor_threshold. A class no sample predicts gets
 * floor_threshold. thresholds [c] out. */
void scan_adaptive_thresholds(const float *probs, int n, int c, double quantile, double floor_threshold,
                              float *thresholds);

#endif
