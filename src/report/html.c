/* report.html: page assembly. One stylesheet, inline SVG charts (svg.c), no script, no
 * external request. Each chart sits in a card with a heading and a one-line reading
 * computed from the analysis. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "sb.h"
#include "shopseq/behavior.h"
#include "shopseq/compare.h"
#include "shopseq/predict_report.h"
#include "shopseq/report.h"
#include "svg.h"

static const char *const stage_color[SQ_STAGE_COUNT] = {SQ_C_VIEW, SQ_C_FAV, SQ_C_CART, SQ_C_BUY};
static const char *const seg_color[SQ_SEG_COUNT] = {"#2b8a3e", "#5c940d", "#1971c2", "#4dabf7", "#e8590c", "#868e96"};
static const char *const seg_blurb[SQ_SEG_COUNT] = {
    "recent, frequent, high spend", "regular and spending", "first seen recently",
    "recent but little spend yet", "used to spend, not seen lately", "neither recent nor active"};
static const char *const weekdays[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const weekdays_long[7] = {"Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"};

static const char CSS[] =
    ":root{--ink:#212529;--muted:#6c757d;--line:#dee2e6;--bg:#f4f6f9;--card:#fff;--accent:#4263eb}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 'DejaVu Sans','Segoe UI',"
    "Helvetica,Arial,sans-serif}"
    "main{max-width:1180px;margin:0 auto;padding:28px 24px 40px}"
    "header h1{font-size:26px;margin:0 0 4px}header p{margin:0;color:var(--muted)}"
    "h2{font-size:19px;margin:34px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--line)}"
    "h3{font-size:15px;margin:0 0 4px}"
    ".kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-top:20px}"
    ".kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}"
    ".kpi b{display:block;font-size:24px;color:var(--accent)}.kpi span{color:var(--muted);font-size:12px}"
    ".grid{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin-bottom:16px}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;"
    "margin-bottom:16px;min-width:0}"
    ".grid .card{margin-bottom:0}"
    ".reading{margin:0 0 12px;color:#343a40}.reading:before{content:'\\2192  ';color:var(--accent)}"
    "svg.chart{display:block;max-width:100%;height:auto}"
    "svg.chart text{font-family:'DejaVu Sans','Segoe UI',Helvetica,Arial,sans-serif}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{padding:4px 8px;border-bottom:1px solid #edf0f2;text-align:right;white-space:nowrap}"
    "th{color:var(--muted);font-weight:600;border-bottom:1px solid var(--line)}"
    "td.id,th.id{text-align:left;max-width:180px;overflow:hidden;text-overflow:ellipsis}"
    "td.txt,th.txt{text-align:left;white-space:normal}"
    "tr:last-child td{border-bottom:0}"
    "td.best{font-weight:700;color:var(--accent);background:#edf2ff}"
    ".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}"
    ".note{color:var(--muted);font-size:12px;margin-top:8px}"
    "footer{margin-top:36px;color:var(--muted);font-size:12px}";

static void esc(sq_sb *sb, const char *s) { sq_sb_esc(sb, s, strlen(s)); }

static void orig(sq_sb *sb, const sq_dict *d, uint32_t id) {
    if (id >= d->n) {
        sq_sb_puts(sb, "–");
        return;
    }
    size_t n;
    const char *s = sq_dict_get(d, id, &n);
    sq_sb_esc(sb, s, n);
}

static void card_open(sq_sb *sb, const char *title, const char *reading) {
    sq_sb_puts(sb, "<section class=\"card\"><h3>");
    esc(sb, title);
    sq_sb_puts(sb, "</h3><p class=\"reading\">");
    esc(sb, reading);
    sq_sb_puts(sb, "</p>");
}
static void card_close(sq_sb *sb) { sq_sb_puts(sb, "</section>"); }

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : NAN; }

/* ---- sections ---- */

static void kpis(sq_sb *sb, const sq_analysis *a) {
    char v[6][32];
    sq_fmt_pct(v[0], 32, sq_funnel_overall(&a->users_funnel));
    sq_fmt_pct(v[1], 32, sq_analysis_cart_abandonment(a));
    sq_fmt_duration(v[2], 32, a->view_buy_median_s);
    sq_fmt_pct(v[3], 32, sq_analysis_bounce_rate(a));
    sq_fmt_pct(v[4], 32, sq_analysis_repeat_rate(a));
    sq_fmt_pct(v[5], 32, a->top10_share);
    const char *lab[6] = {"of viewers buy (users)", "of carted items never bought", "median first view \xe2\x86\x92 buy",
                          "bounce rate (1-event sessions)", "of buyers buy again", "of events on the top 10% of items"};
    sq_sb_puts(sb, "<div class=\"kpis\" data-chart=\"kpis\">");
    for (int i = 0; i < 6; i++) {
        sq_sb_puts(sb, "<div class=\"kpi\"><b>");
        esc(sb, v[i]);
        sq_sb_puts(sb, "</b><span>");
        esc(sb, lab[i]);
        sq_sb_puts(sb, "</span></div>");
    }
    sq_sb_puts(sb, "</div>");
}

static void funnel_chart(sq_sb *sb, const sq_analysis *a, const sq_funnel *f, const char *id,
                         const char *unit) {
    sq_bar bars[SQ_STAGE_COUNT];
    char lab[SQ_STAGE_COUNT][64], txt[SQ_STAGE_COUNT][96];
    int n = 0;
    for (int s = 0; s < SQ_STAGE_COUNT; s++) {
        if (s == SQ_STAGE_FAV && !a->has_fav) continue;
        char c[32], p[32];
        sq_fmt_count(c, sizeof c, (double)f->reached[s]);
        snprintf(lab[n], 64, "%s %s", s == SQ_STAGE_VIEW ? "viewed" : s == SQ_STAGE_FAV ? "favourited"
                                    : s == SQ_STAGE_CART ? "carted" : "bought", unit);
        if (s == SQ_STAGE_VIEW) snprintf(txt[n], 96, "%s", c);
        else {
            sq_fmt_pct(p, sizeof p, sq_funnel_step(f, s, a->has_fav));
            snprintf(txt[n], 96, "%s \xc2\xb7 %s of %s", c, p, s == SQ_STAGE_BUY ? "carted" : "viewed");
        }
        bars[n] = (sq_bar){lab[n], (double)f->reached[s], txt[n], stage_color[s]};
        n++;
    }
    sq_svg_hbars(sb, id, id, bars, n, 540);
}

