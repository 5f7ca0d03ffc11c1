/* A training stage's convolution plan: the algorithm measured for each layer (include/scan/conv_tune.h), kept in
 * <run>/<stage>/conv_plan.json, one per stage because each stage trains its own net at its own batch. A rerun or a
 * resume of the stage finds the file and runs the same algorithms (the same bits, with the same threads) instead of
 * measuring again, whose noise could pick others.
 *
 * A plan that does not fit the net is refused (SCAN_ERR_INPUT naming the file), never re-measured behind the
 * user's back: a layer it does not name, a shape other than the net's (another model, batch or activation layout:
 * SCAN_ONEDNN_BLOCK, or an AVX-512 run resumed on an AVX2 machine, whose layout is 8 channels instead of 16), or an
 * algorithm that does not run there (oneDNN's Winograd on an AVX2 machine). The message says to delete the file to
 * measure again. A plan measured with another thread count or ISA cap still fits and is used, with a note.
 *
 * The file (JSON): format 1, batch, block, isa_cap, threads, machine (scan bench's description line) and layers: for
 * each convolution in order, its name, shape, algorithm and every algorithm's measured milliseconds. */
#ifndef SCAN_CONV_PLAN_H
#define SCAN_CONV_PLAN_H

#include <stdio.h>

#include "scan/conv_tune.h"

/* Writes the plan of net's current algorithms at batch n with their timings (scan_net_conv_count entries),
 * atomically. */
scan_status scan_conv_plan_write(const char *path, const scan_net *net, int n, const scan_conv_timing *timings);
/* Sets net's algorithms from the plan at path, checking it fits the net at batch n (above). log (may be NULL)
 * receives the note about another thread count or ISA cap. */
scan_status scan_conv_plan_apply(const char *path, scan_net *net, int n, FILE *log);
/* What a training stage does with conv_algorithm: measure: applies <dir>/conv_plan.json when it exists, else
 * measures at batch n (the lines go to log) and writes it. In a data-parallel run rank 0 measures and the other ranks
 * take its choices. */
scan_status scan_conv_plan_for_stage(const char *dir, scan_net *net, int n, FILE *log);

#endif
