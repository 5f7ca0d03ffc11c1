/* scan_augment_sheet_png writes a PNG of originals and views, and refuses bad arguments. */
#include <stdio.h>
#include <string.h>

#include "scan/augment_sheet.h"
#include "testlib.h"

int main(void) {
  enum { COUNT = 6, S = 16 };
  static uint8_t pixels[COUNT * S * S * 3];
  for (int i = 0; i < (int)sizeof pixels; i++) pixels[i] = (uint8_t)(i * 31 % 251);
  int32_t labels[COUNT] = {0, 1, 0, 1, 0, 1};
  char *names[2] = {"cat", "dog"};
  scan_dataset d;
  memset(&d, 0, sizeof d);
  d.count = COUNT;
  d.height = d.width = S;
  d.channels = 3;
  d.pixels = pixels;
  d.labels = labels;
  d.num_classes = 2;
  d.class_names = names;
  strcpy(d.name, "test/sheet");
  scan_aug_config cfg;
  scan_aug_default(&cfg, SCAN_AUG_OURS, S, 3);
  char path[512];
  snprintf(path, sizeof path, "%s/sheet.png", test_tmpdir());
  CHECK(scan_augment_sheet_png(path, &d, &cfg, 3, 4, 7) == SCAN_OK);
  FILE *f = fopen(path, "rb");
  unsigned char magic[8] = {0};
  CHECK(f && fread(magic, 1, 8, f) == 8 && memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0);
  if (f) fclose(f);
  CHECK(scan_augment_sheet_png(path, &d, &cfg, 0, 4, 7) == SCAN_ERR_INPUT);
  scan_aug_config grey;
  scan_aug_default(&grey, SCAN_AUG_SIMCLR, S, 1);
  CHECK(scan_augment_sheet_png(path, &d, &grey, 2, 2, 7) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "test/sheet") != NULL);
  return test_main_end();
}
