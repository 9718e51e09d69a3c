#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FONT 12.0
#define SMALL 11.0

double sq_svg_text_width(const char *s, double font_px) {
    double w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) == 0x80) continue; /* UTF-8 continuation */
        if (*p == ' ' || *p == '.' || *p == ',' || *p == ':' || *p == 'i' || *p == 'l' || *p == '1')
            w += 0.36;
        else if (*p >= 'A' && *p <= 'Z') w += 0.72;
        else if (*p == 'm' || *p == 'w' || *p == '%' || *p >= 0x80) w += 0.92;
        else w += 0.62;
    }
    return w * font_px;
}

static void open_svg(sq_sb *sb, const char *id, const char *title, int w, int h) {
    sq_sb_printf(sb, "<svg class=\"chart\" data-chart=\"%s\" role=\"img\" viewBox=\"0 0 %d %d\" "
                     "width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">",
                 id, w, h, w, h);
    sq_sb_puts(sb, "<title>");
    sq_sb_esc(sb, title, strlen(title));
    sq_sb_puts(sb, "</title>");
}

static void text(sq_sb *sb, double x, double y, const char *anchor, double size, const char *fill,
                 const char *s, const char *extra) {
    sq_sb_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%.0f\" fill=\"%s\"%s%s>",
                 x, y, anchor, size, fill, extra ? " " : "", extra ? extra : "");
    sq_sb_esc(sb, s, strlen(s));
    sq_sb_puts(sb, "</text>");
}

/* s truncated with an ellipsis to fit max_px */
static void fit(char *out, size_t cap, const char *s, double max_px, double font) {
    snprintf(out, cap, "%s", s);
    if (sq_svg_text_width(out, font) <= max_px) return;
    size_t n = strlen(out);
    while (n > 1) {
        n--;
        while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80) n--;
        if (n + 4 > cap) continue;
        memcpy(out + n, "\xe2\x80\xa6", 4); /* … */
        if (sq_svg_text_width(out, font) <= max_px) return;
    }
}

static double nice_step(double max, int ticks) {
    if (!(max > 0)) return 1;
    double raw = max / ticks, mag = pow(10, floor(log10(raw)));
    const double m[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (m[i] * mag >= raw) return m[i] * mag;
    return 10 * mag;
}

void sq_svg_hbars(sq_sb *sb, const char *id, const char *title, const sq_bar *bars, int n,
                  int width) {
    double label_w = 0, text_w = 0;
    for (int i = 0; i < n; i++) {
        double w = sq_svg_text_width(bars[i].label, FONT);
        if (w > label_w) label_w = w;
        w = bars[i].text ? sq_svg_text_width(bars[i].text, FONT) : 0;
        if (w > text_w) text_w = w;
    }
    if (label_w > width * 0.35) label_w = width * 0.35;
    const double row = 30, bar_h = 20, top = 6;
    int h = (int)(top * 2 + row * n);
    double x0 = label_w + 12, avail = width - x0 - text_w - 14;
    double vmax = 0;
    for (int i = 0; i < n; i++)
        if (bars[i].value > vmax) vmax = bars[i].value;
    open_svg(sb, id, title, width, h);
    for (int i = 0; i < n; i++) {
        double y = top + row * i, len = vmax > 0 ? avail * bars[i].value / vmax : 0;
        if (len < 1 && bars[i].value > 0) len = 1;
        char lab[256];
        fit(lab, sizeof lab, bars[i].label, label_w, FONT);
        text(sb, label_w + 4, y + bar_h / 2 + 4, "end", FONT, SQ_C_INK, lab, NULL);
        sq_sb_printf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" rx=\"3\" fill=\"%s\"/>",
                     x0, y, len, bar_h, bars[i].color ? bars[i].color : SQ_C_VIEW);
        if (bars[i].text) text(sb, x0 + len + 6, y + bar_h / 2 + 4, "start", FONT, SQ_C_INK, bars[i].text, NULL);
    }
    sq_sb_puts(sb, "</svg>");
}

