/* report.html: one page a person opens in a browser, next to the figures it
 * shows, inside the run directory (so the folder works offline). It is built
 * only from the files the stages wrote, so it can be regenerated at any time. */
#ifndef SCAN_REPORT_H
#define SCAN_REPORT_H

#include <stdio.h>

#include "scan/pipeline.h"

/* Writes <run>/report.html (+ report/ curve charts) and stores its path in `path_out` (may be NULL). */
scan_status scan_report_write(scan_pipeline *p, char *path_out, int path_size);

/* A few lines a person reads first: each stage's wall time and the chosen head's metrics beside the baseline. */
void scan_run_summary(scan_pipeline *p, FILE *out);

#endif
