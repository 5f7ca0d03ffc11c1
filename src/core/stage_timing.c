/* The wall time of the stages that keep no per-epoch log (mine, eval, explain), so the report can show
 * every stage's time and rate whether the stage ran alone or inside `scan run`. */
#include <cjson/cJSON.h>

#include "scan/atomic_file.h"
#include "scan/pipeline.h"

scan_status scan_pipeline_write_timing(const scan_pipeline *p, const char *relative, double seconds, long images) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, relative));
  cJSON *json = cJSON_CreateObject();
  if (!json) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  cJSON_AddNumberToObject(json, "seconds", seconds);
  cJSON_AddNumberToObject(json, "images", (double)images);
  if (seconds > 0) cJSON_AddNumberToObject(json, "images_per_second", (double)images / seconds);
  scan_status status = scan_write_json_atomic(path, json);
  cJSON_Delete(json);
  return status;
}
