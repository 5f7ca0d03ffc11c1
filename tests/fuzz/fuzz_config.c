/* libFuzzer target: any YAML text either loads or is rejected with a message; what loads can be
 * looked up, hashed and written without crashing. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "scan/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  scan_config *c;
  if (scan_config_parse(&c, (const char *)data, size, "fuzz.yml") != SCAN_OK) return 0;
  static const char *const stages[] = {NULL, "pretext", "scan", "selflabel", "eval", "explain"};
  for (int s = 0; s < 6; s++) {
    double d[8];
    int i, n;
    const char *str;
    (void)scan_config_stage_hash(c, stages[s]);
    (void)scan_config_get_double(c, stages[s], "optimizer_kwargs.lr", d);
    (void)scan_config_get_int(c, stages[s], "epochs", &i);
    (void)scan_config_get_bool(c, stages[s], "use_ema", &i);
    (void)scan_config_get_string(c, stages[s], "backbone", &str);
    (void)scan_config_get_doubles(c, stages[s], "transformation_kwargs.normalize.mean", d, 8, &n);
  }
  char path[64];
  snprintf(path, sizeof path, "/tmp/fuzz_config_%ld.yml", (long)getpid());
  if (scan_config_write(c, path) == SCAN_OK) {
    /* What we write must load again. */
    scan_config *back;
    if (scan_config_load(&back, path) != SCAN_OK) __builtin_trap();
    scan_config_free(back);
  }
  unlink(path);
  scan_config_free(c);
  return 0;
}