static void section_funnel(sq_sb *sb, const sq_analysis *a, const sq_dataset *ds) {
    char r[512], p1[32], p2[32], p3[32], d[32];
    sq_sb_puts(sb, "<h2>Funnel</h2><div class=\"grid\">");
    sq_fmt_pct(p1, sizeof p1, sq_funnel_overall(&a->users_funnel));
    sq_fmt_pct(p2, sizeof p2, sq_analysis_cart_abandonment(a));
    snprintf(r, sizeof r, "%s of users who viewed an item went on to buy; %s of the items put in a cart were never bought.", p1, p2);
    card_open(sb, "Users: view \xe2\x86\x92 cart \xe2\x86\x92 buy", r);
    funnel_chart(sb, a, &a->users_funnel, "funnel-users", "users");
    sq_fmt_duration(d, sizeof d, a->view_buy_median_s);
    char np[32];
    sq_fmt_count(np, sizeof np, (double)a->view_buy_pairs);
    snprintf(r, sizeof r, "Median time from the first view of an item to buying it: %s (over %s purchases that followed a view).", d, np);
    sq_sb_puts(sb, "<p class=\"note\">");
    esc(sb, r);
    sq_sb_puts(sb, "</p>");
    card_close(sb);
    sq_fmt_pct(p1, sizeof p1, ratio(a->sessions_funnel.reached[SQ_STAGE_BUY], a->sessions_funnel.total));
    sq_fmt_pct(p3, sizeof p3, ratio(a->sessions_cart_no_buy, a->sessions_with_cart));
    snprintf(r, sizeof r, "%s of sessions end with a purchase; %s of sessions with a cart end without one.", p1, p3);
    card_open(sb, "Sessions: view \xe2\x86\x92 cart \xe2\x86\x92 buy", r);
    funnel_chart(sb, a, &a->sessions_funnel, "funnel-sessions", "sessions");
    card_close(sb);
    sq_sb_puts(sb, "</div>");

    if (!a->n_category_funnels) return;
    /* best and worst converting of the most viewed categories */
    int best = -1, worst = -1;
    for (uint32_t j = 0; j < a->n_category_funnels; j++) {
        double c = sq_funnel_overall(&a->category_funnels[j].users);
        if (isnan(c)) continue;
        if (best < 0 || c > sq_funnel_overall(&a->category_funnels[best].users)) best = (int)j;
        if (worst < 0 || c < sq_funnel_overall(&a->category_funnels[worst].users)) worst = (int)j;
    }
    if (best >= 0) {
        size_t nb, nw;
        const char *sb_ = sq_dict_get(&ds->categories, a->category_funnels[best].id, &nb);
        const char *sw = sq_dict_get(&ds->categories, a->category_funnels[worst].id, &nw);
        sq_fmt_pct(p1, sizeof p1, sq_funnel_overall(&a->category_funnels[best].users));
        sq_fmt_pct(p2, sizeof p2, sq_funnel_overall(&a->category_funnels[worst].users));
        snprintf(r, sizeof r, "Of the %u most viewed categories, category %.*s converts best (%s of its viewers buy in it) and category %.*s worst (%s).",
                 a->n_category_funnels, (int)(nb > 40 ? 40 : nb), sb_, p1, (int)(nw > 40 ? 40 : nw), sw, p2);
    } else snprintf(r, sizeof r, "No category has viewers.");
    card_open(sb, "Funnel by category (users, most viewed categories)", r);
    sq_sb_printf(sb, "<table data-chart=\"funnel-categories\"><thead><tr><th class=\"id\">category</th><th>viewers</th>%s"
                     "<th>carted</th><th>bought</th><th>cart / view</th><th>buy / cart</th><th>buy / view</th>"
                     "<th>carts never bought</th><th>median view \xe2\x86\x92 buy</th></tr></thead><tbody>",
                 a->has_fav ? "<th>favourited</th>" : "");
    for (uint32_t j = 0; j < a->n_category_funnels; j++) {
        const sq_funnel *f = &a->category_funnels[j].users;
        char c[4][32], q[3][32];
        for (int s = 0; s < 4; s++) sq_fmt_count(c[s], 32, (double)f->reached[s]);
        sq_fmt_pct(q[0], 32, sq_funnel_step(f, SQ_STAGE_CART, a->has_fav));
        sq_fmt_pct(q[1], 32, sq_funnel_step(f, SQ_STAGE_BUY, a->has_fav));
        sq_fmt_pct(q[2], 32, sq_funnel_overall(f));
        sq_sb_puts(sb, "<tr><td class=\"id\">");
        orig(sb, &ds->categories, a->category_funnels[j].id);
        sq_sb_printf(sb, "</td><td>%s</td>", c[0]);
        if (a->has_fav) sq_sb_printf(sb, "<td>%s</td>", c[1]);
        const sq_category_funnel *cf = &a->category_funnels[j];
        char ab[32], md[32];
        sq_fmt_pct(ab, sizeof ab, cf->carted_pairs ? 1.0 - (double)cf->carted_bought_pairs / cf->carted_pairs : NAN);
        sq_fmt_duration(md, sizeof md, cf->view_buy_median_s);
        sq_sb_printf(sb, "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", c[2], c[3],
                     q[0], q[1], q[2], ab, md);
    }
    sq_sb_puts(sb, "</tbody></table>");
    card_close(sb);
}

static void fmt_share(char *buf, size_t cap, double v) { sq_fmt_pct(buf, cap, v); }
static void fmt_cnt(char *buf, size_t cap, double v) { sq_fmt_count(buf, cap, v); }

static const char *period_word(const sq_analysis *a, int plural) {
    if (a->period == SQ_PERIOD_DAY) return plural ? "days" : "day";
    if (a->period == SQ_PERIOD_WEEK) return plural ? "weeks" : "week";
    return plural ? "periods" : "period";
}

static double retention_at(const sq_analysis *a, uint32_t k) {
    uint64_t act = 0, size = 0;
    for (uint32_t c = 0; c + k < a->n_periods; c++) {
        act += a->cohort_active[(size_t)c * a->n_periods + k];
        size += a->cohort_size[c];
    }
    return ratio(act, size);
}

static void section_retention(sq_sb *sb, const sq_analysis *a) {
    uint32_t P = a->n_periods;
    char r[512], p1[32], p2[32];
    sq_sb_puts(sb, "<h2>Retention</h2>");
    if (P < 2) {
        card_open(sb, "Cohorts", "The data spans a single period: no retention to show.");
        sq_sb_puts(sb, "<table data-chart=\"retention\"><tr><td class=\"txt\">All users fall in one cohort.</td></tr></table>");
        card_close(sb);
        return;
    }
    uint32_t k2 = a->period == SQ_PERIOD_DAY ? (P > 7 ? 7 : P - 1) : (P > 4 ? 4 : P - 1);
    sq_fmt_pct(p1, sizeof p1, retention_at(a, 1));
    sq_fmt_pct(p2, sizeof p2, retention_at(a, k2));
    snprintf(r, sizeof r, "%s of users come back in the %s after their first; %s are active %u %s later.", p1,
             period_word(a, 0), p2, k2, period_word(a, k2 != 1));
    card_open(sb, "Cohorts by first active period: share still active", r);
    const char **rl = malloc(P * sizeof *rl), **cl = malloc(P * sizeof *cl);
    char (*rbuf)[64] = malloc(P * sizeof *rbuf), (*cbuf)[16] = malloc(P * sizeof *cbuf);
    double *v = malloc((size_t)P * P * sizeof *v);
    if (!rl || !cl || !rbuf || !cbuf || !v) {
        sb->oom = 1;
        free(rl), free(cl), free(rbuf), free(cbuf), free(v);
        return;
    }
    for (uint32_t c = 0; c < P; c++) {
        char d[16], n[32];
        sq_day_format(sq_analysis_period_day(a, c), d, sizeof d);
        sq_fmt_count(n, sizeof n, (double)a->cohort_size[c]);
        snprintf(rbuf[c], 64, "%s  (%s)", d, n);
        rl[c] = rbuf[c];
        snprintf(cbuf[c], 16, "+%u", c);
        cl[c] = cbuf[c];
        for (uint32_t k = 0; k < P; k++)
            v[(size_t)c * P + k] = c + k < P && a->cohort_size[c]
                                       ? (double)a->cohort_active[(size_t)c * P + k] / a->cohort_size[c] : NAN;
    }
    char corner[48];
    snprintf(corner, sizeof corner, "cohort (users) / %s", period_word(a, 1));
    int cell_h = P > 30 ? 14 : 26;
    sq_svg_heatmap(sb, "retention", "retention", rl, (int)P, cl, (int)P, 1, v, 1.0, 1132, cell_h, 1, fmt_share, corner);
    sq_sb_puts(sb, "<p class=\"note\">Each row is the users whose first event falls in that period; a cell is the share of them active "
                   "(any event) that many periods later. Column +0 is always 100%.");
    if (a->n_days % a->period_days)
        sq_sb_printf(sb, " The last period has only %u of %u days, so the cells on its diagonal read low.",
                     a->n_days % a->period_days, a->period_days);
    sq_sb_puts(sb, "</p>");
    card_close(sb);
    free(rl), free(cl), free(rbuf), free(cbuf), free(v);
}

