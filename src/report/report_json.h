/* Small readers for the JSON files the stages write (internal to src/report). */
#ifndef SCAN_REPORT_JSON_H
#define SCAN_REPORT_JSON_H

#include <cjson/cJSON.h>

#include "scan/error.h"

/* Parses a whole JSON file into *out; *out NULL (and SCAN_OK) when the file is absent. A file that is there
 * but cannot be read or does not parse is SCAN_ERR_INPUT naming it: a report must not hide a broken run. */
scan_status report_read_json(const char *path, cJSON **out);
/* A JSON-lines log into an array of objects, the same way: absent is NULL, a record that does not parse is an
 * error naming the file and record. */
scan_status report_read_jsonl(const char *path, cJSON **out);
/* Number value of `key`, or `fallback` when absent or not a number. */
double report_number(const cJSON *object, const char *key, double fallback);

#endif
