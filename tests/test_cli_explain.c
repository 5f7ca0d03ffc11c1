/* scan explain from the command line: a bad image file is bad input (exit 2) and the message names
 * the file; a bad --method is a usage error. (The explanations themselves are tested in
 * test_pipeline_explain.c; a whole run in test_cli_pipeline.c.) */
#include <stdio.h>
#include <string.h>

#include "testlib.h"

static char output[1 << 14];

int main(void) {
  const char *tmp = test_tmpdir();
  char image[512], command[2048];
  snprintf(image, sizeof image, "%s/corrupt.png", tmp);
  /* a PNG signature followed by garbage */
  const unsigned char bytes[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3, 4, 5, 6, 7, 8, 9};
  CHECK(test_write_file(image, bytes, sizeof bytes) == 0);
  snprintf(command, sizeof command, "%s explain --image %s --out %s/run --quiet", test_scan_bin(), image, tmp);
  int rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, image) != NULL, "corrupt image: exit %d, output:\n%s", rc, output);

  snprintf(command, sizeof command, "%s explain --image %s/missing.jpg --out %s/run --quiet", test_scan_bin(), tmp, tmp);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "missing.jpg") != NULL, "missing image: exit %d, output:\n%s", rc, output);

  snprintf(command, sizeof command, "%s explain --method shap --out %s/run", test_scan_bin(), tmp);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "shap") != NULL, "bad method: exit %d, output:\n%s", rc, output);
  return test_main_end();
}
