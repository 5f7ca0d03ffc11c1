/* Small readers for the JSON files the stages write (internal to src/report). */
#ifndef SCAN_REPORT_JSON_H
#define SCAN_REPORT_JSON_H

#include <cjson/cJSON.h>

/* Parses a whole JSON file; NULL when it is absent or unreadable. */
cJSON *report_read_json(const char *path);
/* Parses a JSON-lines file into an array of objects (lines that do not parse are skipped); NULL when absent. */
cJSON *report_read_jsonl(const char *path);
/* Number value of `key`, or `fallback` when absent or not a number. */
double report_number(const cJSON *object, const char *key, double fallback);

#endif
