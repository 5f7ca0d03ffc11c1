/* The communicator (include/scan/dist.h). */
#include "scan/dist.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SCAN_WITH_MPI
#include <mpi.h>
#endif

static int dist_rank = 0, dist_size = 1;
#ifdef SCAN_WITH_MPI
static int dist_mpi = 0; /* MPI_Init ran */
#endif

int scan_dist_built_with_mpi(void) {
#ifdef SCAN_WITH_MPI
  return 1;
#else
  return 0;
#endif
}

#ifdef SCAN_WITH_MPI
/* Under a launcher (mpirun, srun with PMIx/PMI): a singleton MPI_Init would start MPI's runtime for nothing, and on
   some machines fail, so a plain `scan ...` never initialises MPI. */
static int under_launcher(void) {
  static const char *names[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", NULL};
  for (int i = 0; names[i]; i++)
    if (getenv(names[i])) return 1;
  return 0;
}
#endif

#ifdef SCAN_WITH_MPI
/* When one rank dies (killed, out of memory, a crash) mpirun reports it and ends the others with SIGTERM: each says
   so on stderr, so that a log of rank 0's output alone does not end mid-line without a reason. Only
   async-signal-safe calls; the default action then ends the process. */
static char term_message[256];

static void on_sigterm(int signal_number) {
  ssize_t unused = write(STDERR_FILENO, term_message, strlen(term_message));
  (void)unused;
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}
#endif

int scan_dist_init(int *argc, char ***argv) {
#ifdef SCAN_WITH_MPI
  if (!under_launcher()) return 0;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    fprintf(stderr, "scan: MPI_Init_thread failed\n");
    return -1;
  }
  dist_mpi = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &dist_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &dist_size);
  if (dist_size > 1) {
    snprintf(term_message, sizeof term_message,
             "\nscan: rank %d of %d: stopped by the MPI launcher (SIGTERM): another rank ended or the job was "
             "cancelled; a training stage resumes from its last checkpoint\n", dist_rank, dist_size);
    signal(SIGTERM, on_sigterm);
  }
  if (provided < MPI_THREAD_FUNNELED) {
    fprintf(stderr, "scan: this MPI library gives no thread support (MPI_THREAD_FUNNELED), which scan needs\n");
    scan_dist_abort(1);
  }
#else
  (void)argc;
  (void)argv;
#endif
  return 0;
}

void scan_dist_finalize(void) {
#ifdef SCAN_WITH_MPI
  if (dist_mpi) MPI_Finalize();
  dist_mpi = 0;
#endif
}

void scan_dist_abort(int code) {
  fflush(stdout);
  fflush(stderr);
#ifdef SCAN_WITH_MPI
  if (dist_mpi) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  exit(code);
}

int scan_dist_rank(void) { return dist_rank; }
int scan_dist_size(void) { return dist_size; }
int scan_dist_is_root(void) { return dist_rank == 0; }

void scan_dist_share(long total, int rank, int size, long *first, long *count) {
  long base = total / size, extra = total % size;
  *count = base + (rank < extra);
  *first = (long)rank * base + (rank < extra ? rank : extra);
}

#ifdef SCAN_WITH_MPI
/* MPI counts are int: larger blocks go in pieces. */
enum { CHUNK = INT_MAX / 8 };

static void sum_in_place(void *data, long count, MPI_Datatype type, size_t element) {
  for (long done = 0; done < count; done += CHUNK) {
    long n = count - done < CHUNK ? count - done : CHUNK;
    MPI_Allreduce(MPI_IN_PLACE, (char *)data + (size_t)done * element, (int)n, type, MPI_SUM, MPI_COMM_WORLD);
  }
}
#endif

void scan_dist_sum_floats(float *data, long count) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1) sum_in_place(data, count, MPI_FLOAT, sizeof(float));
#else
  (void)data;
  (void)count;
#endif
}

#ifdef SCAN_WITH_MPI
/* The sums in flight, in start order: a handle is an index here until scan_dist_wait_all. */
static MPI_Request *pending;
static int pending_count, pending_capacity;
#endif

int scan_dist_sum_floats_start(const float *in, float *out, long count) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1) {
    if (count > SCAN_DIST_MAX_COUNT) {
      fprintf(stderr, "scan: a non-blocking sum of %ld floats is too large for one MPI call\n", count);
      scan_dist_abort(1);
    }
    if (pending_count == pending_capacity) {
      int capacity = pending_capacity ? 2 * pending_capacity : 64;
      MPI_Request *grown = realloc(pending, sizeof *grown * (size_t)capacity);
      if (!grown) {
        fprintf(stderr, "scan: out of memory for %d sums in flight\n", capacity);
        scan_dist_abort(1);
      }
      pending = grown;
      pending_capacity = capacity;
    }
    MPI_Iallreduce(in, out, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &pending[pending_count]);
    return pending_count++;
  }