static void section_activity(sq_sb *sb, const sq_analysis *a) {
    char r[512], tz[32];
    int off = a->opts.tz_offset_min;
    if (off % 60) snprintf(tz, sizeof tz, "UTC%+.1f", off / 60.0);
    else snprintf(tz, sizeof tz, "UTC%+d", off / 60);
    if (!off) snprintf(tz, sizeof tz, "UTC");
    sq_sb_puts(sb, "<h2>Activity</h2>");
    /* hour x weekday */
    double v[7 * 24], vmax = 0, hour_tot[24] = {0};
    int bw = 0, bh = 0;
    for (int w = 0; w < 7; w++)
        for (int h = 0; h < 24; h++) {
            v[w * 24 + h] = (double)a->hour_weekday[w][h];
            hour_tot[h] += v[w * 24 + h];
            if (v[w * 24 + h] > vmax) vmax = v[w * 24 + h], bw = w, bh = h;
        }
    int qh = 0, ph = 0;
    for (int h = 0; h < 24; h++) {
        if (hour_tot[h] < hour_tot[qh]) qh = h;
        if (hour_tot[h] > hour_tot[ph]) ph = h;
    }
    char qs[32];
    sq_fmt_pct(qs, sizeof qs, hour_tot[ph] > 0 ? hour_tot[qh] / hour_tot[ph] : NAN);
    snprintf(r, sizeof r, "Activity peaks on %s at %02d:00\xe2\x80\x93%02d:00 (%s); the quietest hour, %02d:00, has %s of the busiest hour's traffic.",
             weekdays_long[bw], bh, (bh + 1) % 24, tz, qh, qs);
    card_open(sb, "Events by hour of day and weekday", r);
    const char *cl[24];
    char cbuf[24][8];
    for (int h = 0; h < 24; h++) snprintf(cbuf[h], 8, "%d", h), cl[h] = cbuf[h];
    char corner[40];
    snprintf(corner, sizeof corner, "hour (%s)", tz);
    sq_svg_heatmap(sb, "hour-weekday", "hour x weekday", weekdays, 7, cl, 24, 1, v, vmax, 1132, 28, 0, fmt_cnt, corner);
    card_close(sb);

    /* daily */
    uint32_t n = a->n_days;
    const char **xl = malloc(n * sizeof *xl);
    char (*xb)[12] = malloc(n * sizeof *xb);
    double *dau = malloc(n * sizeof *dau), *by = malloc((size_t)n * 4 * sizeof *by);
    if (!xl || !xb || !dau || !by) {
        sb->oom = 1;
        free(xl), free(xb), free(dau), free(by);
        return;
    }
    double dsum = 0;
    uint32_t busiest = 0;
    for (uint32_t d = 0; d < n; d++) {
        char full[16];
        sq_day_format(a->day0 + d, full, sizeof full);
        snprintf(xb[d], 12, "%s", full + 5);
        xl[d] = xb[d];
        dau[d] = (double)a->daily_active_users[d];
        dsum += dau[d];
        if (a->daily_active_users[d] > a->daily_active_users[busiest]) busiest = d;
    }
    uint32_t wk = n >= 14 ? 7 : (n + 1) / 2;
    double first = 0, last = 0;
    for (uint32_t d = 0; d < wk; d++) first += dau[d], last += dau[n - 1 - d];
    char m[32], b[32], bd[16], tr[32];
    sq_fmt_count(m, sizeof m, round(dsum / n));
    sq_fmt_count(b, sizeof b, dau[busiest]);
    sq_day_format(a->day0 + busiest, bd, sizeof bd);
    double change = first > 0 ? last / first - 1 : 0;
    snprintf(tr, sizeof tr, "%.0f%% %s", fabs(100 * change), change >= 0 ? "more" : "fewer");
    if (n >= 2)
        snprintf(r, sizeof r, "On average %s users are active per day (busiest: %s with %s); the last %u days saw %s active users than the first %u.",
                 m, bd, b, wk, tr, wk);
    else snprintf(r, sizeof r, "%s users were active on the one day of data.", b);
    sq_sb_puts(sb, "<div class=\"grid\">");
    card_open(sb, "Daily active users", r);
    sq_series s1 = {"active users", dau, SQ_C_VIEW};
    sq_svg_lines(sb, "daily-active-users", "daily active users", xl, (int)n, &s1, 1, 540, 260);
    card_close(sb);

    const int beh[4] = {SQ_BEHAVIOR_VIEW, SQ_BEHAVIOR_FAV, SQ_BEHAVIOR_CART, SQ_BEHAVIOR_BUY};
    const char *names[4] = {"views", "favourites", "carts", "purchases"};
    sq_series ms[4];
    int nm = 0;
    uint64_t tot = 0;
    for (int b2 = 0; b2 < SQ_BEHAVIOR_COUNT; b2++) tot += a->events_by_behavior[b2];
    for (int k = 0; k < 4; k++) {
        if (!a->events_by_behavior[beh[k]]) continue;
        double *col = by + (size_t)nm * n;
        for (uint32_t d = 0; d < n; d++) col[d] = (double)a->daily_by_behavior[(size_t)d * SQ_BEHAVIOR_COUNT + beh[k]];
        ms[nm++] = (sq_series){names[k], col, stage_color[k]};
    }
    char pv[32], pb[32];
    sq_fmt_pct(pv, sizeof pv, ratio(a->events_by_behavior[SQ_BEHAVIOR_VIEW], tot));
    sq_fmt_pct(pb, sizeof pb, ratio(a->events_by_behavior[SQ_BEHAVIOR_BUY], tot));
    snprintf(r, sizeof r, "Views are %s of all events and purchases %s: one purchase per %.0f views.", pv, pb,
             a->events_by_behavior[SQ_BEHAVIOR_BUY] ? (double)a->events_by_behavior[SQ_BEHAVIOR_VIEW] / a->events_by_behavior[SQ_BEHAVIOR_BUY] : 0.0);
    card_open(sb, "Events per day, by behaviour (each on its own scale)", r);
    sq_svg_multiples(sb, "daily-by-behavior", "events per day by behaviour", xl, (int)n, ms, nm, 540, 112);
    card_close(sb);
    sq_sb_puts(sb, "</div>");
    free(xl), free(xb), free(dau), free(by);
}

