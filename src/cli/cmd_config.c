/* scan config show: prints the fully resolved configuration (every default filled in, each key with its
 * one-line description), after --config and --set, resolved from the dataset by the same function a run
 * uses (scan_pipeline_resolve_config). Also a quick check that a config file is valid. */
#include <stdio.h>
#include <string.h>

#include "stage_common.h"

int cmd_config(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  arg_list words = {0};
  const arg_option options[] = {STAGE_CONFIG_OPTIONS(o), {NULL, 0, NULL, NULL}};
  const char *usage = "scan config show [--config FILE] [--set K=V]";
  int rc = args_parse(argc, argv, options, &words, usage,
                      "Prints the resolved configuration: the built-in defaults, then FILE, then each --set.\n"
                      "An invalid file or value is reported with its file, line and key (exit status 2).");
  if (rc) return rc < 0 ? 0 : rc;
  if (words.count != 1 || strcmp(words.items[0], "show") != 0) {
    fprintf(stderr, "scan config: expected 'show' (usage: %s)\n", usage);
    return 2;
  }
  scan_config *cfg = NULL;
  rc = stage_load_config(&o, &cfg);
  if (rc) return rc;
  scan_status status = scan_pipeline_resolve_config(cfg, NULL);
  if (status == SCAN_OK) status = scan_config_print(cfg, stdout);
  rc = cli_report_error(status);
  scan_config_free(cfg);
  return rc;
}
