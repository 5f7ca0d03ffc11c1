#include "scan/stop_point.h"

#include "scan/dist.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scan_stop_point(const char *name, const char *detail) {
  const char *wanted = getenv("SCAN_TEST_STOP_AT");
  if (!wanted || !wanted[0]) return;
  const char *rank = getenv("SCAN_TEST_STOP_RANK");
  if (rank && rank[0] && strtol(rank, NULL, 10) != scan_dist_rank()) return;
  char point[512];
  snprintf(point, sizeof point, "%s%s%s", name, detail ? ":" : "", detail ? detail : "");
  const char *hash = strchr(wanted, '#');
  size_t len = hash ? (size_t)(hash - wanted) : strlen(wanted);
  if (len != strlen(point) || strncmp(wanted, point, len) != 0) return;
  /* Count arrivals at this point in this process: "#2" stops at the second. */
  static int arrivals;
  long target = hash ? strtol(hash + 1, NULL, 10) : 1;
  if (++arrivals < target) return;
  if (scan_dist_size() > 1) fprintf(stderr, "SCAN_TEST_STOP_AT: rank %d stopping at %s\n", scan_dist_rank(), point);
  else fprintf(stderr, "SCAN_TEST_STOP_AT: stopping at %s\n", point);
  fflush(stderr);
  raise(SIGKILL);
}
