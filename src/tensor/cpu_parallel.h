/* When a memory-bound layer loop is worth an OpenMP region. */
#ifndef SCAN_TENSOR_CPU_PARALLEL_H
#define SCAN_TENSOR_CPU_PARALLEL_H

/* Below this many floats of work a parallel region (a fork and a barrier, and on a loaded machine a wait for a
 * descheduled thread) costs more than the loop itself: such loops run on the calling thread. Used in `if()` clauses;
 * the results are the same either way (every element is computed the same way). */
enum { SCAN_PARALLEL_MIN_WORK = 1 << 16 };

#endif
