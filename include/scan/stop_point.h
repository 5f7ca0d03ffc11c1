/* Deterministic kills for tests. SCAN_TEST_STOP_AT=NAME (or NAME#N: the N-th time) makes the process kill itself
 * with SIGKILL when it reaches the named point, exactly as a kill from outside would land there, but always at the
 * same place. Points: "checkpoint-written:<stage>" after a training checkpoint is in place, and
 * "before-rename:<file name>" inside an atomic write, after the temporary is complete and before it is renamed.
 * Under mpirun every rank stops there unless SCAN_TEST_STOP_RANK=R names one rank (R of MPI_COMM_WORLD): the others
 * go on, as when one node of a job dies. "checkpoint-written" comes after a barrier, so the checkpoint rank 0 wrote is
 * in place whichever rank stops. */
#ifndef SCAN_STOP_POINT_H
#define SCAN_STOP_POINT_H

/* `name` and (may be NULL) `detail` form "name:detail". Does nothing unless SCAN_TEST_STOP_AT matches. */
void scan_stop_point(const char *name, const char *detail);

#endif