#endif
  memcpy(out, in, (size_t)count * sizeof(float));
  return -1;
}

int scan_dist_test(int handle) {
#ifdef SCAN_WITH_MPI
  if (handle >= 0 && handle < pending_count) {
    int done = 0; /* a completed request becomes MPI_REQUEST_NULL, which tests as done again */
    MPI_Test(&pending[handle], &done, MPI_STATUS_IGNORE);
    return done;
  }
#else
  (void)handle;
#endif
  return 1;
}

void scan_dist_wait_all(void) {
#ifdef SCAN_WITH_MPI
  if (pending_count) MPI_Waitall(pending_count, pending, MPI_STATUSES_IGNORE);
  pending_count = 0;
#endif
}

void scan_dist_sum_doubles(double *data, long count) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1) sum_in_place(data, count, MPI_DOUBLE, sizeof(double));
#else
  (void)data;
  (void)count;
#endif
}

void scan_dist_gather_floats(const float *local, float *out, const long *counts) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1) {
    int *recv = malloc(sizeof(int) * 2 * (size_t)dist_size);
    if (!recv) {
      fprintf(stderr, "scan: out of memory for an all-gather\n");
      scan_dist_abort(1);
    }
    int *displs = recv + dist_size;
    long offset = 0;
    for (int r = 0; r < dist_size; r++) {
      if (counts[r] > INT_MAX || offset > INT_MAX) {
        fprintf(stderr, "scan: an all-gather of %ld floats is too large for one MPI call\n", offset + counts[r]);
        scan_dist_abort(1);
      }
      recv[r] = (int)counts[r];
      displs[r] = (int)offset;
      offset += counts[r];
    }
    MPI_Allgatherv(local, recv[dist_rank], MPI_FLOAT, out, recv, displs, MPI_FLOAT, MPI_COMM_WORLD);
    free(recv);
    return;
  }
#endif
  for (long i = 0; i < counts[0]; i++) out[i] = local[i];
}

#ifdef SCAN_WITH_MPI
/* MPI's int counts and displacements of a rank-ordered gather (stops every rank when one does not fit). */
static int *gather_layout(const long *counts) {
  int *recv = malloc(sizeof(int) * 2 * (size_t)dist_size);
  if (!recv) {
    fprintf(stderr, "scan: out of memory for a gather\n");
    scan_dist_abort(1);
  }
  long offset = 0;
  for (int r = 0; r < dist_size; r++) {
    if (counts[r] > INT_MAX || offset > INT_MAX) {
      fprintf(stderr, "scan: a gather of %ld elements is too large for one MPI call\n", offset + counts[r]);
      scan_dist_abort(1);
    }
    recv[r] = (int)counts[r];
    recv[dist_size + r] = (int)offset;
    offset += counts[r];
  }
  return recv;
}
#endif

void scan_dist_all_gather_floats_in_place(float *data, const long *counts) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1) {
    int *recv = gather_layout(counts);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, recv, recv + dist_size, MPI_FLOAT, MPI_COMM_WORLD);
    free(recv);
  }
#else
  (void)data;
  (void)counts;
#endif
}

void scan_dist_gather_int64_in_place(int64_t *data, const long *counts, int root) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1) {
    int *recv = gather_layout(counts);
    if (dist_rank == root)
      MPI_Gatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, recv, recv + dist_size, MPI_INT64_T, root, MPI_COMM_WORLD);
    else
      MPI_Gatherv(data + recv[dist_size + dist_rank], recv[dist_rank], MPI_INT64_T, NULL, NULL, NULL, MPI_INT64_T, root,
                  MPI_COMM_WORLD);
    free(recv);
  }
#else
  (void)data;
  (void)counts;
  (void)root;
#endif
}

int scan_dist_any(int failed) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1) {
    int mine = failed != 0, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any;
  }
#endif
  return failed != 0;
}

void scan_dist_broadcast(void *data, long bytes, int root) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1)
    for (long done = 0; done < bytes; done += CHUNK) {
      long n = bytes - done < CHUNK ? bytes - done : CHUNK;
      MPI_Bcast((char *)data + done, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
    }
#else
  (void)data;
  (void)bytes;
  (void)root;
#endif
}

void scan_dist_barrier(void) {
#ifdef SCAN_WITH_MPI
  if (dist_size > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}
