#include "stage_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/progress.h"

void stage_options_init(stage_options *o) {
  memset(o, 0, sizeof *o);
  o->threads = -1;
}

int cli_report_error(scan_status status) {
  if (status == SCAN_OK) return 0;
  fprintf(stderr, "scan: %s\n", scan_error_message());
  return status == SCAN_ERR_INPUT ? 2 : 1;
}

/* Without --config, a run directory that already has a config.yml keeps using it (so `scan report --out RUN`
   or `scan eval --out RUN` see the configuration the run was trained with); otherwise the built-in defaults. */
static const char *config_to_load(const stage_options *o, char *buf, size_t size) {
  if (o->config_path) return o->config_path;
  snprintf(buf, size, "%s/config.yml", o->out ? o->out : "runs/fashion-mnist");
  FILE *f = fopen(buf, "r");
  if (!f) return NULL;
  fclose(f);
  return buf;
}

scan_status stage_config_set_string(scan_config *cfg, const char *key, const char *value) {
  size_t size = strlen(key) + 2 * strlen(value) + 4;
  char *assignment = scan_malloc(size);
  if (!assignment) return SCAN_ERR_INTERNAL;
  char *w = assignment + sprintf(assignment, "%s='", key);
  for (const char *c = value; *c; c++) {
    if (*c == '\'') *w++ = '\''; /* YAML doubles a quote inside single quotes */
    *w++ = *c;
  }
  *w++ = '\'';
  *w = '\0';
  scan_status status = scan_config_set(cfg, assignment);
  free(assignment);
  return status;
}

scan_status stage_apply_data_options(const stage_options *o, scan_config *cfg) {
  const char *train = NULL, *val = NULL;
  SCAN_TRY(scan_config_get_string(cfg, NULL, "train_db_name", &train));
  SCAN_TRY(scan_config_get_string(cfg, NULL, "val_db_name", &val));
  /* Decided before any assignment: the strings belong to the config and change with it. The validation root
     needs no such rule: an empty val_data_root already means data_root. */
  const int val_follows = strcmp(train, val) == 0;
  if (o->dataset) SCAN_TRY(stage_config_set_string(cfg, "train_db_name", o->dataset));
  if (o->val_dataset) SCAN_TRY(stage_config_set_string(cfg, "val_db_name", o->val_dataset));
  else if (o->dataset && val_follows) SCAN_TRY(stage_config_set_string(cfg, "val_db_name", o->dataset));
  if (o->root) SCAN_TRY(stage_config_set_string(cfg, "data_root", o->root));
  if (o->val_root) SCAN_TRY(stage_config_set_string(cfg, "val_data_root", o->val_root));
  return SCAN_OK;
}

int stage_load_config(const stage_options *o, scan_config **cfg) {
  *cfg = NULL;
  char run_config[1300];
  scan_status status = scan_config_load(cfg, config_to_load(o, run_config, sizeof run_config));
  for (int i = 0; status == SCAN_OK && i < o->sets.count; i++) status = scan_config_set(*cfg, o->sets.items[i]);
  if (status == SCAN_OK && o->threads >= 0) {
    char assignment[64];
    snprintf(assignment, sizeof assignment, "threads=%d", o->threads);
    status = scan_config_set(*cfg, assignment);
  }
  if (status == SCAN_OK) status = stage_apply_data_options(o, *cfg);
  if (status != SCAN_OK) {
    if (*cfg) scan_config_free(*cfg);
    *cfg = NULL;
    return cli_report_error(status);
  }
  return 0;
}

/* write_config = 0: the command only reads the run (its outputs go elsewhere), so the run's config.yml keeps
   describing how the run was trained, whatever --set this command was given. */
static int open_run(const stage_options *o, scan_config **cfg, scan_pipeline *p, int write_config) {
  scan_progress_set_quiet(o->quiet);
  int rc = stage_load_config(o, cfg);
  if (rc) return rc;
  scan_status status = SCAN_OK;
  char default_out[256];
  const char *out = o->out;
  if (status == SCAN_OK && !out) {
    const char *db = "run";
    status = scan_config_get_string(*cfg, NULL, "train_db_name", &db);
    snprintf(default_out, sizeof default_out, "runs/%s", db);
    out = default_out;
  }
  if (status == SCAN_OK) status = scan_pipeline_open(p, *cfg, out);
  if (status == SCAN_OK && write_config) {
    char path[1300];
    status = scan_config_write(*cfg, scan_pipeline_path(p, path, sizeof path, "config.yml"));
  }
  if (status != SCAN_OK) {
    if (*cfg) scan_config_free(*cfg);
    *cfg = NULL;
    return cli_report_error(status);
  }
  return 0;
}

int stage_open(const stage_options *o, scan_config **cfg, scan_pipeline *p) { return open_run(o, cfg, p, 1); }

int stage_open_reader(const stage_options *o, scan_config **cfg, scan_pipeline *p) { return open_run(o, cfg, p, 0); }

void stage_close(scan_config *cfg, scan_pipeline *p) {
  scan_pipeline_close(p);
  if (cfg) scan_config_free(cfg);
}

int stage_command_main(int argc, char **argv, stage_fn fn, const char *usage, const char *description) {
  stage_options o;
  stage_options_init(&o);
  const arg_option options[] = {STAGE_OPTIONS(o), {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, usage, description);
  if (rc) return rc < 0 ? 0 : rc;
  scan_config *cfg;
  scan_pipeline p;
  rc = stage_open(&o, &cfg, &p);
  if (rc) return rc;
  rc = cli_report_error(fn(&p));
  if (rc == 0) printf("%s: done, outputs in %s\n", argv[0], p.run_dir);
  stage_close(cfg, &p);
  return rc;
}
