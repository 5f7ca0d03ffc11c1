/* scan config show: prints the fully resolved configuration (every default filled in, each key with its
 * one-line description), after --config and --set. Also a quick check that a config file is valid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/atomic_file.h"
#include "stage_common.h"

static int show(const stage_options *o) {
  scan_config *cfg = NULL;
  int rc = stage_load_config(o, &cfg);
  if (rc) return rc;
  char path[] = "/tmp/scan-config-XXXXXX";
  int fd = mkstemp(path);
  scan_status status = fd >= 0 ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "cannot create a temporary file");
  if (fd >= 0) close(fd);
  if (status == SCAN_OK) status = scan_config_write(cfg, path);
  unsigned char *text = NULL;
  size_t size = 0;
  if (status == SCAN_OK) status = scan_read_file(path, &text, &size);
  if (status == SCAN_OK) fwrite(text, 1, size, stdout);
  free(text);
  unlink(path);
  scan_config_free(cfg);
  return cli_report_error(status);
}

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
  return show(&o);
}