void sq_svg_vbars(sq_sb *sb, const char *id, const char *title, const char *const *labels,
                  const double *values, int n, int width, int height, const char *color,
                  const char *xlabel) {
    double vmax = 0, lab_w = 0;
    for (int i = 0; i < n; i++) {
        if (values[i] > vmax) vmax = values[i];
        double w = sq_svg_text_width(labels[i], SMALL);
        if (w > lab_w) lab_w = w;
    }
    double step = nice_step(vmax, 4), top_v = step * ceil(vmax / step);
    if (top_v <= 0) top_v = 1;
    char tick[32];
    sq_fmt_count(tick, sizeof tick, top_v);
    const double left = sq_svg_text_width(tick, SMALL) + 14, right = 8, top = 10;
    double slot = (width - left - right) / (n ? n : 1);
    int rotate = lab_w > slot - 4;
    double bottom = (rotate ? lab_w * 0.72 + 14 : 20) + (xlabel ? 18 : 0);
    double ph = height - top - bottom;
    open_svg(sb, id, title, width, height);
    for (double v = 0; v <= top_v + step / 2; v += step) {
        double y = top + ph * (1 - v / top_v);
        sq_sb_printf(sb, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", left,
                     (double)width - right, y, y, SQ_C_GRID);
        sq_fmt_count(tick, sizeof tick, v);
        text(sb, left - 6, y + 4, "end", SMALL, SQ_C_MUTED, tick, NULL);
    }
    for (int i = 0; i < n; i++) {
        double bh = ph * values[i] / top_v, x = left + slot * i;
        sq_sb_printf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
                     x + slot * 0.12, top + ph - bh, slot * 0.76, bh, color);
        sq_fmt_count(tick, sizeof tick, values[i]);
        sq_sb_esc(sb, labels[i], strlen(labels[i]));
        sq_sb_printf(sb, ": %s</title></rect>", tick);
        double cx = x + slot / 2, ly = top + ph + 14;
        if (rotate) {
            char tr[96];
            snprintf(tr, sizeof tr, "transform=\"rotate(-45 %.1f %.1f)\"", cx, ly - 4);
            text(sb, cx + 3, ly, "end", SMALL, SQ_C_INK, labels[i], tr);
        } else text(sb, cx, ly, "middle", SMALL, SQ_C_INK, labels[i], NULL);
    }
    if (xlabel) text(sb, left + (width - left - right) / 2, height - 4, "middle", SMALL, SQ_C_MUTED, xlabel, NULL);
    sq_sb_puts(sb, "</svg>");
}

/* light to dark blue */
static void heat_color(double t, char *buf, size_t cap) {
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    const double a[3] = {240, 244, 255}, b[3] = {27, 54, 150};
    snprintf(buf, cap, "#%02x%02x%02x", (int)lround(a[0] + (b[0] - a[0]) * t),
             (int)lround(a[1] + (b[1] - a[1]) * t), (int)lround(a[2] + (b[2] - a[2]) * t));
}

