/* Writing a cairo surface as a PNG file, atomically (internal to viz). */
#ifndef SCAN_VIZ_PNG_H
#define SCAN_VIZ_PNG_H

#include <cairo.h>

#include "scan/error.h"

/* Encodes `surface` to PNG in memory, then writes it to `path` through a temporary file and a rename.
   `what` names the figure in error messages. Does not destroy the surface. */
scan_status viz_write_png(cairo_surface_t *surface, const char *path, const char *what);

#endif
