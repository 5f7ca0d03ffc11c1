/* Every shipped config in configs/ loads and resolves, and the quick one equals the built-in default. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"

static char output[1 << 17], default_output[1 << 17];

int main(void) {
  char configs[1024], command[2048];
  snprintf(configs, sizeof configs, "%s/../../configs", test_data_dir());
  DIR *dir = opendir(configs);
  CHECK_MSG(dir != NULL, "no configs directory at %s", configs);
  if (!dir) return test_main_end();
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (!strstr(entry->d_name, ".yml")) continue;
    snprintf(command, sizeof command, "%s config show --config %s/%s", test_scan_bin(), configs, entry->d_name);
    int rc = test_run(command, output, sizeof output);
    CHECK_MSG(rc == 0, "%s does not load (exit %d):\n%s", entry->d_name, rc, output);
    count++;
  }
  closedir(dir);
  CHECK(count >= 6);
  /* The quick config only restates the defaults: both resolve to the same text apart from nothing. */
  snprintf(command, sizeof command, "%s config show --config %s/fashion-mnist-quick.yml", test_scan_bin(), configs);
  CHECK(test_run(command, output, sizeof output) == 0);
  snprintf(command, sizeof command, "cd %s && %s config show", test_tmpdir(), test_scan_bin());
  CHECK(test_run(command, default_output, sizeof default_output) == 0);
  CHECK_MSG(strcmp(output, default_output) == 0, "fashion-mnist-quick.yml should resolve to the built-in defaults");
  /* An unknown key is an error naming the file, the line and the key. */
  char bad[1024];
  snprintf(bad, sizeof bad, "%s/bad.yml", test_tmpdir());
  test_write_file(bad, "pretext:\n  epochs: 3\n  epoch_count: 5\n", 35);
  snprintf(command, sizeof command, "%s config show --config %s", test_scan_bin(), bad);
  int rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "bad.yml:3") && strstr(output, "epoch_count"), "rc %d: %s", rc, output);
  /* A reference experiment file shows the values a run resolves from its dataset, and the reference's schedule. */
  snprintf(command, sizeof command, "%s config show --config %s/reference_configs/simclr_stl10.yml", test_scan_bin(),
           test_data_dir());
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 0, "rc %d: %s", rc, output);
  static const char *const shown[] = {"      size: 96   #", "    crop_size: 96   #", "      length: 32   #",
                                      "mean: [0.485, 0.456, 0.406]", "  warmup_steps: 0   #", "head_warmup_epochs: 0   #"};
  for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
    CHECK_MSG(strstr(output, shown[i]) != NULL, "'%s' not in:\n%s", shown[i], output);
  CHECK_MSG(!strstr(output, "0.2860") && !strstr(output, ": 28   #") && !strstr(output, "warmup_steps: 100"), "%s", output);
  /* A key that could not be honoured is refused with its file and line (exit status 2). */
  test_write_file(bad, "train_db_name: cifar-10\ncluster:\n  augmentation_kwargs: {crop_size: 28}\n", 72);
  snprintf(command, sizeof command, "%s config show --config %s", test_scan_bin(), bad);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "bad.yml:3: key 'augmentation_kwargs.crop_size': 28 differs"), "rc %d: %s", rc, output);
  test_write_file(bad, "setup: selflabel\ncriterion: scan\n", 33);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "bad.yml:2: key 'criterion' is 'scan'"), "rc %d: %s", rc, output);
  /* Anything but `show` is a usage error. */
  snprintf(command, sizeof command, "%s config bogus", test_scan_bin());
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "show"), "rc %d: %s", rc, output);
  return test_main_end();
}
