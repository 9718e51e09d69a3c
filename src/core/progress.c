#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double sq_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sq_progress_init(sq_progress *p, const char *label, int quiet) {
    p->label = label;
    p->quiet = quiet;
    p->tty = isatty(2);
    p->drawn = 0;
    p->start = p->last = sq_now_s();
}

void sq_progress_update(sq_progress *p, uint64_t done, uint64_t total, const char *extra) {
    if (p->quiet) return;
    double now = sq_now_s();
    double every = p->tty ? 0.1 : 5.0;
    if (now - p->last < every) return;
    p->last = now;
    double el = now - p->start;
    if (p->tty) {
        char bar[31];
        double frac = total ? (double)done / (double)total : 0;
        if (frac > 1) frac = 1;
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : (total ? '.' : ' ');
        bar[30] = '\0';
        if (total)
            fprintf(stderr, "\r%-10s [%s] %5.1f%% %6.1fs %s\033[K", p->label, bar, 100 * frac, el,
                    extra ? extra : "");
        else
            fprintf(stderr, "\r%-10s %6.1fs %s\033[K", p->label, el, extra ? extra : "");
        p->drawn = 1;
    } else {
        if (total)
            fprintf(stderr, "%s: %.1f%% after %.1fs %s\n", p->label,
                    100.0 * (double)done / (double)total, el, extra ? extra : "");
        else
            fprintf(stderr, "%s: %.1fs %s\n", p->label, el, extra ? extra : "");
    }
    fflush(stderr);
}

void sq_progress_finish(sq_progress *p, const char *extra) {
    if (p->quiet) return;
    if (p->tty && p->drawn) fprintf(stderr, "\r\033[K");
    (void)extra;
    p->drawn = 0;
}
