#include "sb.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sq_sb_free(sq_sb *sb) {
    free(sb->p);
    memset(sb, 0, sizeof *sb);
}

static int reserve(sq_sb *sb, size_t extra) {
    if (sb->oom) return -1;
    if (sb->n + extra + 1 <= sb->cap) return 0;
    size_t cap = sb->cap ? sb->cap : 4096;
    while (cap < sb->n + extra + 1) cap *= 2;
    char *p = realloc(sb->p, cap);
    if (!p) {
        sb->oom = 1;
        return -1;
    }
    sb->p = p, sb->cap = cap;
    return 0;
}

void sq_sb_putn(sq_sb *sb, const char *s, size_t n) {
    if (reserve(sb, n)) return;
    memcpy(sb->p + sb->n, s, n);
    sb->n += n;
    sb->p[sb->n] = 0;
}

void sq_sb_puts(sq_sb *sb, const char *s) { sq_sb_putn(sb, s, strlen(s)); }

void sq_sb_printf(sq_sb *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k < sizeof tmp) {
        sq_sb_putn(sb, tmp, (size_t)k);
        return;
    }
    if (reserve(sb, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(sb->p + sb->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    sb->n += (size_t)k;
}

void sq_sb_esc(sq_sb *sb, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': sq_sb_puts(sb, "&amp;"); break;
        case '<': sq_sb_puts(sb, "&lt;"); break;
        case '>': sq_sb_puts(sb, "&gt;"); break;
        case '"': sq_sb_puts(sb, "&quot;"); break;
        case '\'': sq_sb_puts(sb, "&#39;"); break;
        default:
            if ((unsigned char)s[i] < 0x20 && s[i] != '\t') sq_sb_puts(sb, "?");
            else sq_sb_putn(sb, &s[i], 1);
        }
    }
}

void sq_fmt_count(char *buf, size_t cap, double v) {
    if (!isfinite(v)) snprintf(buf, cap, "–");
    else if (fabs(v) >= 1e9) snprintf(buf, cap, "%.2fB", v / 1e9);
    else if (fabs(v) >= 1e6) snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (fabs(v) >= 1e5) snprintf(buf, cap, "%.0fk", v / 1e3);
    else if (fabs(v) >= 1e3) {
        long long x = llround(v);
        snprintf(buf, cap, "%lld,%03lld", x / 1000, x % 1000);
    } else if (v == floor(v)) snprintf(buf, cap, "%.0f", v);
    else snprintf(buf, cap, "%.1f", v);
}

void sq_fmt_pct(char *buf, size_t cap, double s) {
    if (!isfinite(s)) snprintf(buf, cap, "–");
    else if (s * 100 >= 10 || s == 0) snprintf(buf, cap, "%.0f%%", s * 100);
    else snprintf(buf, cap, "%.1f%%", s * 100);
}

void sq_fmt_duration(char *buf, size_t cap, double s) {
    if (!isfinite(s)) snprintf(buf, cap, "–");
    else if (s < 90) snprintf(buf, cap, "%.0f s", s);
    else if (s < 5400) snprintf(buf, cap, "%.0f min", s / 60);
    else if (s < 172800) snprintf(buf, cap, "%.1f h", s / 3600);
    else snprintf(buf, cap, "%.1f days", s / 86400);
}