static void rank_table(sq_sb *sb, const sq_rank_list *l, const sq_dataset *ds, int is_item, int rank,
                       const char *id) {
    sq_sb_printf(sb, "<table data-chart=\"%s\"><thead><tr><th>#</th><th class=\"id\">%s</th>%s", id,
                 is_item ? "item" : "category",
                 is_item && (ds->flags & SQ_DATASET_HAS_CATEGORY) ? "<th class=\"id\">category</th>" : "");
    if (rank == SQ_RANK_CONVERSION) sq_sb_puts(sb, "<th>viewers</th><th>bought after view</th><th>conversion</th>");
    else sq_sb_puts(sb, "<th>views</th><th>carts</th><th>buys</th><th>conversion</th>");
    sq_sb_puts(sb, "</tr></thead><tbody>");
    if (!l->n) sq_sb_puts(sb, "<tr><td class=\"id\" colspan=\"6\">none qualifies</td></tr>");
    for (uint32_t j = 0; j < l->n; j++) {
        const sq_rank_row *rw = &l->rows[j];
        sq_sb_printf(sb, "<tr><td>%u</td><td class=\"id\">", j + 1);
        orig(sb, is_item ? &ds->items : &ds->categories, rw->id);
        sq_sb_puts(sb, "</td>");
        if (is_item && (ds->flags & SQ_DATASET_HAS_CATEGORY)) {
            sq_sb_puts(sb, "<td class=\"id\">");
            orig(sb, &ds->categories, ds->item_category ? ds->item_category[rw->id] : SQ_NONE);
            sq_sb_puts(sb, "</td>");
        }
        char c[4][32];
        sq_fmt_pct(c[3], 32, rw->conversion);
        if (rank == SQ_RANK_CONVERSION) {
            sq_fmt_count(c[0], 32, (double)rw->viewers);
            sq_fmt_count(c[1], 32, (double)rw->buyers_after_view);
            sq_sb_printf(sb, "<td>%s</td><td>%s</td><td>%s</td></tr>", c[0], c[1], c[3]);
        } else {
            sq_fmt_count(c[0], 32, (double)rw->views);
            sq_fmt_count(c[1], 32, (double)rw->carts);
            sq_fmt_count(c[2], 32, (double)rw->buys);
            sq_sb_printf(sb, "<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", c[0], c[1], c[2], c[3]);
        }
    }
    sq_sb_puts(sb, "</tbody></table>");
}

static void section_items(sq_sb *sb, const sq_analysis *a, const sq_dataset *ds) {
    char r[512], p1[32], p10[32];
    sq_sb_puts(sb, "<h2>Items and categories</h2>");
    sq_fmt_pct(p10, sizeof p10, a->top10_share);
    sq_fmt_pct(p1, sizeof p1, a->top1_share);
    const char *titles[SQ_RANK_COUNT] = {"by views", "by carts", "by purchases", "by conversion"};
    for (int pass = 0; pass < 2; pass++) {
        int is_item = pass == 0;
        if (!is_item && !a->has_category) break;
        sq_sb_puts(sb, "<div class=\"grid\">");
        for (int rk = 0; rk < SQ_RANK_COUNT; rk++) {
            const sq_rank_list *l = is_item ? &a->top_items[rk] : &a->top_categories[rk];
            char t[96], id[48];
            snprintf(t, sizeof t, "Top %s %s", is_item ? "items" : "categories", titles[rk]);
            if (rk == SQ_RANK_VIEWS && is_item) {
                char n[32];
                sq_fmt_count(n, sizeof n, (double)a->items_with_events);
                snprintf(r, sizeof r, "The top 10%% of items take %s of all events and the top 1%% take %s (%s items with events).", p10, p1, n);
            } else if (rk == SQ_RANK_CONVERSION) {
                snprintf(r, sizeof r, "Share of viewers who bought after viewing; only %s with at least %u viewers are ranked.",
                         is_item ? "items" : "categories", a->opts.min_support);
            } else if (l->n) {
                char c[32];
                uint64_t top = rk == SQ_RANK_VIEWS ? l->rows[0].views : rk == SQ_RANK_CARTS ? l->rows[0].carts : l->rows[0].buys;
                uint64_t all = a->events_by_behavior[rk == SQ_RANK_VIEWS ? SQ_BEHAVIOR_VIEW : rk == SQ_RANK_CARTS ? SQ_BEHAVIOR_CART : SQ_BEHAVIOR_BUY];
                sq_fmt_pct(c, sizeof c, ratio(top, all));
                snprintf(r, sizeof r, "The leader alone takes %s of all %s.", c,
                         rk == SQ_RANK_VIEWS ? "views" : rk == SQ_RANK_CARTS ? "cart additions" : "purchases");
            } else snprintf(r, sizeof r, "No %s in the data.", rk == SQ_RANK_CARTS ? "cart additions" : "purchases");
            card_open(sb, t, r);
            snprintf(id, sizeof id, "top-%s-%s", is_item ? "items" : "categories", sq_rank_name(rk));
            rank_table(sb, l, ds, is_item, rk, id);
            card_close(sb);
        }
        sq_sb_puts(sb, "</div>");
    }
}

static void histogram(sq_sb *sb, const sq_dist *d, const char *id, const char *color, const char *xlabel) {
    int last = 0;
    for (int b = 0; b < SQ_DIST_BUCKETS; b++)
        if (d->bins[b]) last = b;
    const char *labels[SQ_DIST_BUCKETS];
    char lb[SQ_DIST_BUCKETS][24];
    double v[SQ_DIST_BUCKETS];
    for (int b = 0; b <= last; b++) {
        sq_dist_bucket_label(b, lb[b], sizeof lb[b]);
        labels[b] = lb[b];
        v[b] = (double)d->bins[b];
    }
    sq_svg_vbars(sb, id, id, labels, v, last + 1, 540, 250, color, xlabel);
}

