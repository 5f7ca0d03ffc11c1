/* `scan bench` from the command line: the profile cases print each layer's forward and backward time and the kind
 * shares beside the usual result line (and stay out of --json's array), and bad arguments exit 2 with a message.
 * Timings are not asserted (tests never time anything); only that the table is there and complete. */
#include <stdio.h>
#include <string.h>

#include "testlib.h"

int main(void) {
  char command[1024], output[65536];
  snprintf(command, sizeof command, "%s bench no_such_case", test_scan_bin());
  CHECK(test_run(command, output, sizeof output) == 2 && strstr(output, "unknown case 'no_such_case'"));
  snprintf(command, sizeof command, "%s bench profile_vgg_b256 --repeats 65", test_scan_bin());
  CHECK(test_run(command, output, sizeof output) == 2 && strstr(output, "--repeats must be 0..64"));
  if (!test_light()) { /* the default VGG at batch 512: seconds under the sanitizers */
    snprintf(command, sizeof command, "%s bench profile_vgg_b256 --repeats 2", test_scan_bin());
    CHECK_MSG(test_run(command, output, sizeof output) == 0, "%s", output);
    CHECK_MSG(strstr(output, "profile: one training step at batch 512, ms per step (mean of 2 steps") &&
                  strstr(output, "conv backbone.features.0 1->16 28x28 s1") &&
                  strstr(output, "conv backbone.features.17 64->64 7x7 s1") && strstr(output, "maxpool 32 14x14->7x7") &&
                  strstr(output, "heads (1)") && strstr(output, "optimizer step") && strstr(output, "by kind: conv ") &&
                  strstr(output, "profile_vgg_b256") && strstr(output, "img/s"),
              "%s", output);
    /* --json: one array on stdout, the table beside it on stderr */
    snprintf(command, sizeof command, "{ %s bench profile_vgg_b256 --repeats 1 --json 2>/dev/null; }", test_scan_bin());
    CHECK_MSG(test_run(command, output, sizeof output) == 0, "%s", output);
    CHECK_MSG(output[0] == '[' && strstr(output, "\"name\": \"profile_vgg_b256\"") && !strstr(output, "by kind"), "%s", output);
  }
  /* The explanation cases (a warm-up pass, then the timed ones): one timed Grad-CAM of a 32x32 image by ResNet-18. */
  snprintf(command, sizeof command, "{ %s bench gradcam_32px --repeats 1 --json 2>/dev/null; }", test_scan_bin());
  CHECK_MSG(test_run(command, output, sizeof output) == 0, "%s", output);
  CHECK_MSG(output[0] == '[' && strstr(output, "\"name\": \"gradcam_32px\"") && strstr(output, "\"unit\": \"s\""),
            "%s", output);
  return test_main_end();
}
