#include "stage_common.h"

#include <stdio.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/progress.h"
#include "terminal.h"

void stage_options_init(stage_options *o) {
  memset(o, 0, sizeof *o);
  o->threads = -1;
}

int cli_report_error(scan_status status) {
  if (status == SCAN_OK) return 0;
  char safe[8192]; /* messages quote file and class names, which may hold escape codes */
  fprintf(stderr, "scan: %s\n", terminal_safe(scan_error_message(), safe, sizeof safe));
  return status == SCAN_ERR_INPUT ? 2 : 1;
}

/* Without --config, a run directory that already has a config.yml keeps using it (so `scan report --out RUN`
   or `scan eval --out RUN` see the configuration the run was trained with); otherwise the built-in defaults. */
static const char *config_to_load(const stage_options *o, char *buf, size_t size) {
  if (o->config_path) return o->config_path;
  snprintf(buf, size, "%s/config.yml", o->out ? o->out : "runs/fashion-mnist");
  return scan_file_exists(buf) ? buf : NULL; /* stat: fopen would wait on a FIFO; the loader refuses one */
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
  if (status != SCAN_OK) {
    if (*cfg) scan_config_free(*cfg);
    *cfg = NULL;
    return cli_report_error(status);
  }
  return 0;
}

int stage_open(const stage_options *o, scan_config **cfg, scan_pipeline *p) {
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
  char run_config[1300];
  snprintf(run_config, sizeof run_config, "%s/config.yml", out ? out : "");
  /* Checked before scan_pipeline_open, which would create the directory. */
  if (status == SCAN_OK && o->existing_run && !scan_file_exists(run_config))
    status = scan_fail(SCAN_ERR_INPUT, "%s: not a run directory (no config.yml); give --out of a run that a stage wrote", out);
  if (status == SCAN_OK) status = scan_pipeline_open(p, *cfg, out);
  if (status == SCAN_OK) {
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

void stage_close(scan_config *cfg, scan_pipeline *p) {
  scan_pipeline_close(p);
  if (cfg) scan_config_free(cfg);
}

static int command_main(int argc, char **argv, stage_fn fn, const char *usage, const char *description,
                        int existing_run) {
  stage_options o;
  stage_options_init(&o);
  o.existing_run = existing_run;
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

int stage_command_main(int argc, char **argv, stage_fn fn, const char *usage, const char *description) {
  return command_main(argc, argv, fn, usage, description, 0);
}

int stage_command_main_on_run(int argc, char **argv, stage_fn fn, const char *usage, const char *description) {
  return command_main(argc, argv, fn, usage, description, 1);
}