static void section_users(sq_sb *sb, const sq_analysis *a, const sq_dataset *ds) {
    char r[512], p1[32], p2[32], m[32];
    sq_sb_puts(sb, "<h2>Users</h2>");
    sq_fmt_pct(p1, sizeof p1, ratio(a->segment_size[SQ_SEG_CHAMPIONS], ds->n_users));
    sq_fmt_pct(p2, sizeof p2, ratio(a->segment_size[SQ_SEG_AT_RISK], ds->n_users));
    snprintf(r, sizeof r, "%s of users are champions (recent, frequent, high %s); %s are at risk: valuable but not seen for %.0f days on average.",
             p1, a->has_price ? "spend" : "purchase count", p2,
             isnan(a->segment_mean[SQ_SEG_AT_RISK][0]) ? 0.0 : a->segment_mean[SQ_SEG_AT_RISK][0]);
    card_open(sb, "RFM segments", r);
    sq_sb_puts(sb, "<div class=\"grid\">");
    sq_bar bars[SQ_SEG_COUNT];
    char lab[SQ_SEG_COUNT][48], txt[SQ_SEG_COUNT][80];
    for (int s = 0; s < SQ_SEG_COUNT; s++) {
        char c[32], p[32];
        sq_fmt_count(c, sizeof c, (double)a->segment_size[s]);
        sq_fmt_pct(p, sizeof p, ratio(a->segment_size[s], ds->n_users));
        snprintf(lab[s], 48, "%s", sq_segment_name(s));
        snprintf(txt[s], 80, "%s \xc2\xb7 %s", c, p);
        bars[s] = (sq_bar){lab[s], (double)a->segment_size[s], txt[s], seg_color[s]};
    }
    sq_svg_hbars(sb, "rfm-segments", "RFM segments", bars, SQ_SEG_COUNT, 540);
    sq_sb_printf(sb, "<table data-chart=\"rfm-table\"><thead><tr><th class=\"id\">segment</th>"
                     "<th class=\"txt\">meaning</th><th>R: days</th><th>F: sessions</th><th>M: %s</th></tr></thead><tbody>",
                 a->has_price ? "spend" : "purchases");
    for (int s = 0; s < SQ_SEG_COUNT; s++) {
        char c[3][32];
        for (int k = 0; k < 3; k++) sq_fmt_count(c[k], 32, isnan(a->segment_mean[s][k]) ? NAN : round(a->segment_mean[s][k] * 10) / 10);
        sq_sb_printf(sb, "<tr><td class=\"id\"><span class=\"swatch\" style=\"background:%s\"></span>%s</td><td class=\"txt\">%s</td>"
                         "<td>%s</td><td>%s</td><td>%s</td></tr>", seg_color[s], sq_segment_name(s), seg_blurb[s], c[0], c[1], c[2]);
    }
    sq_sb_puts(sb, "</tbody></table></div><p class=\"note\">Means per segment. R: days since the last event; F: sessions; M: ");
    sq_sb_puts(sb, a->has_price ? "total price of purchases" : "number of purchases (the data has no prices)");
    sq_sb_puts(sb, ". Scores and rules: docs/analytics.md.</p>");
    card_close(sb);
    sq_sb_puts(sb, "<div class=\"grid\">");

    sq_fmt_pct(p1, sizeof p1, sq_analysis_repeat_rate(a));
    sq_fmt_count(m, sizeof m, (double)a->buyers);
    char med[32], p90[32];
    sq_fmt_count(med, sizeof med, a->seq_len.median);
    sq_fmt_count(p90, sizeof p90, a->seq_len.p90);
    snprintf(r, sizeof r, "Half of the users have at most %s events and 10%% have more than %s; %s of the %s buyers bought in two or more sessions.",
             med, p90, p1, m);
    card_open(sb, "Events per user", r);
    histogram(sb, &a->seq_len, "sequence-length", SQ_C_VIEW, "events per user");
    card_close(sb);
    char dur[32];
    sq_fmt_count(med, sizeof med, a->session_len.median);
    sq_fmt_duration(dur, sizeof dur, a->session_duration_median_s);
    sq_fmt_pct(p2, sizeof p2, sq_analysis_bounce_rate(a));
    snprintf(r, sizeof r, "A typical session has %s events and lasts %s; %s of sessions are bounces (a single event).", med, dur, p2);
    card_open(sb, "Events per session", r);
    histogram(sb, &a->session_len, "session-length", SQ_C_CART, "events per session");
    card_close(sb);
    sq_sb_puts(sb, "</div>");
}

/* Model comparison (shopseq compare / the compare stage of run): the table with the best
 * value of each column marked, and NDCG@10 per model as bars, best first. */
enum { CMP_COLS = 12 };

static void section_compare(sq_sb *sb, const sq_compare_result *c) {
    char r[512];
    sq_sb_puts(sb, "<h2>Model comparison</h2>");
    sq_compare_reading(c, r, sizeof r);
    if (!r[0]) snprintf(r, sizeof r, "No model finished training: see compare.json for the errors.");
    card_open(sb, "Next-item prediction: NDCG@10 per model", r);
    /* bars: the successful models, best first (ties keep the run's order) */
    int order[SQ_COMPARE_MAX_MODELS], n = 0;
    for (int i = 0; i < c->n_models; i++)
        if (c->rows[i].ok) order[n++] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && c->rows[order[j]].ev.ndcg[2] > c->rows[order[j - 1]].ev.ndcg[2]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    sq_bar bars[SQ_COMPARE_MAX_MODELS];
    char txt[SQ_COMPARE_MAX_MODELS][24];
    for (int k = 0; k < n; k++) {
        const sq_compare_row *w = &c->rows[order[k]];
        snprintf(txt[k], sizeof txt[k], "%.4f", w->ev.ndcg[2]);
        /* neural models in the accent colour, the baselines they must beat in grey */
        bars[k] = (sq_bar){w->model, w->ev.ndcg[2], txt[k],
                           sq_compare_is_baseline(w->model) ? SQ_C_MUTED : SQ_C_VIEW};
    }
    if (n) sq_svg_hbars(sb, "compare-ndcg", "NDCG@10 per model", bars, n, 540);
    sq_sb_puts(sb, "<p class=\"note\"><span class=\"swatch\" style=\"background:" SQ_C_VIEW
                   "\"></span>neural models <span class=\"swatch\" style=\"background:" SQ_C_MUTED
                   "\"></span>baselines (pop, markov, itemknn)</p>");
    card_close(sb);

    /* table: per column, the best value among the successful models (higher is better but
     * for time, memory and size); events/s only for the neural models, whose training is
     * gradient steps (a counting pass is not comparable) */
    static const char *const head[CMP_COLS] = {"HR@10", "NDCG@10", "MRR@10", "HR@20", "NDCG@20",
                                               "MRR@20", "coverage@10", "train s", "events/s",
                                               "peak RSS MB", "parameters", "epochs"};
    static const int lower_better[CMP_COLS] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0};
    double best[CMP_COLS];
    for (int k = 0; k < CMP_COLS; k++) best[k] = NAN;
    double v[SQ_COMPARE_MAX_MODELS][CMP_COLS];
    for (int i = 0; i < c->n_models; i++) {
        const sq_compare_row *w = &c->rows[i];
        if (!w->ok) continue;
        double row[CMP_COLS] = {w->ev.hr[2], w->ev.ndcg[2], w->ev.mrr[2], w->ev.hr[3], w->ev.ndcg[3],
                                w->ev.mrr[3], w->coverage10, w->train_s,
                                sq_compare_is_baseline(w->model) ? NAN : w->events_per_s,
                                w->peak_rss_kb / 1024.0, (double)w->params, NAN};
        for (int k = 0; k < CMP_COLS; k++) {
            v[i][k] = row[k];
            /* values as displayed, so that equal-looking cells are marked alike */
            if (k < 7) v[i][k] = round(v[i][k] * 1e4) / 1e4;
            else if (k == 7 || k == 9) v[i][k] = round(v[i][k] * 10) / 10;
            if (isnan(v[i][k])) continue;
            if (isnan(best[k]) || (lower_better[k] ? v[i][k] < best[k] : v[i][k] > best[k]))
                best[k] = v[i][k];
        }
    }
    char u[32], it[32], e[32];
    sq_fmt_count(u, sizeof u, c->users);
    sq_fmt_count(it, sizeof it, c->items);
    sq_fmt_count(e, sizeof e, (double)c->events);
    snprintf(r, sizeof r, "Every model trained on the same split of %s users, %s items and %s events and "
             "was tested the same way; the best value of each column is marked.", u, it, e);
    card_open(sb, "All measures", r);
    sq_sb_puts(sb, "<table data-chart=\"compare-table\"><thead><tr><th class=\"id\">model</th>");
    for (int k = 0; k < CMP_COLS; k++) sq_sb_printf(sb, "<th>%s</th>", head[k]);
    sq_sb_puts(sb, "</tr></thead><tbody>");
    for (int i = 0; i < c->n_models; i++) {
        const sq_compare_row *w = &c->rows[i];
        sq_sb_puts(sb, "<tr><td class=\"id\">");
        esc(sb, w->model);
        sq_sb_puts(sb, "</td>");
        if (!w->ok) {
            sq_sb_printf(sb, "<td class=\"txt\" colspan=\"%d\">failed: ", CMP_COLS);
            esc(sb, w->error);
            sq_sb_puts(sb, "</td></tr>");
            continue;
        }
        for (int k = 0; k < CMP_COLS; k++) {
            char cell[48];
            double x = v[i][k];
            if (k == CMP_COLS - 1) {
                if (w->best_epoch) snprintf(cell, sizeof cell, "%d of %d", w->best_epoch, w->epochs_run);
                else snprintf(cell, sizeof cell, "%d pass%s", w->epochs_run, w->epochs_run == 1 ? "" : "es");
            } else if (isnan(x)) snprintf(cell, sizeof cell, "\xe2\x80\x93");
            else if (k < 7) snprintf(cell, sizeof cell, "%.4f", x);
            else if (k == 7 || k == 9) snprintf(cell, sizeof cell, "%.1f", x);
            else sq_fmt_count(cell, sizeof cell, x);
            int mark = !isnan(x) && x == best[k];
            sq_sb_printf(sb, "<td%s>", mark ? " class=\"best\"" : "");
            esc(sb, cell);
            sq_sb_puts(sb, "</td>");
        }
        sq_sb_puts(sb, "</tr>");
    }
    uint32_t tested = 0;
    for (int i = 0; i < c->n_models && !tested; i++)
        if (c->rows[i].ok) tested = c->rows[i].ev.n_users;
    sq_sb_puts(sb, "</tbody></table><p class=\"note\">Protocol: ");
    esc(sb, sq_compare_protocol(c));
    sq_sb_printf(sb, " (%u %s). Coverage@10: distinct items in the test users' top-10 lists over the catalogue. "
                     "Epochs: the one validation picked, of those run; the baselines count in one pass. "
                     "The neural models' figures depend on their training budget, which shopseq run keeps to a "
                     "couple of minutes for all models; <code>shopseq compare</code> with more epochs gives a "
                     "firmer verdict (docs/models.md).</p>",
                 tested,
                 c->session ? "predictions" : "test users");
    card_close(sb);
}