void sq_svg_heatmap(sq_sb *sb, const char *id, const char *title, const char *const *rlabels,
                    int nr, const char *const *clabels, int nc, int col_every, const double *v,
                    double vmax, int width, int cell_h, int show_text, sq_cell_fmt fmt,
                    const char *corner) {
    double lw = 0;
    for (int r = 0; r < nr; r++) {
        double w = sq_svg_text_width(rlabels[r], SMALL);
        if (w > lw) lw = w;
    }
    if (corner && sq_svg_text_width(corner, SMALL) > lw) lw = sq_svg_text_width(corner, SMALL);
    const double left = lw + 10, top = 22;
    double cw = (width - left - 4) / (nc ? nc : 1);
    int h = (int)(top + cell_h * nr + 4);
    if (col_every < 1) col_every = 1;
    /* thin column labels until they fit */
    for (;;) {
        double mw = 0;
        for (int c = 0; c < nc; c += col_every) {
            double w = sq_svg_text_width(clabels[c], SMALL);
            if (w > mw) mw = w;
        }
        if (mw + 6 <= cw * col_every || col_every >= nc) break;
        col_every++;
    }
    open_svg(sb, id, title, width, h);
    if (corner) text(sb, left - 6, 14, "end", SMALL, SQ_C_MUTED, corner, NULL);
    for (int c = 0; c < nc; c += col_every)
        text(sb, left + cw * c + cw / 2, 14, "middle", SMALL, SQ_C_MUTED, clabels[c], NULL);
    char col[16], val[32];
    for (int r = 0; r < nr; r++) {
        double y = top + cell_h * r;
        text(sb, left - 6, y + cell_h / 2.0 + 4, "end", SMALL, SQ_C_INK, rlabels[r], NULL);
        for (int c = 0; c < nc; c++) {
            double x = v[(size_t)r * nc + c];
            if (isnan(x)) continue;
            double t = vmax > 0 ? x / vmax : 0;
            heat_color(t, col, sizeof col);
            fmt(val, sizeof val, x);
            sq_sb_printf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>",
                         left + cw * c + 0.5, y + 0.5, cw - 1, cell_h - 1, col);
            sq_sb_esc(sb, rlabels[r], strlen(rlabels[r]));
            sq_sb_puts(sb, " · ");
            sq_sb_esc(sb, clabels[c], strlen(clabels[c]));
            sq_sb_printf(sb, ": %s</title></rect>", val);
            if (show_text && sq_svg_text_width(val, SMALL) + 4 <= cw)
                text(sb, left + cw * c + cw / 2, y + cell_h / 2.0 + 4, "middle", SMALL,
                     t > 0.5 ? "#ffffff" : SQ_C_INK, val, NULL);
        }
    }
    sq_sb_puts(sb, "</svg>");
}

static void x_ticks(sq_sb *sb, const char *const *xl, int n, double left, double pw, double y) {
    double mw = 0;
    for (int i = 0; i < n; i++) {
        double w = sq_svg_text_width(xl[i], SMALL);
        if (w > mw) mw = w;
    }
    double dx = n > 1 ? pw / (n - 1) : 0;
    int every = 1;
    while (n > 1 && every < n && dx * every < mw + 14) every++;
    for (int i = 0; i < n; i += every) {
        double x = left + (n > 1 ? dx * i : pw / 2), w = sq_svg_text_width(xl[i], SMALL);
        /* keep the last label inside the plot's right edge */
        const char *anchor = x + w / 2 > left + pw + 6 ? "end" : "middle";
        if (anchor[0] == 'e' && i > 0 && x - w < left + dx * (i - every) + mw / 2 + 4) continue;
        text(sb, anchor[0] == 'e' ? left + pw + 6 : x, y, anchor, SMALL, SQ_C_MUTED, xl[i], NULL);
    }
}

static void polyline(sq_sb *sb, const double *v, int n, double left, double top, double pw, double ph,
                     double vmax, const char *color, int area) {
    double dx = n > 1 ? pw / (n - 1) : 0;
    if (area) {
        sq_sb_printf(sb, "<path fill=\"%s\" fill-opacity=\"0.12\" stroke=\"none\" d=\"M%.1f %.1f", color, left, top + ph);
        for (int i = 0; i < n; i++) sq_sb_printf(sb, " L%.1f %.1f", left + dx * i, top + ph * (1 - v[i] / vmax));
        sq_sb_printf(sb, " L%.1f %.1f Z\"/>", left + dx * (n - 1), top + ph);
    }
    sq_sb_printf(sb, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"", color);
    for (int i = 0; i < n; i++) sq_sb_printf(sb, "%s%.1f,%.1f", i ? " " : "", left + dx * i, top + ph * (1 - v[i] / vmax));
    sq_sb_puts(sb, "\"/>");
    if (n == 1) sq_sb_printf(sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", left + pw / 2,
                             top + ph * (1 - v[0] / vmax), color);
}

