#ifndef SCAN_REPORT_CURVES_H
#define SCAN_REPORT_CURVES_H

#include "scan/pipeline.h"

/* Training curves from the stages' log.jsonl files, as PNG line charts in <run>/report/. */
scan_status report_write_curves(scan_pipeline *p);

#endif