/* Predictions (run's predictions.json): per task, the test ROC curve of every scorer in the
 * file, its calibration as a reliability diagram, and the measures with the best value of
 * each column marked. Whatever scorers the file holds are drawn alike. */
static const char *const scorer_color[] = {SQ_C_VIEW, SQ_C_BUY, SQ_C_CART, SQ_C_FAV, "#7048e8",
                                           "#1098ad", "#495057", "#e8590c"};

typedef struct {
    const char *title, *pos, *neg, *happened;
} task_words;

static task_words words_of(const char *task) {
    if (!strcmp(task, "purchase"))
        return (task_words){"Purchase", "a future buyer", "a non-buyer", "bought"};
    if (!strcmp(task, "churn"))
        return (task_words){"Churn", "a user who goes quiet", "one who stays active",
                            "had no event at all"};
    if (!strcmp(task, "item"))
        return (task_words){"Item interaction", "an item the user goes on to touch",
                            "a sampled item they do not", "were touched"};
    return (task_words){"Next behaviour", "", "", ""};
}

/* the scorer with the highest headline AUC (the first on ties); next-behavior without any
 * AUC (one class at the test cut) falls back to accuracy */
static int best_scorer(const sq_pred_sum_task *t) {
    int b = -1;
    for (int k = 0; k < t->n_scorers; k++) {
        double v = sq_pred_sum_auc(t, &t->scorers[k]);
        if (isfinite(v) && (b < 0 || v > sq_pred_sum_auc(t, &t->scorers[b]))) b = k;
    }
    for (int k = 0; b < 0 && !t->binary && k < t->n_scorers; k++)
        if (isfinite(t->scorers[k].test_multi.accuracy) &&
            (b < 0 || t->scorers[k].test_multi.accuracy > t->scorers[b].test_multi.accuracy))
            b = k;
    return b;
}

/* mean |predicted - observed| over the bins, weighted by their examples */
static double calib_error(const sq_pred_binary_metrics *m) {
    double sum = 0, n = 0;
    for (int b = 0; b < SQ_PRED_CALIB_BINS; b++) {
        const sq_pred_calib_bin *c = &m->calib[b];
        if (!c->count || !isfinite(c->mean_pred) || !isfinite(c->observed)) continue;
        sum += (double)c->count * fabs(c->mean_pred - c->observed);
        n += (double)c->count;
    }
    return n > 0 ? sum / n : NAN;
}

/* "7d" -> "7 days", "36h" -> "36 hours"; anything else as it is */
static void fmt_horizon(char *buf, size_t cap, const char *h) {
    char *end;
    long v = strtol(h, &end, 10);
    const char *unit = !strcmp(end, "d") ? "day" : !strcmp(end, "h") ? "hour" : NULL;
    if (end == h || !unit) snprintf(buf, cap, "%s", h);
    else snprintf(buf, cap, "%ld %s%s", v, unit, v == 1 ? "" : "s");
}

/* "2024-02-23T00:00:00Z" -> "2024-02-23 00:00 UTC" */
static void fmt_cut(char *buf, size_t cap, const char *iso) {
    if (strlen(iso) >= 16 && iso[10] == 'T') snprintf(buf, cap, "%.10s %.5s UTC", iso, iso + 11);
    else snprintf(buf, cap, "%s", iso);
}

static void cell4(char *buf, size_t cap, double v) {
    if (isfinite(v)) snprintf(buf, cap, "%.4f", v);
    else snprintf(buf, cap, "\xe2\x80\x93");
}

/* One measures table: rows are scorers, columns v[k][c]; lower[c] < 0: not marked. */
enum { PRED_COLS = 16 };
static void pred_table(sq_sb *sb, const char *id, const sq_pred_sum_task *t, const char *const *head,
                       int nc, const int *lower, double v[][PRED_COLS]) {
    double best[PRED_COLS];
    for (int c = 0; c < nc; c++) {
        best[c] = NAN;
        for (int k = 0; k < t->n_scorers; k++) {
            /* as displayed, so that equal-looking cells are marked alike */
            v[k][c] = isfinite(v[k][c]) ? round(v[k][c] * 1e4) / 1e4 : NAN;
            if (lower[c] < 0 || isnan(v[k][c])) continue;
            if (isnan(best[c]) || (lower[c] ? v[k][c] < best[c] : v[k][c] > best[c])) best[c] = v[k][c];
        }
    }
    sq_sb_printf(sb, "<table data-chart=\"%s\"><thead><tr><th class=\"id\">scorer</th>", id);
    for (int c = 0; c < nc; c++) {
        sq_sb_puts(sb, "<th>");
        esc(sb, head[c]);
        sq_sb_puts(sb, "</th>");
    }
    sq_sb_puts(sb, "</tr></thead><tbody>");
    for (int k = 0; k < t->n_scorers; k++) {
        /* the full label on hover: the column is cut at 180 px */
        sq_sb_puts(sb, "<tr><td class=\"id\" title=\"");
        esc(sb, t->scorers[k].label);
        sq_sb_printf(sb, "\"><span class=\"swatch\" style=\"background:%s\"></span>", scorer_color[k % 8]);
        esc(sb, t->scorers[k].label);
        sq_sb_puts(sb, "</td>");
        for (int c = 0; c < nc; c++) {
            char cell[32];
            cell4(cell, sizeof cell, v[k][c]);
            int mark = lower[c] >= 0 && !isnan(v[k][c]) && v[k][c] == best[c];
            sq_sb_printf(sb, "<td%s>%s</td>", mark ? " class=\"best\"" : "", cell);
        }
        sq_sb_puts(sb, "</tr>");
    }
    sq_sb_puts(sb, "</tbody></table>");
}

