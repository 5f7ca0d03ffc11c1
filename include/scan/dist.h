/* Data-parallel training over processes: the communicator of an MPI run (Open MPI), or a single process.
 *
 * Built with MPI (CMake found it: SCAN_WITH_MPI) and started by mpirun, scan_dist_init joins MPI_COMM_WORLD;
 * otherwise (built without MPI, or run without a launcher) the program is one process: rank 0 of size 1, every
 * collective below returns at once with the data unchanged, and nothing of MPI is initialised. The functions are
 * collectives: every rank calls them in the same order. An MPI failure aborts every rank (MPI's default error
 * handler), so no rank waits for a partner that is gone. The module sits left of `base` and uses nothing of scan. */
#ifndef SCAN_DIST_H
#define SCAN_DIST_H

#include <stdint.h>

/* Once, at the start of main, before any thread starts (MPI_Init_thread with MPI_THREAD_FUNNELED: only the main
   thread calls MPI; the loader's workers and OpenMP never do). Returns 0, or -1 after printing why. */
int scan_dist_init(int *argc, char ***argv);
/* At the end of main (MPI_Finalize when MPI was initialised). */
void scan_dist_finalize(void);
/* Stops every rank with `code` as the exit status (MPI_Abort), after flushing stdout and stderr; with one process,
   exit(code). Never returns. */
void scan_dist_abort(int code);

int scan_dist_rank(void);
int scan_dist_size(void);
/* 1 on rank 0: the only rank that writes files and prints progress. */
int scan_dist_is_root(void);
/* 1 when built with MPI (SCAN_WITH_MPI), whether or not this process runs under a launcher. */
int scan_dist_built_with_mpi(void);

/* The contiguous share [*first, *first + *count) of `total` items for `rank` of `size`: the first total % size
   ranks take one more. */
void scan_dist_share(long total, int rank, int size, long *first, long *count);

/* In-place sums over all ranks (MPI_Allreduce, MPI_SUM); every rank receives the same values. */
void scan_dist_sum_floats(float *data, long count);
void scan_dist_sum_doubles(double *data, long count);
/* Sums in flight, for overlapping communication with computation. scan_dist_sum_floats_start begins `out` = the sum
   over all ranks of each rank's `count` floats at `in` (MPI_Iallreduce, MPI_SUM; `in` and `out` do not overlap; at
   most SCAN_DIST_MAX_COUNT, or every rank stops) and returns its handle; neither buffer may be touched until
   scan_dist_wait_all has returned. Not in place (MPI_IN_PLACE) on purpose: Open MPI's non-blocking all-reduce
   (coll/libnbc) sums in place on a binomial tree (reduce to rank 0, then broadcast), which moves the whole message
   2 log2(ranks) times, where with a separate send buffer it takes, from 4 ranks and 64 KiB, a ring or reduce-scatter
   + all-gather like the blocking sum's (about 2 times the message). Every rank starts the same sums in the same
   order, and may interleave them with the blocking collectives above. scan_dist_test says whether the sum `handle`
   is complete and lets MPI progress every sum in flight (Open MPI moves a non-blocking collective on only inside MPI
   calls). scan_dist_wait_all waits for every sum started since the last wait, after which their handles are spent.
   With one process `out` is `in` at once: the handle is -1, always complete. */
#define SCAN_DIST_MAX_COUNT (1L << 28)
int scan_dist_sum_floats_start(const float *in, float *out, long count);
int scan_dist_test(int handle);
void scan_dist_wait_all(void);
/* out[] = the concatenation, in rank order, of every rank's `counts[rank]` floats (its `local`). */
void scan_dist_gather_floats(const float *local, float *out, const long *counts);
/* In-place gathers of rank-ordered shares: rank r's `counts[r]` elements already sit in `data` after those of ranks
   0..r-1 (the layout scan_dist_share gives); the other ranks' parts are filled in on every rank (all) or on rank
   `root` only (the other ranks' buffers are left as they were). Counts are in elements. */
void scan_dist_all_gather_floats_in_place(float *data, const long *counts);
void scan_dist_gather_int64_in_place(int64_t *data, const long *counts, int root);
/* 1 when `failed` is nonzero on any rank (every rank receives the same answer): a rank that cannot finish its share
   of a collective computation says so before the others wait for its data. */
int scan_dist_any(int failed);
/* `bytes` bytes of rank `root`'s data into every rank's. */
void scan_dist_broadcast(void *data, long bytes, int root);
void scan_dist_barrier(void);

#endif
