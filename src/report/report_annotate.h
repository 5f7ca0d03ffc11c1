/* The report as an annotation tool: a name box per cluster and a button that downloads labels.csv
 * (file_or_index, cluster, name per image), in plain HTML and JavaScript that works offline. */
#ifndef SCAN_REPORT_ANNOTATE_H
#define SCAN_REPORT_ANNOTATE_H

#include <stdio.h>

#include "scan/pipeline.h"

/* The name box of one cluster, pre-filled with `current` (may be NULL). */
void report_name_box(FILE *out, int cluster, const char *current);
/* The download button, the embedded predictions and the script; nothing when there are no predictions.
 * A predictions.csv that does not parse is SCAN_ERR_INPUT naming the file and line. */
scan_status report_annotation_tool(FILE *out, const scan_pipeline *p);

#endif