static void pred_binary(sq_sb *sb, const sq_pred_sum_task *t) {
    task_words w = words_of(t->task);
    char r[640], h[96], id[64], hz[32];
    fmt_horizon(hz, sizeof hz, t->horizon);
    int b = best_scorer(t);
    /* ROC */
    snprintf(h, sizeof h, "%s within %s: ROC curve", w.title, hz);
    if (b >= 0) {
        const sq_pred_sum_scorer *s = &t->scorers[b];
        int n = snprintf(r, sizeof r, "%s ranks %s above %s %.0f%% of the time (ROC-AUC %.2f)",
                         s->label, w.pos, w.neg, 100 * s->test.auc, s->test.auc);
        int others = 0;
        for (int k = 0; k < t->n_scorers && n > 0 && (size_t)n < sizeof r; k++)
            if (k != b && isfinite(t->scorers[k].test.auc))
                n += snprintf(r + n, sizeof r - (size_t)n, "%s %s %.2f", others++ ? "," : ";",
                              t->scorers[k].label, t->scorers[k].test.auc);
        if (n > 0 && (size_t)n < sizeof r - 1) snprintf(r + n, sizeof r - (size_t)n, ".");
    } else snprintf(r, sizeof r, "The test users hold one class only: no ROC curve.");
    card_open(sb, h, r);
    sq_xy_series ser[SQ_PRED_SUM_SCORERS];
    char names[SQ_PRED_SUM_SCORERS][128];
    int ns = 0;
    for (int k = 0; k < t->n_scorers; k++) {
        const sq_pred_sum_scorer *s = &t->scorers[k];
        if (s->roc_n < 2) continue;
        snprintf(names[ns], sizeof names[ns], "%s \xc2\xb7 AUC %.3f", s->label, s->test.auc);
        ser[ns] = (sq_xy_series){names[ns], s->fpr, s->tpr, s->roc_n, scorer_color[k % 8], NULL, NULL};
        ns++;
    }
    snprintf(id, sizeof id, "predict-roc-%s", t->task);
    if (ns) sq_svg_unit_xy(sb, id, h, ser, ns, 540, 430, "false positive rate", "true positive rate",
                           "chance (AUC 0.5)");
    card_close(sb);

    /* reliability */
    snprintf(h, sizeof h, "%s within %s: calibration", w.title, hz);
    if (b >= 0) {
        double e = calib_error(&t->scorers[b].test);
        snprintf(r, sizeof r, "The probabilities of %s are %.1f points away from the observed "
                 "rate on average (10 bins, weighted by examples): %s.", t->scorers[b].label, 100 * e,
                 e < 0.02 ? "they can be read as probabilities" : e < 0.05 ? "close to probabilities"
                 : "use them to rank, not as probabilities");
    } else snprintf(r, sizeof r, "No calibration to show.");
    card_open(sb, h, r);
    double cx[SQ_PRED_SUM_SCORERS][SQ_PRED_CALIB_BINS], cy[SQ_PRED_SUM_SCORERS][SQ_PRED_CALIB_BINS],
        cw[SQ_PRED_SUM_SCORERS][SQ_PRED_CALIB_BINS];
    char tipbuf[SQ_PRED_SUM_SCORERS][SQ_PRED_CALIB_BINS][160];
    const char *tips[SQ_PRED_SUM_SCORERS][SQ_PRED_CALIB_BINS];
    ns = 0;
    for (int k = 0; k < t->n_scorers; k++) {
        const sq_pred_binary_metrics *m = &t->scorers[k].test;
        int n = 0;
        for (int q = 0; q < SQ_PRED_CALIB_BINS; q++) {
            const sq_pred_calib_bin *c = &m->calib[q];
            if (!c->count || !isfinite(c->mean_pred) || !isfinite(c->observed)) continue;
            cx[k][n] = c->mean_pred < 0 ? 0 : c->mean_pred > 1 ? 1 : c->mean_pred;
            cy[k][n] = c->observed < 0 ? 0 : c->observed > 1 ? 1 : c->observed;
            cw[k][n] = (double)c->count;
            char cnt[32];
            sq_fmt_count(cnt, sizeof cnt, (double)c->count);
            snprintf(tipbuf[k][n], sizeof tipbuf[k][n], "%s, predicted %.1f\xe2\x80\x93%.1f: %s examples, "
                     "mean prediction %.3f, observed %.3f", t->scorers[k].label, q / 10.0, (q + 1) / 10.0,
                     cnt, c->mean_pred, c->observed);
            tips[k][n] = tipbuf[k][n];
            n++;
        }
        if (!n) continue;
        ser[ns] = (sq_xy_series){t->scorers[k].label, cx[k], cy[k], n, scorer_color[k % 8], cw[k], tips[k]};
        ns++;
    }
    snprintf(id, sizeof id, "predict-calibration-%s", t->task);
    if (ns) sq_svg_unit_xy(sb, id, h, ser, ns, 540, 430, "mean predicted probability (bin)",
                           "observed rate", "perfectly calibrated");
    sq_sb_puts(sb, "<p class=\"note\">One dot per bin of predictions ([0, 0.1), \xe2\x80\xa6, [0.9, 1]), "
                   "its area in proportion to the examples in it.</p>");
    card_close(sb);
}

