// cairo (Debian package libcairo2-dev): drawing to PNG and SVG surfaces; pango + pangocairo (libpango1.0-dev):
// text layout with fontconfig's font fallback, for the charts of the EvalReport target.
#include <cairo.h>
#include <cairo-svg.h>
#include <pango/pangocairo.h>