void sq_svg_lines(sq_sb *sb, const char *id, const char *title, const char *const *xlabels, int n,
                  const sq_series *s, int ns, int width, int height) {
    double vmax = 0;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < n; i++)
            if (s[k].v[i] > vmax) vmax = s[k].v[i];
    double step = nice_step(vmax, 4), top_v = step * ceil(vmax / step);
    if (top_v <= 0) top_v = 1;
    char tick[32];
    sq_fmt_count(tick, sizeof tick, top_v);
    const double left = sq_svg_text_width(tick, SMALL) + 14, right = 16;
    const double top = ns > 1 ? 28 : 10, bottom = 24;
    double pw = width - left - right, ph = height - top - bottom;
    open_svg(sb, id, title, width, height);
    if (ns > 1) { /* legend */
        double x = left;
        for (int k = 0; k < ns; k++) {
            sq_sb_printf(sb, "<rect x=\"%.1f\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>", x, s[k].color);
            text(sb, x + 16, 16, "start", SMALL, SQ_C_INK, s[k].name, NULL);
            x += 16 + sq_svg_text_width(s[k].name, SMALL) + 18;
        }
    }
    for (double v = 0; v <= top_v + step / 2; v += step) {
        double y = top + ph * (1 - v / top_v);
        sq_sb_printf(sb, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", left,
                     left + pw, y, y, SQ_C_GRID);
        sq_fmt_count(tick, sizeof tick, v);
        text(sb, left - 6, y + 4, "end", SMALL, SQ_C_MUTED, tick, NULL);
    }
    for (int k = 0; k < ns; k++) polyline(sb, s[k].v, n, left, top, pw, ph, top_v, s[k].color, ns == 1);
    x_ticks(sb, xlabels, n, left, pw, height - 6);
    sq_sb_puts(sb, "</svg>");
}

void sq_svg_multiples(sq_sb *sb, const char *id, const char *title, const char *const *xlabels,
                      int n, const sq_series *s, int ns, int width, int panel_h) {
    int cols = ns > 1 ? 2 : 1, rows = (ns + cols - 1) / cols;
    const double gap = 24;
    double pw_all = (width - gap * (cols - 1)) / cols;
    int h = (int)(rows * (panel_h + gap));
    open_svg(sb, id, title, width, h);
    char tick[32];
    for (int k = 0; k < ns; k++) {
        double ox = (k % cols) * (pw_all + gap), oy = (k / cols) * (panel_h + gap);
        double vmax = 0;
        for (int i = 0; i < n; i++)
            if (s[k].v[i] > vmax) vmax = s[k].v[i];
        double step = nice_step(vmax, 2), top_v = step * ceil(vmax / step);
        if (top_v <= 0) top_v = 1;
        sq_fmt_count(tick, sizeof tick, top_v);
        double left = ox + sq_svg_text_width(tick, SMALL) + 12, top = oy + 30, pw = ox + pw_all - left - 8;
        double ph = panel_h - 30 - 22;
        text(sb, ox, oy + 13, "start", FONT, s[k].color, s[k].name, "font-weight=\"600\"");
        for (double v = 0; v <= top_v + step / 2; v += step) {
            double y = top + ph * (1 - v / top_v);
            sq_sb_printf(sb, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", left,
                         left + pw, y, y, SQ_C_GRID);
            sq_fmt_count(tick, sizeof tick, v);
            text(sb, left - 6, y + 4, "end", SMALL, SQ_C_MUTED, tick, NULL);
        }
        polyline(sb, s[k].v, n, left, top, pw, ph, top_v, s[k].color, 1);
        x_ticks(sb, xlabels, n, left, pw, oy + panel_h - 4);
    }
    sq_sb_puts(sb, "</svg>");
}