static void section_predictions(sq_sb *sb, const sq_pred_summary *ps) {
    sq_sb_puts(sb, "<h2>Predictions</h2><p class=\"note\">Each task is evaluated at a time cut: the "
                   "scorers learn from events before the cut minus one horizon (labels up to the cut), "
                   "and are tested on what the users did in the horizon after the cut, from events before "
                   "it only. Definitions: docs/predict.md; the figures are in predictions.json.</p>");
    for (int i = 0; i < ps->n_tasks; i++) {
        const sq_pred_sum_task *t = &ps->tasks[i];
        task_words w = words_of(t->task);
        char h[96], r[640], id[64], n[32], p[32], hz[32], cutb[40];
        fmt_horizon(hz, sizeof hz, t->horizon);
        fmt_cut(cutb, sizeof cutb, t->cut);
        if (t->error[0]) {
            snprintf(h, sizeof h, "%s", w.title);
            snprintf(r, sizeof r, "Not evaluated on this data: %s.", t->error);
            card_open(sb, h, r);
            card_close(sb);
            continue;
        }
        snprintf(id, sizeof id, "predict-table-%s", t->task);
        if (t->binary) {
            sq_sb_puts(sb, "<div class=\"grid\">");
            pred_binary(sb, t);
            sq_sb_puts(sb, "</div>");
            sq_fmt_count(n, sizeof n, (double)t->test_n);
            sq_fmt_pct(p, sizeof p, t->test_n ? (double)t->test_pos / (double)t->test_n : NAN);
            snprintf(h, sizeof h, "%s within %s: all measures", w.title, hz);
            snprintf(r, sizeof r, "Tested on %s %s at %s, of which %s %s within %s (so a PR-AUC of %s is "
                     "chance); precision, recall and F1 at the threshold chosen on held-out training users.",
                     n, strcmp(t->task, "item") ? "users" : "(user, item) pairs", cutb, p, w.happened,
                     hz, p);
            card_open(sb, h, r);
            static const char *const head[] = {"ROC-AUC", "PR-AUC", "log-loss", "accuracy", "precision",
                                               "recall", "F1", "threshold", "fit s"};
            static const int lower[] = {0, 0, 1, 0, 0, 0, 0, -1, 1};
            double v[SQ_PRED_SUM_SCORERS][PRED_COLS];
            for (int k = 0; k < t->n_scorers; k++) {
                const sq_pred_binary_metrics *m = &t->scorers[k].test;
                double row[] = {m->auc, m->ap, m->logloss, m->accuracy, m->precision, m->recall, m->f1,
                                m->threshold, t->scorers[k].fit_seconds};
                memcpy(v[k], row, sizeof row);
            }
            pred_table(sb, id, t, head, 9, lower, v);
            card_close(sb);
        } else {
            int b = best_scorer(t);
            uint64_t top = 0, all = 0;
            int tc = 0;
            for (int c = 0; t->n_scorers && c < t->n_classes; c++) {
                all += t->scorers[0].test_multi.support[c];
                if (t->scorers[0].test_multi.support[c] > top) top = t->scorers[0].test_multi.support[c], tc = c;
            }
            snprintf(h, sizeof h, "Next behaviour (first event within %s)", hz);
            sq_fmt_count(n, sizeof n, (double)t->test_n);
            if (b >= 0) {
                char acc[32];
                sq_fmt_pct(acc, sizeof acc, t->scorers[b].test_multi.accuracy);
                sq_fmt_pct(p, sizeof p, all ? (double)top / (double)all : NAN);
                double auc = sq_pred_sum_auc(t, &t->scorers[b]);
                char tail[160];
                if (isfinite(auc))
                    snprintf(tail, sizeof tail, "separates each behaviour from the others with a mean "
                             "ROC-AUC of %.2f", auc);
                else snprintf(tail, sizeof tail, "one behaviour only occurs, so there is no AUC");
                snprintf(r, sizeof r, "%s names the behaviour of a user's next event right %s of the time "
                         "(always guessing %s: %s); %s. %s test users at %s.", t->scorers[b].label, acc,
                         t->classes[tc], p, tail, n, cutb);
            } else snprintf(r, sizeof r, "No scorer result.");
            card_open(sb, h, r);
            const char *head[PRED_COLS];
            char hb[16][32];
            int lower[PRED_COLS], nc = 0;
            head[nc] = "accuracy", lower[nc++] = 0;
            head[nc] = "macro-F1", lower[nc++] = 0;
            head[nc] = "log-loss", lower[nc++] = 1;
            for (int c = 0; c < t->n_classes && nc < PRED_COLS - 1; c++) {
                snprintf(hb[c], sizeof hb[c], "AUC %s", t->classes[c]);
                head[nc] = hb[c], lower[nc++] = 0;
            }
            head[nc] = "fit s", lower[nc++] = 1;
            double v[SQ_PRED_SUM_SCORERS][PRED_COLS];
            for (int k = 0; k < t->n_scorers; k++) {
                const sq_pred_multi_metrics *m = &t->scorers[k].test_multi;
                int c = 0;
                v[k][c++] = m->accuracy, v[k][c++] = m->macro_f1, v[k][c++] = m->logloss;
                for (int q = 0; q < t->n_classes && c < nc - 1; q++) v[k][c++] = m->auc[q];
                v[k][c] = t->scorers[k].fit_seconds;
            }
            pred_table(sb, id, t, head, nc, lower, v);
            sq_sb_puts(sb, "<p class=\"note\">AUC per behaviour: one against the rest.</p>");
            card_close(sb);
        }
    }
}

sq_status sq_report_write_html(const sq_analysis *a, const sq_dataset *ds, const char *path,
                               const char *title, sq_error *err) {
    return sq_report_write_html_full(a, ds, NULL, NULL, path, title, err);
}

sq_status sq_report_write_html_compare(const sq_analysis *a, const sq_dataset *ds,
                                       const struct sq_compare_result *cmp, const char *path,
                                       const char *title, sq_error *err) {
    return sq_report_write_html_full(a, ds, cmp, NULL, path, title, err);
}

sq_status sq_report_write_html_full(const sq_analysis *a, const sq_dataset *ds,
                                    const struct sq_compare_result *cmp,
                                    const struct sq_pred_summary *pred, const char *path,
                                    const char *title, sq_error *err) {
    sq_sb sb = {0};
    if (!title) title = "shopseq analysis";
    sq_sb_puts(&sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
                    "<title>");
    esc(&sb, title);
    sq_sb_puts(&sb, " \xe2\x80\x94 shopseq analysis</title><style>");
    sq_sb_puts(&sb, CSS);
    sq_sb_puts(&sb, "</style></head><body><main><header><h1>");
    esc(&sb, title);
    char d0[16], d1[16], u[32], e[32], it[32], s[32];
    sq_day_format(a->day0, d0, sizeof d0);
    sq_day_format(a->day0 + a->n_days - 1, d1, sizeof d1);
    sq_fmt_count(u, sizeof u, ds->n_users);
    sq_fmt_count(e, sizeof e, (double)ds->n_events);
    sq_fmt_count(it, sizeof it, ds->n_items);
    sq_fmt_count(s, sizeof s, (double)ds->n_sessions);
    sq_sb_printf(&sb, "</h1><p>%s events \xc2\xb7 %s users \xc2\xb7 %s sessions \xc2\xb7 %s items", e, u, s, it);
    if (a->has_category) sq_sb_printf(&sb, " \xc2\xb7 %u categories", ds->n_categories);
    sq_sb_printf(&sb, " \xc2\xb7 %s to %s (%u days)</p>", d0, d1, a->n_days);
    if (a->events_before + a->events_after)
        sq_sb_printf(&sb, "<p class=\"note\">%llu events before and %llu after this window (stray timestamps, under %.1f%% of events) "
                          "count in totals, funnels and RFM but not in the daily charts.</p>",
                     (unsigned long long)a->events_before, (unsigned long long)a->events_after, 100 * a->opts.trim_share);
    sq_sb_puts(&sb, "</header>");
    kpis(&sb, a);
    section_funnel(&sb, a, ds);
    section_retention(&sb, a);
    section_activity(&sb, a);
    section_items(&sb, a, ds);
    section_users(&sb, a, ds);
    if (cmp) section_compare(&sb, cmp);
    if (pred) section_predictions(&sb, pred);
    sq_sb_printf(&sb, "<footer>Generated by <code>shopseq analyze</code>. Every number is defined in docs/analytics.md; "
                      "the same figures are in analysis.json, per-user RFM in rfm.csv%s%s.</footer></main></body></html>\n",
                 cmp ? ", the model comparison in compare.json (models: docs/models.md)" : "",
                 pred ? ", the predictions in predictions.json (docs/predict.md)" : "");
    if (sb.oom) {
        sq_sb_free(&sb);
        return sq_error_set(err, SQ_ERR_NOMEM, "report: out of memory");
    }
    sq_status st = sq_write_file_atomic(path, sb.p, sb.n, err);
    sq_sb_free(&sb);
    return st;
}
