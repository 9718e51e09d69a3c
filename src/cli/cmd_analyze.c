/* shopseq analyze: behaviour analytics of a .sqd dataset into analysis.json, rfm.csv and a
 * one-file report.html. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "shopseq/analytics.h"
#include "shopseq/compare.h"
#include "shopseq/dataset.h"
#include "shopseq/predict_report.h"
#include "shopseq/report.h"

static void help(void) {
    printf(
        "usage: shopseq analyze DATASET.sqd --out DIR [options]\n\n"
        "Behaviour analytics of a dataset: the funnel view -> fav -> cart -> buy (users, sessions,\n"
        "categories; cart abandonment; time from view to buy), cohort retention, activity by\n"
        "hour x weekday and by day, top items and categories, RFM segments, sequence and session\n"
        "lengths. Writes DIR/analysis.json (everything), DIR/rfm.csv (one row per user, original\n"
        "ids) and DIR/report.html (one self-contained page with charts; opens offline).\n"
        "Definitions of every number: docs/analytics.md.\n\n"
        "options:\n"
        "  --out DIR           output folder (created if needed; required)\n"
        "  --top N             rows in each top-N list (default 10)\n"
        "  --min-support N     viewers an item or category needs to be ranked by conversion (default 20)\n"
        "  --utc-offset H      local time = UTC + H hours for days, hours and weekdays (default 0;\n"
        "                      e.g. 8 for Taobao, -5.5 allowed)\n"
        "  --title TEXT        report title (default: the dataset file name)\n"
        "  --compare FILE      add a \"Model comparison\" section to report.html from FILE, the\n"
        "                      JSON of `shopseq compare --json` (or run's compare.json) on the\n"
        "                      same dataset\n"
        "  --predictions FILE  add a \"Predictions\" section (per task: ROC curves, calibration,\n"
        "                      measures) from FILE, run's predictions.json on the same dataset\n"
        "  --json              print a one-object JSON summary on stdout\n"
        "  --quiet             print nothing on success\n"
        "  -h, --help          this help\n\n"
        "exit status: 0 success, 1 bad input or failure, 2 bad usage\n\n"
        "example:\n"
        "  shopseq analyze shop.sqd --out runs/demo/analysis --top 20\n");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pct(FILE *fp, const char *key, double v, int last) {
    fprintf(fp, "  \"%s\": ", key);
    if (isfinite(v)) fprintf(fp, "%.6g", v);
    else fputs("null", fp);
    fputs(last ? "\n" : ",\n", fp);
}

int sq_cmd_analyze(int argc, char **argv) {
    const char *cmd = "analyze";
    enum { OPT_OUT = 1000, OPT_TOP, OPT_MIN_SUPPORT, OPT_UTC, OPT_TITLE, OPT_JSON, OPT_QUIET, OPT_COMPARE, OPT_PREDICTIONS };
    static const struct option opts[] = {
        {"out", required_argument, 0, OPT_OUT},
        {"top", required_argument, 0, OPT_TOP},
        {"min-support", required_argument, 0, OPT_MIN_SUPPORT},
        {"utc-offset", required_argument, 0, OPT_UTC},
        {"title", required_argument, 0, OPT_TITLE},
        {"compare", required_argument, 0, OPT_COMPARE},
        {"predictions", required_argument, 0, OPT_PREDICTIONS},
        {"json", no_argument, 0, OPT_JSON},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL, *title = NULL, *compare = NULL, *predictions = NULL;
    int json = 0, quiet = 0;
    sq_analysis_opts ao = sq_analysis_opts_default();
    optind = 0; /* full reinitialisation: run calls this after its own getopt */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        uint64_t u;
        double d;
        switch (c) {
        case 'h': help(); return SQ_EXIT_OK;
        case OPT_OUT: out = optarg; break;
        case OPT_TITLE: title = optarg; break;
        case OPT_COMPARE: compare = optarg; break;
        case OPT_PREDICTIONS: predictions = optarg; break;
        case OPT_JSON: json = 1; break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_TOP:
            if (sq_cli_parse_u64(optarg, &u) || u < 1 || u > 1000)
                return sq_cli_usage(cmd, "--top needs an integer in 1..1000, got '%s'", optarg);
            ao.top_n = (uint32_t)u;
            break;
        case OPT_MIN_SUPPORT:
            if (sq_cli_parse_u64(optarg, &u) || u > UINT32_MAX)
                return sq_cli_usage(cmd, "--min-support needs a non-negative integer, got '%s'", optarg);
            ao.min_support = (uint32_t)u;
            break;
        case OPT_UTC:
            if (sq_cli_parse_double(optarg, &d) || !(d >= -14 && d <= 14))
                return sq_cli_usage(cmd, "--utc-offset needs hours in -14..14, got '%s'", optarg);
            ao.tz_offset_min = (int32_t)lround(d * 60);
            break;
        case '?':
        default:
            if (optopt) return sq_cli_usage(cmd, "option -%c is unknown or needs a value", optopt);
            return sq_cli_usage(cmd, "unknown option or missing value: '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return sq_cli_usage(cmd, "a dataset file (.sqd) is required");
    if (optind + 1 < argc) return sq_cli_usage(cmd, "one dataset file only, got '%s' too", argv[optind + 1]);
    if (!out) return sq_cli_usage(cmd, "--out DIR is required");
    const char *path = argv[optind];
    if (!title) {
        const char *slash = strrchr(path, '/');
        title = slash ? slash + 1 : path;
    }

    double t0 = now_s();
    sq_error err = {0};
    sq_dataset ds = {0};
    if (sq_dataset_open(&ds, path, &err) != SQ_OK) return sq_cli_fail(cmd, &err);
    /* the comparison is read and checked before any work, so a wrong file writes nothing */
    sq_compare_result *cmp = NULL;
    if (compare) {
        cmp = malloc(sizeof *cmp);
        sq_status cs = cmp ? sq_compare_load_json(cmp, compare, &err)
                           : sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
        if (cs == SQ_OK &&
            (cmp->users != ds.n_users || cmp->items != ds.n_items || cmp->events != ds.n_events))
            cs = sq_error_set(&err, SQ_ERR_USAGE, "%s was made on another dataset (%u users, %u "
                              "items, %llu events; %s has %u, %u, %llu)", compare, cmp->users,
                              cmp->items, (unsigned long long)cmp->events, path, ds.n_users,
                              ds.n_items, (unsigned long long)ds.n_events);
        if (cs != SQ_OK) {
            free(cmp);
            sq_dataset_close(&ds);
            return sq_cli_fail(cmd, &err);
        }
    }
    /* the predictions likewise: the same dataset, by its counts */
    sq_pred_summary *pred = NULL;
    if (predictions) {
        pred = malloc(sizeof *pred);
        sq_status ps = pred ? sq_pred_summary_load(pred, predictions, &err)
                            : sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
        if (ps == SQ_OK &&
            (pred->users != ds.n_users || pred->items != ds.n_items || pred->events != ds.n_events))
            ps = sq_error_set(&err, SQ_ERR_USAGE, "%s was made on another dataset (%u users, %u "
                              "items, %llu events; %s has %u, %u, %llu)", predictions, pred->users,
                              pred->items, (unsigned long long)pred->events, path, ds.n_users,
                              ds.n_items, (unsigned long long)ds.n_events);
        if (ps != SQ_OK) {
            free(pred);
            free(cmp);
            sq_dataset_close(&ds);
            return sq_cli_fail(cmd, &err);
        }
    }
    sq_analysis a;
    if (sq_analyze(&ds, &ao, &a, &err) != SQ_OK) {
        free(pred);
        free(cmp);
        sq_analysis_free(&a);
        sq_dataset_close(&ds);
        return sq_cli_fail(cmd, &err);
    }
    double t1 = now_s();
    sq_status wst = sq_analysis_write_all(&a, &ds, out, title, &err);
    if (wst == SQ_OK && (cmp || pred)) {
        /* the page again, with the comparison and predictions (rendering is milliseconds; the
         * analysis is not redone) */
        size_t n = strlen(out) + sizeof "/report.html";
        char *ph = malloc(n);
        if (!ph) wst = sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
        else {
            snprintf(ph, n, "%s/report.html", out);
            wst = sq_report_write_html_full(&a, &ds, cmp, pred, ph, title, &err);
            free(ph);
        }
    }
    free(cmp);
    free(pred);
    if (wst != SQ_OK) {
        sq_analysis_free(&a);
        sq_dataset_close(&ds);
        return sq_cli_fail(cmd, &err);
    }
    double t2 = now_s();

    double conv = sq_funnel_overall(&a.users_funnel), aband = sq_analysis_cart_abandonment(&a);
    double bounce = sq_analysis_bounce_rate(&a), repeat = sq_analysis_repeat_rate(&a);
    if (json) {
        printf("{\n  \"out\": ");
        sq_cli_json_string(stdout, out, strlen(out));
        printf(",\n  \"files\": [\"analysis.json\", \"rfm.csv\", \"report.html\"],\n");
        printf("  \"users\": %u,\n  \"events\": %llu,\n  \"sessions\": %llu,\n", ds.n_users,
               (unsigned long long)ds.n_events, (unsigned long long)ds.n_sessions);
        printf("  \"days\": %u,\n", a.n_days);
        for (int s = 0; s < SQ_STAGE_COUNT; s++)
            printf("  \"users_%s\": %llu,\n", sq_stage_name(s), (unsigned long long)a.users_funnel.reached[s]);
        pct(stdout, "view_to_buy_conversion", conv, 0);
        pct(stdout, "cart_abandonment", aband, 0);
        pct(stdout, "median_view_to_buy_s", a.view_buy_median_s, 0);
        pct(stdout, "bounce_rate", bounce, 0);
        pct(stdout, "repeat_purchase_rate", repeat, 0);
        pct(stdout, "top10pct_items_share", a.top10_share, 0);
        printf("  \"segments\": {");
        for (int s = 0; s < SQ_SEG_COUNT; s++)
            printf("%s\"%s\": %llu", s ? ", " : "", sq_segment_name(s), (unsigned long long)a.segment_size[s]);
        printf("},\n");
        pct(stdout, "analyze_s", t1 - t0, 0);
        pct(stdout, "write_s", t2 - t1, 1);
        printf("}\n");
    } else if (!quiet) {
        printf("analyzed %llu events of %u users over %u days in %.2f s\n",
               (unsigned long long)ds.n_events, ds.n_users, a.n_days, t1 - t0);
        printf("  users view -> buy   %6.2f%%\n", 100 * conv);
        printf("  cart abandonment    %6.2f%%  (carted items never bought)\n", 100 * aband);
        printf("  bounce rate         %6.2f%%  (one-event sessions)\n", 100 * bounce);
        printf("  repeat purchase     %6.2f%%  (buyers with buys in 2+ sessions)\n", 100 * repeat);
        printf("wrote %s/analysis.json, %s/rfm.csv, %s/report.html\n", out, out, out);
    }
    sq_analysis_free(&a);
    sq_dataset_close(&ds);
    return SQ_EXIT_OK;
}
