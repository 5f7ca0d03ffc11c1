/* The selection as a VOC ImageSets list (spec §17.2 steps 3-4): one pool name per line without its image
 * extension, and, for a VOC root, the check that each selected name has an annotation. */
#include <stdio.h>
#include <string.h>

#include "curate_internal.h"
#include "scan/atomic_file.h"

/* Names of selected images with no <voc_root>/Annotations/<name>.xml, written to missing_annotations_nn<K>.txt. */
static scan_status check_annotations(const curate_state *s, int which_k, scan_curate_k_result *out) {
  const scan_curate_request *req = s->req;
  char list_path[SCAN_PATH_MAX];
  SCAN_TRY(curate_path(req, list_path, sizeof list_path, "missing_annotations_nn%d.txt", out->k));
  scan_atomic_file af;
  SCAN_TRY(scan_atomic_open(&af, list_path));
  out->missing_annotations = 0;
  for (int64_t i = 0; i < s->selected_count[which_k]; i++) {
    char name[SCAN_PATH_MAX], xml[SCAN_PATH_MAX];
    scan_curate_strip_extension(req->pool_names[s->selected[which_k][i]], name, sizeof name);
    scan_status status = scan_path_format(xml, sizeof xml, "%s/Annotations/%s.xml", req->voc_root, name);
    if (status != SCAN_OK) {
      scan_atomic_abort(&af);
      return status;
    }
    if (scan_file_exists(xml)) continue;
    fprintf(af.file, "%s\n", name);
    out->missing_annotations++;
  }
  snprintf(out->missing_list, sizeof out->missing_list, "%s", list_path);
  return scan_atomic_commit(&af);
}

scan_status curate_write_image_set(const curate_state *s, int which_k, scan_curate_k_result *out) {
  const scan_curate_request *req = s->req;
  SCAN_TRY(curate_path(req, out->image_set, sizeof out->image_set, "ImageSets/scan_nn%d.txt", out->k));
  scan_atomic_file af;
  SCAN_TRY(scan_atomic_open(&af, out->image_set)); /* replaces an earlier list, as the reference does */
  for (int64_t i = 0; i < s->selected_count[which_k]; i++) {
    char name[SCAN_PATH_MAX];
    scan_curate_strip_extension(req->pool_names[s->selected[which_k][i]], name, sizeof name);
    fprintf(af.file, "%s\n", name);
  }
  SCAN_TRY(scan_atomic_commit(&af));
  out->missing_annotations = -1;
  if (req->voc_root) SCAN_TRY(check_annotations(s, which_k, out));
  return SCAN_OK;
}
