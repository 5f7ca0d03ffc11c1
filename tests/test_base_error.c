#include <string.h>

#include "scan/error.h"
#include "testlib.h"

static scan_status inner(void) { return scan_fail(SCAN_ERR_INPUT, "%s: bad magic %d", "x.idx", 7); }
static scan_status outer(void) {
  SCAN_TRY(inner());
  return SCAN_OK;
}

int main(void) {
  CHECK(outer() == SCAN_ERR_INPUT);
  CHECK(strcmp(scan_error_message(), "x.idx: bad magic 7") == 0);
  scan_fail_context(SCAN_ERR_INPUT, "loading %s", "train");
  CHECK(strcmp(scan_error_message(), "loading train: x.idx: bad magic 7") == 0);
  scan_error_clear();
  CHECK(strcmp(scan_error_message(), "unknown error") == 0);
  return test_main_end();
}