void sq_svg_unit_xy(sq_sb *sb, const char *id, const char *title, const sq_xy_series *s, int ns,
                    int width, int height, const char *xlabel, const char *ylabel,
                    const char *diag_label) {
    /* legend entries laid out first: their rows decide where the plot starts */
    enum { MAXL = 17 };
    double lx[MAXL], ly[MAXL];
    int nl = ns + 1 > MAXL ? MAXL : ns + 1;
    double x = 0, row = 0;
    for (int k = 0; k < nl; k++) {
        const char *name = k < ns ? s[k].name : diag_label;
        double w = 22 + sq_svg_text_width(name, SMALL);
        if (x > 0 && x + w > width - 8) x = 0, row++;
        lx[k] = x, ly[k] = row;
        x += w + 16;
    }
    const double legend_h = (row + 1) * 18 + 6;
    const double left = 14 + sq_svg_text_width("0.8", SMALL) + 10, right = 14;
    const double top = legend_h + 8, bottom = 40;
    double pw = width - left - right, ph = height - top - bottom;
    open_svg(sb, id, title, width, height);
    for (int k = 0; k < nl; k++) {
        const char *name = k < ns ? s[k].name : diag_label;
        double y = 6 + ly[k] * 18 + 6;
        if (k < ns)
            sq_sb_printf(sb, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                             "stroke-width=\"3\"/>", lx[k], lx[k] + 16, y, y, s[k].color);
        else
            sq_sb_printf(sb, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                             "stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>", lx[k], lx[k] + 16, y, y,
                         SQ_C_MUTED);
        text(sb, lx[k] + 22, y + 4, "start", SMALL, SQ_C_INK, name, NULL);
    }
    char tick[16];
    for (int i = 0; i <= 5; i++) {
        double v = i / 5.0, gx = left + pw * v, gy = top + ph * (1 - v);
        sq_sb_printf(sb, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", left,
                     left + pw, gy, gy, SQ_C_GRID);
        sq_sb_printf(sb, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", gx, gx,
                     top, top + ph, SQ_C_GRID);
        snprintf(tick, sizeof tick, i == 0 ? "0" : i == 5 ? "1" : "%.1f", v);
        text(sb, left - 6, gy + 4, "end", SMALL, SQ_C_MUTED, tick, NULL);
        text(sb, gx, top + ph + 15, "middle", SMALL, SQ_C_MUTED, tick, NULL);
    }
    sq_sb_printf(sb, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                     "stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>", left, left + pw, top + ph, top,
                 SQ_C_MUTED);
    for (int k = 0; k < ns; k++) {
        if (s[k].n <= 0) continue;
        sq_sb_printf(sb, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                         "stroke-linejoin=\"round\" points=\"", s[k].color);
        for (int i = 0; i < s[k].n; i++)
            sq_sb_printf(sb, "%s%.1f,%.1f", i ? " " : "", left + pw * s[k].x[i],
                         top + ph * (1 - s[k].y[i]));
        sq_sb_puts(sb, "\"/>");
        if (!s[k].w) continue;
        double wmax = 0;
        for (int i = 0; i < s[k].n; i++)
            if (s[k].w[i] > wmax) wmax = s[k].w[i];
        for (int i = 0; i < s[k].n; i++) {
            /* area in proportion to the weight, at least visible */
            double r = wmax > 0 ? 2.5 + 6.5 * sqrt(s[k].w[i] / wmax) : 3;
            sq_sb_printf(sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" fill-opacity=\"0.75\" "
                             "stroke=\"#fff\">", left + pw * s[k].x[i], top + ph * (1 - s[k].y[i]), r,
                         s[k].color);
            if (s[k].tips) {
                sq_sb_puts(sb, "<title>");
                sq_sb_esc(sb, s[k].tips[i], strlen(s[k].tips[i]));
                sq_sb_puts(sb, "</title>");
            }
            sq_sb_puts(sb, "</circle>");
        }
    }
    text(sb, left + pw / 2, (double)height - 6, "middle", SMALL, SQ_C_MUTED, xlabel, NULL);
    char tr[96];
    snprintf(tr, sizeof tr, "transform=\"rotate(-90 12 %.1f)\"", top + ph / 2);
    text(sb, 12, top + ph / 2, "middle", SMALL, SQ_C_MUTED, ylabel, tr);
    sq_sb_puts(sb, "</svg>");
}
