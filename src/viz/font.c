/* The one font every figure uses, and the leak-checker note that comes with it.
 *
 * fontconfig (behind cairo's text) keeps its configuration and caches until
 * the process exits, which LeakSanitizer reports as leaks in every program
 * that draws text. LSan asks for this weak hook; it is unused otherwise. It
 * lives beside viz_use_font so that every program drawing text links it. */
#include "viz_font.h"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

void viz_use_font(cairo_t *cr) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
}
