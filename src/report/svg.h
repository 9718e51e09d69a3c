/* Inline SVG chart primitives. Every chart is one <svg class="chart" data-chart=ID> with a
 * fixed viewBox, text in the page's font, and colours from the palette below; labels are
 * measured with a conservative width estimate and truncated or rotated so they never
 * overlap. */
#ifndef SQ_REPORT_SVG_H
#define SQ_REPORT_SVG_H

#include "sb.h"

/* palette */
#define SQ_C_VIEW "#4263eb"
#define SQ_C_FAV "#f59f00"
#define SQ_C_CART "#0ca678"
#define SQ_C_BUY "#d6336c"
#define SQ_C_INK "#212529"
#define SQ_C_MUTED "#6c757d"
#define SQ_C_GRID "#e9ecef"

/* Estimated width in px of text at a font size (wide sans, so it errs on the safe side). */
double sq_svg_text_width(const char *s, double font_px);

typedef struct sq_bar {
    const char *label; /* left of the bar */
    double value;      /* bar length, relative to the largest */
    const char *text;  /* right of the bar (value label) */
    const char *color;
} sq_bar;

/* Horizontal bars, one per row. */
void sq_svg_hbars(sq_sb *sb, const char *id, const char *title, const sq_bar *bars, int n,
                  int width);

/* Vertical bars (a histogram) with category labels under the bars (rotated when long). */
void sq_svg_vbars(sq_sb *sb, const char *id, const char *title, const char *const *labels,
                  const double *values, int n, int width, int height, const char *color,
                  const char *xlabel);

/* A heat map of nr x nc cells (row-major v; NaN = no cell). Cell colour from 0 to vmax;
 * cell text (fmt'ed value) when show_text and the cell is wide enough. Column labels are
 * drawn every `col_every` columns. */
typedef void (*sq_cell_fmt)(char *buf, size_t cap, double v);
void sq_svg_heatmap(sq_sb *sb, const char *id, const char *title, const char *const *rlabels,
                    int nr, const char *const *clabels, int nc, int col_every, const double *v,
                    double vmax, int width, int cell_h, int show_text, sq_cell_fmt fmt,
                    const char *corner);

typedef struct sq_series {
    const char *name;
    const double *v; /* (n) */
    const char *color;
} sq_series;

/* Line chart over n x positions labelled xlabels (ticks thinned to fit); one y axis with
 * nice ticks from 0; a legend when there is more than one series; area fill for one. */
void sq_svg_lines(sq_sb *sb, const char *id, const char *title, const char *const *xlabels, int n,
                  const sq_series *s, int ns, int width, int height);

/* Small multiples: one mini line chart per series, each with its own y scale. */
void sq_svg_multiples(sq_sb *sb, const char *id, const char *title, const char *const *xlabels,
                      int n, const sq_series *s, int ns, int width, int panel_h);

typedef struct sq_xy_series {
    const char *name;           /* legend text */
    const double *x, *y;        /* (n) points in [0, 1] x [0, 1], drawn joined in order */
    int n;
    const char *color;
    const double *w;            /* (n) marker weights (dot area in proportion), or NULL: no dots */
    const char *const *tips;    /* (n) hover text per dot, or NULL */
} sq_xy_series;

/* A chart on [0, 1] x [0, 1] (ROC curves, reliability diagrams): grid and ticks every 0.2,
 * the diagonal y = x dashed as the reference (diag_label in the legend), one line per
 * series, axis labels; the legend sits above the plot and wraps into rows, so no text
 * ever lies on the plot. */
void sq_svg_unit_xy(sq_sb *sb, const char *id, const char *title, const sq_xy_series *s, int ns,
                    int width, int height, const char *xlabel, const char *ylabel,
                    const char *diag_label);

#endif
