/* Options every stage command shares: --config FILE, --set key=value (repeatable),
 * --out DIR (the run directory), --threads N, --quiet, and the data options --dataset NAME,
 * --root DIR, --val-dataset NAME, --val-root DIR (shorthands for config keys, applied after --set). */
#ifndef SCAN_CLI_STAGE_COMMON_H
#define SCAN_CLI_STAGE_COMMON_H

#include "args.h"
#include "scan/pipeline.h"

typedef struct {
  const char *config_path;
  const char *out;
  arg_list sets;
  int threads;
  int quiet;
  const char *dataset, *root, *val_dataset, *val_root;
  int restart;
  int existing_run; /* the run directory must exist already (it has config.yml): commands that only read a run */
} stage_options;

/* The configuration options alone, for commands that read the config but own no run directory. */
#define STAGE_CONFIG_OPTIONS(o)                                                                           \
  {"--config", ARG_STRING, &(o).config_path, "YAML config (reference experiment file or pipeline file)"}, \
      {"--set", ARG_LIST, &(o).sets, "override a config key, e.g. --set pretext.epochs=5 (repeatable)"}

/* The datasets a command reads, as config keys: train_db_name, data_root, val_db_name, val_data_root. */
#define STAGE_DATA_OPTIONS(o)                                                                                     \
  {"--dataset", ARG_STRING, &(o).dataset, "training images: fashion-mnist, mnist, cifar-10, cifar-20, cifar-100, " \
                                          "stl-10, folder, list (train_db_name; val follows unless set apart)"},   \
      {"--root", ARG_STRING, &(o).root, "where the dataset lives: a folder, or the list file (data_root)"},         \
      {"--val-dataset", ARG_STRING, &(o).val_dataset, "validation images, when not the training set (val_db_name)"}, \
      {"--val-root", ARG_STRING, &(o).val_root, "where the validation dataset lives (val_data_root)"}

/* The run directory and how to run. */
#define STAGE_RUN_OPTIONS(o)                                                                              \
  {"--out", ARG_STRING, &(o).out, "run directory (default runs/fashion-mnist)"},                          \
      {"--threads", ARG_INT, &(o).threads, "compute threads (default: config 'threads', 0 = all cores)"}, \
      {"--quiet", ARG_BOOL, &(o).quiet, "no progress output"}

/* For the training stages, which resume from a checkpoint. */
#define STAGE_RESTART_OPTION(o) \
  {"--restart", ARG_BOOL, &(o).restart, "discard this stage's checkpoint and log and start it afresh"}

/* The common options, to be placed first in a command's option table. */
#define STAGE_OPTIONS(o) STAGE_CONFIG_OPTIONS(o), STAGE_DATA_OPTIONS(o), STAGE_RUN_OPTIONS(o)

void stage_options_init(stage_options *o);
/* Applies the data options to a loaded config. Without --val-dataset, the validation set follows --dataset
   unless the config names a validation dataset other than its training one (e.g. a reference file that
   trains on stl-10 train+unlabeled and validates on cifar-10); without --val-root it follows --root unless
   the config sets val_data_root. Returns the status of the first assignment that fails. */
scan_status stage_apply_data_options(const stage_options *o, scan_config *cfg);
/* "key='value'" through scan_config_set, quoted so that paths with ':', '#' or quotes survive. */
scan_status stage_config_set_string(scan_config *cfg, const char *key, const char *value);
/* Loads the config, applies --set, --threads and the data options and validates the result (the first half of
   stage_open).
   On failure prints the message and returns the exit status (2 or 1), with *cfg NULL; 0 on success. */
int stage_load_config(const stage_options *o, scan_config **cfg);
/* Loads the config, applies --set, opens and locks the run directory and writes config.yml into it; a refusal
   (bad value, directory in use) changes nothing in the run directory.
   On failure prints the message and returns the exit status (2 or 1); 0 on success. */
int stage_open(const stage_options *o, scan_config **cfg, scan_pipeline *p);
/* The same for a command that only reads the run (predict): config.yml is not rewritten. */
int stage_open_reader(const stage_options *o, scan_config **cfg, scan_pipeline *p);
void stage_close(scan_config *cfg, scan_pipeline *p);
/* The whole of a command that takes only the common options and runs `fn` on the run directory:
   parse, open, run, report errors, close. Prints "<command>: done, outputs in <run>" on success. `stage` names
   what the command runs ("pretext", "mine", "cluster", "selflabel", "run" for all of them; NULL for none of them): its
   relations to the data are checked before anything is written, and a training stage takes --restart and refuses
   before changing anything when its checkpoint was made under another configuration. */
typedef scan_status (*stage_fn)(scan_pipeline *p);
int stage_command_main(int argc, char **argv, stage_fn fn, const char *stage, const char *usage,
                       const char *description);
/* The same for a command that reads a run and must not create one (scan report). */
int stage_command_main_on_run(int argc, char **argv, stage_fn fn, const char *usage, const char *description);

/* Prints "scan: <message>" and returns the exit status for `status`. */
int cli_report_error(scan_status status);

/* The file name of `path` without directory and extension, anything but letters, digits, '-' and '_' replaced by
   '_' ("image" when nothing is left): a safe piece of an output name (scan explain --image, scan query). */
void cli_file_stem(const char *path, char *stem, size_t size);

#endif
