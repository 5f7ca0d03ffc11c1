/* Text from files (class names, file names, messages that quote them) made safe to print on a terminal. */
#ifndef SCAN_CLI_TERMINAL_H
#define SCAN_CLI_TERMINAL_H

#include <stddef.h>

/* `text` with every control character (below 0x20, and 0x7f) written as an escape (\n, \t, \x1b), so a name
 * holding terminal escape sequences cannot move the cursor, recolour or retitle the user's terminal.
 * Bytes of 0x80 and above pass unchanged (UTF-8 names stay readable). Returns buf; cut to fit `size`. */
const char *terminal_safe(const char *text, char *buf, size_t size);

#endif
