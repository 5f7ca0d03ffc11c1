/* The data-parallel forms of the SCAN and self-label losses, without MPI: a global batch cut into R contiguous shards,
 * whose per-rank sums are added here as the all-reduce would, gives the one-process loss, and each shard's gradient
 * rows are R times the one-process rows (so that the scaffold's average over ranks is the one-process gradient).
 * Tolerances: the same double formulas summed in another order, then rounded to float (relative 1e-6). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/losses.h"
#include "testlib.h"

enum { B = 24, C = 5, R = 3 };

int main(void) {
  float *anchor = test_randn(7, B * C, 0), *neighbor = test_randn(7, B * C, 1);
  float d_a[B * C], d_n[B * C], s_a[B * C], s_n[B * C];
  const double w = 5.0;
  scan_scan_loss one = scan_loss_scan(anchor, neighbor, B, C, w, d_a, d_n);
  double sums[C] = {0}, part[C];
  int first[R + 1];
  for (int r = 0; r <= R; r++) first[r] = r * B / R;
  for (int r = 0; r < R; r++) {
    scan_scan_prob_sums(anchor + first[r] * C, first[r + 1] - first[r], C, part);
    for (int k = 0; k < C; k++) sums[k] += part[k];
  }
  double consistency = 0, entropy = 0;
  for (int r = 0; r < R; r++) {
    int n = first[r + 1] - first[r];
    scan_scan_loss l = scan_loss_scan_shard(anchor + first[r] * C, neighbor + first[r] * C, n, C, w, sums, B, R,
                                            s_a + first[r] * C, s_n + first[r] * C);
    consistency += l.consistency;
    entropy = l.entropy;
  }
  CHECK_NEAR(consistency - w * entropy, one.total, 1e-12, 1e-12);
  float one_a[B * C], one_n[B * C];
  for (int i = 0; i < B * C; i++) {
    one_a[i] = R * d_a[i];
    one_n[i] = R * d_n[i];
  }
  CHECK(test_max_rel_diff(s_a, one_a, B * C) < 1e-6);
  CHECK(test_max_rel_diff(s_n, one_n, B * C) < 1e-6);

  /* Self-labelling with class balancing: targets from the weak logits, counts summed over the shards. */
  float *weak = test_randn(8, B * C, 0), *strong = test_randn(8, B * C, 1);
  for (int i = 0; i < B * C; i++) weak[i] *= 3;
  int32_t targets[B];
  float d_one[B * C], d_shard[B * C];
  int confident = 0;
  double loss_one = scan_loss_selflabel(weak, strong, B, C, 0.5, NULL, 1, d_one, &confident, targets);
  CHECK(confident > 0);
  double counts[C] = {0}, loss = 0;
  for (int i = 0; i < B; i++)
    if (targets[i] >= 0) counts[targets[i]] += 1;
  for (int r = 0; r < R; r++)
    loss += scan_loss_selflabel_shard(strong + first[r] * C, targets + first[r], first[r + 1] - first[r], C, counts, 1,
                                      R, d_shard + first[r] * C);
  CHECK_NEAR(loss, loss_one, 1e-12, 1e-12);
  for (int i = 0; i < B * C; i++) d_one[i] *= R;
  CHECK(test_max_rel_diff(d_shard, d_one, B * C) < 1e-6);
  free(anchor);
  free(neighbor);
  free(weak);
  free(strong);
  return test_main_end();
}
