#include "stage_common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/dist.h"
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

void cli_file_stem(const char *path, char *stem, size_t size) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = 0;
  for (; base[n] && base[n] != '.' && n + 1 < size; n++)
    stem[n] = isalnum((unsigned char)base[n]) || base[n] == '-' || base[n] == '_' ? base[n] : '_';
  stem[n] = '\0';
  if (n == 0) snprintf(stem, size, "image");
}

/* The run directory a command works in: --out, else runs/<train_db_name> (before the configuration is loaded,
   that of the built-in default dataset). */
static scan_status run_directory(const stage_options *o, const scan_config *cfg, char *buf, size_t size,
                                 const char **out) {
  *out = o->out;
  if (o->out) return SCAN_OK;
  const char *db = "fashion-mnist";
  if (cfg && scan_config_get_string(cfg, NULL, "train_db_name", &db) != SCAN_OK) scan_error_clear();
  *out = buf;
  return scan_path_join(buf, size, "runs", db);
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

/* A directory that some stage already wrote into. Every name is shorter than "config.yml", whose path the caller
   has built: the joins cannot fail. */
static int holds_run_outputs(const char *dir) {
  static const char *const outputs[] = {".stamps", "pretext", "cluster", "scan", "selflabel", "eval"};
  for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
    char path[SCAN_PATH_MAX];
    if (scan_path_join(path, sizeof path, dir, outputs[i]) == SCAN_OK && scan_file_exists(path)) return 1;
  }
  return 0;
}

/* Without --config, a run directory that already has a config.yml keeps using it (so `scan report --out RUN`
   or `scan eval --out RUN` see the configuration the run was trained with), and it must be intact: a damaged one
   is refused rather than completed from defaults. A run directory with outputs but no config.yml is refused too:
   the built-in defaults are most likely not what it was trained with. Otherwise the built-in defaults. */
static scan_status load_base_config(const stage_options *o, scan_config **cfg) {
  if (o->config_path) return scan_config_load(cfg, o->config_path);
  char path[SCAN_PATH_MAX], dir[SCAN_PATH_MAX];
  const char *out = NULL;
  SCAN_TRY(run_directory(o, NULL, dir, sizeof dir, &out));
  SCAN_TRY(scan_path_join(path, sizeof path, out, "config.yml"));
  if (scan_file_exists(path)) return scan_config_load_run(cfg, path);
  if (holds_run_outputs(out))
    return scan_fail(SCAN_ERR_INPUT,
                     "%s: no config.yml in this run directory, which holds a run's outputs; pass the configuration it "
                     "was run with (--config FILE)",
                     out);
  return scan_config_load(cfg, NULL);
}

int stage_load_config(const stage_options *o, scan_config **cfg) {
  *cfg = NULL;
  scan_status status = load_base_config(o, cfg);
  for (int i = 0; status == SCAN_OK && i < o->sets.count; i++) status = scan_config_set(*cfg, o->sets.items[i]);
  if (status == SCAN_OK && o->threads >= 0) {
    char assignment[64];
    snprintf(assignment, sizeof assignment, "threads=%d", o->threads);
    status = scan_config_set_from(*cfg, assignment, "--threads");
  }
  if (status == SCAN_OK) status = stage_apply_data_options(o, *cfg);
  if (status == SCAN_OK) status = scan_config_validate(*cfg);
  if (status != SCAN_OK) {
    if (*cfg) scan_config_free(*cfg);
    *cfg = NULL;
    return cli_report_error(status);
  }
  return 0;
}

/* The training stages, which resume from a checkpoint; "run" is every stage. */
static int resumes(const char *stage) {
  return stage && (!strcmp(stage, "pretext") || !strcmp(stage, "cluster") || !strcmp(stage, "selflabel"));
}

/* Everything that can refuse the command happens before the first write into the run directory: validation (in
   stage_load_config and scan_pipeline_open), the lock, the configuration against the data, the resume check. Only
   then is config.yml rewritten. write_config = 0: the command only reads the run (its outputs go elsewhere, or
   into its own subdirectory under the lock), so the run's config.yml keeps describing how the run was trained,
   whatever --set or data option this command was given. */
static int open_run(const stage_options *o, const char *stage, scan_config **cfg, scan_pipeline *p,
                    int write_config) {
  scan_progress_set_quiet(o->quiet);
  /* A refusal before scan_pipeline_open still ends in stage_close: it must find a closed pipeline, not garbage. */
  memset(p, 0, sizeof *p);
  p->lock_fd = -1;
  int rc = stage_load_config(o, cfg);
  if (rc) return rc;
  char default_out[SCAN_PATH_MAX], path[SCAN_PATH_MAX];
  const char *out = NULL;
  scan_status status = run_directory(o, *cfg, default_out, sizeof default_out, &out);
  /* Checked before scan_pipeline_open, which would create the directory. */
  if (status == SCAN_OK) status = scan_path_join(path, sizeof path, out, "config.yml");
  if (status == SCAN_OK && o->existing_run && !scan_file_exists(path))
    status = scan_fail(SCAN_ERR_INPUT, "%s: not a run directory (no config.yml); give --out of a run that a stage wrote", out);
  if (status == SCAN_OK) status = scan_pipeline_open(p, *cfg, out);
  if (status == SCAN_OK) status = scan_pipeline_lock(p);
  if (status == SCAN_OK && stage) status = scan_pipeline_check_data(p, strcmp(stage, "run") == 0 ? NULL : stage);
  if (status == SCAN_OK && resumes(stage)) status = scan_pipeline_check_resume(p, stage, o->restart);
  if (status == SCAN_OK && write_config) status = scan_pipeline_path(p, path, sizeof path, "config.yml");
  if (status == SCAN_OK && write_config) status = scan_config_write(p->cfg, path);
  if (status != SCAN_OK) {
    stage_close(*cfg, p);
    *cfg = NULL;
    return cli_report_error(status);
  }
  return 0;
}

int stage_open(const stage_options *o, scan_config **cfg, scan_pipeline *p) { return open_run(o, NULL, cfg, p, 1); }

int stage_open_reader(const stage_options *o, scan_config **cfg, scan_pipeline *p) {
  return open_run(o, NULL, cfg, p, 0);
}

void stage_close(scan_config *cfg, scan_pipeline *p) {
  scan_pipeline_close(p);
  if (cfg) scan_config_free(cfg);
}

static int command_main(int argc, char **argv, stage_fn fn, const char *stage, const char *usage,
                        const char *description, int existing_run) {
  stage_options o;
  stage_options_init(&o);
  o.existing_run = existing_run;
  const arg_option resuming[] = {STAGE_OPTIONS(o), STAGE_RESTART_OPTION(o), {NULL, 0, NULL, NULL}};
  const arg_option plain[] = {STAGE_OPTIONS(o), {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, resumes(stage) ? resuming : plain, NULL, usage, description);
  if (rc) return rc < 0 ? 0 : rc;
  scan_config *cfg;
  scan_pipeline p;
  rc = open_run(&o, stage, &cfg, &p, 1);
  if (rc) return rc;
  rc = cli_report_error(fn(&p));
  if (rc == 0 && scan_dist_is_root()) printf("%s: done, outputs in %s\n", argv[0], p.run_dir);
  stage_close(cfg, &p);
  return rc;
}

int stage_command_main(int argc, char **argv, stage_fn fn, const char *stage, const char *usage,
                       const char *description) {
  return command_main(argc, argv, fn, stage, usage, description, 0);
}

int stage_command_main_on_run(int argc, char **argv, stage_fn fn, const char *usage, const char *description) {
  return command_main(argc, argv, fn, NULL, usage, description, 1);
}
