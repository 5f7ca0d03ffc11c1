/* The communicator of one process (no mpirun): rank 0 of 1, and every collective the identity, the non-blocking
 * sum included (its result is in `out` at once, and its handle is complete). Named test_base_*: testlib needs
 * scan_base, which links scan_dist. */
#include <string.h>

#include "scan/dist.h"
#include "testlib.h"

int main(void) {
  CHECK(scan_dist_init(NULL, NULL) == 0);
  CHECK(scan_dist_rank() == 0 && scan_dist_size() == 1 && scan_dist_is_root());
  float in[5] = {1.5f, -2, 3, 0.25f, 7}, out[5] = {0}, block[5];
  memcpy(block, in, sizeof in);
  scan_dist_sum_floats(block, 5);
  CHECK(memcmp(block, in, sizeof in) == 0);
  const int handle = scan_dist_sum_floats_start(in, out, 5);
  CHECK(handle == -1 && scan_dist_test(handle));
  scan_dist_wait_all();
  CHECK(memcmp(out, in, sizeof in) == 0);
  scan_dist_finalize();
  return test_main_end();
}
