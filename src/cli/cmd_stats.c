/* shopseq stats: one-screen summary of a .sqd dataset */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../data/timeparse.h"
#include "cli.h"
#include "shopseq/stats.h"

static const char usage_text[] =
    "usage: shopseq stats FILE.sqd [--json]\n"
    "\n"
    "Users, items, categories, events per behaviour, time span, sessions, events per user\n"
    "and per session (min/median/p90/max), density.\n"
    "\n"
    "  --json      one JSON object on stdout\n"
    "  -h, --help  this text\n"
    "\n"
    "example:\n"
    "  shopseq stats shop.sqd --json\n";

static json_t *dist_json(const sq_length_dist *d) {
    json_t *o = json_object();
    json_object_set_new(o, "min", json_integer((json_int_t)d->min));
    json_object_set_new(o, "median", json_integer((json_int_t)d->median));
    json_object_set_new(o, "p90", json_integer((json_int_t)d->p90));
    json_object_set_new(o, "max", json_integer((json_int_t)d->max));
    json_object_set_new(o, "mean", json_real(d->mean));
    return o;
}

void sq_cli_print_stats(FILE *fp, const char *path, const sq_dataset *ds,
                        const sq_dataset_stats *s) {
    char t0[32], t1[32];
    sq_time_format_iso(s->time_min_ms, t0, sizeof t0);
    sq_time_format_iso(s->time_max_ms, t1, sizeof t1);
    double days = (double)(s->time_max_ms - s->time_min_ms) / 86400000.0;
    fprintf(fp, "%s\n", path);
    fprintf(fp, "  %-18s %12u\n", "users", s->users);
    fprintf(fp, "  %-18s %12u\n", "items", s->items);
    fprintf(fp, "  %-18s %12u\n", "categories", s->categories);
    fprintf(fp, "  %-18s %12llu\n", "events", (unsigned long long)s->events);
    for (int b = 0; b < SQ_BEHAVIOR_COUNT; b++)
        if (s->by_behavior[b])
            fprintf(fp, "    %-16s %12llu  %5.1f%%\n", sq_behavior_name(b),
                    (unsigned long long)s->by_behavior[b],
                    100.0 * (double)s->by_behavior[b] / (double)(s->events ? s->events : 1));
    fprintf(fp, "  %-18s %12llu  (%s)\n", "sessions", (unsigned long long)s->sessions,
            (ds->flags & SQ_DATASET_HAS_SESSION_COLUMN) ? "from the session column"
                                                          : "cut by inactivity gap");
    if (ds->flags & SQ_DATASET_SYNTHETIC_TIME)
        fprintf(fp, "  %-18s input had no time; events keep their file order\n", "time");
    else
        fprintf(fp, "  %-18s %s .. %s (%.1f days)\n", "time span", t0, t1, days);
    fprintf(fp, "  %-18s min %llu / median %llu / p90 %llu / max %llu (mean %.1f)\n",
            "events per user", (unsigned long long)s->user_length.min,
            (unsigned long long)s->user_length.median, (unsigned long long)s->user_length.p90,
            (unsigned long long)s->user_length.max, s->user_length.mean);
    fprintf(fp, "  %-18s min %llu / median %llu / p90 %llu / max %llu (mean %.1f)\n",
            "events per session", (unsigned long long)s->session_length.min,
            (unsigned long long)s->session_length.median,
            (unsigned long long)s->session_length.p90, (unsigned long long)s->session_length.max,
            s->session_length.mean);
    fprintf(fp, "  %-18s %.6f%% (%llu distinct user-item pairs)\n", "density",
            100.0 * s->density, (unsigned long long)s->user_item_pairs);
    fprintf(fp, "  %-18s price on %.1f%% of events, category on %.1f%%\n", "optional fields",
            100.0 * (double)s->events_with_price / (double)(s->events ? s->events : 1),
            100.0 * (double)s->events_with_category / (double)(s->events ? s->events : 1));
}

void sq_cli_json_stats(FILE *fp, const sq_dataset *ds, const sq_dataset_stats *s) {
    json_t *o = json_object();
    char t[32];
    json_object_set_new(o, "users", json_integer(s->users));
    json_object_set_new(o, "items", json_integer(s->items));
    json_object_set_new(o, "categories", json_integer(s->categories));
    json_object_set_new(o, "events", json_integer((json_int_t)s->events));
    json_object_set_new(o, "sessions", json_integer((json_int_t)s->sessions));
    json_t *bb = json_object();
    for (int b = 0; b < SQ_BEHAVIOR_COUNT; b++)
        json_object_set_new(bb, sq_behavior_name(b), json_integer((json_int_t)s->by_behavior[b]));
    json_object_set_new(o, "by_behavior", bb);
    sq_time_format_iso(s->time_min_ms, t, sizeof t);
    json_object_set_new(o, "time_min", json_string(t));
    sq_time_format_iso(s->time_max_ms, t, sizeof t);
    json_object_set_new(o, "time_max", json_string(t));
    json_object_set_new(o, "time_min_ms", json_integer(s->time_min_ms));
    json_object_set_new(o, "time_max_ms", json_integer(s->time_max_ms));
    json_object_set_new(o, "synthetic_time", json_boolean(ds->flags & SQ_DATASET_SYNTHETIC_TIME));
    json_object_set_new(o, "sessions_from_column",
                        json_boolean(ds->flags & SQ_DATASET_HAS_SESSION_COLUMN));
    json_object_set_new(o, "events_per_user", dist_json(&s->user_length));
    json_object_set_new(o, "events_per_session", dist_json(&s->session_length));
    json_object_set_new(o, "density", json_real(s->density));
    json_object_set_new(o, "user_item_pairs", json_integer((json_int_t)s->user_item_pairs));
    json_object_set_new(o, "events_with_price", json_integer((json_int_t)s->events_with_price));
    json_object_set_new(o, "events_with_category",
                        json_integer((json_int_t)s->events_with_category));
    json_dumpf(o, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', fp);
    json_decref(o);
}

int sq_cmd_stats(int argc, char **argv) {
    static const struct option longopts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': fputs(usage_text, stdout); return SQ_EXIT_OK;
        default: return sq_cli_usage("stats", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return sq_cli_usage("stats", "expected one FILE.sqd");
    sq_dataset ds;
    sq_error err = {0};
    if (sq_dataset_open(&ds, argv[optind], &err) != SQ_OK) return sq_cli_fail("stats", &err);
    sq_dataset_stats s;
    if (sq_dataset_stats_compute(&ds, &s, &err) != SQ_OK) {
        sq_dataset_close(&ds);
        return sq_cli_fail("stats", &err);
    }
    if (json) sq_cli_json_stats(stdout, &ds, &s);
    else sq_cli_print_stats(stdout, argv[optind], &ds, &s);
    sq_dataset_close(&ds);
    return SQ_EXIT_OK;
}
