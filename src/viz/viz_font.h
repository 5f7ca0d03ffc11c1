/* The figures' font (internal to viz). */
#ifndef SCAN_VIZ_FONT_H
#define SCAN_VIZ_FONT_H

#include <cairo.h>

/* Selects the sans-serif face all charts and grids draw text with. */
void viz_use_font(cairo_t *cr);

#endif
