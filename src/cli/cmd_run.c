/* shopseq run: the main job. Each stage is the library call (or subcommand) a user could
 * run alone; run chains them and leaves every output under one folder. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fileio.h"
#include "../core/progress.h"
#include "cli.h"
#include "ingest_flags.h"
#include "shopseq/dataset.h"
#include "shopseq/ingest.h"
#include "shopseq/stats.h"
#include "shopseq/synth.h"

static const char usage_text[] =
    "usage: shopseq run [EVENTS...] [--preset NAME | --map SPEC ...] --out DIR [options]\n"
    "\n"
    "The main job, every stage in one go, outputs under DIR:\n"
    "  1. synth    without EVENTS, simulate the default shop  -> DIR/events.csv (+ truth files)\n"
    "  2. ingest   clean, validate, sort, sessionize           -> DIR/shop.sqd, DIR/ingest.json\n"
    "  3. stats    one-screen summary                          -> DIR/stats.json\n"
    "  4. analyze  funnel, retention, activity, items, RFM     -> DIR/report.html,\n"
    "                                                             DIR/analysis.json, DIR/rfm.csv\n"
    "\n"
    "options\n"
    "  --out DIR            output folder (created; default runs/default)\n"
    "  --users N            users to simulate without EVENTS (20000)\n"
    "  --seed S             simulator seed (42)\n"
    "  --quiet              only the final summary\n"
    "  --json               no tables; one JSON object on stdout (the ingest report and\n"
    "                       stats, with the paths of every output)\n"
    "  -h, --help           this text\n"
    "ingest options (for EVENTS; see shopseq ingest --help)\n"
    SQ_INGEST_FLAGS_HELP
    "\n"
    "examples:\n"
    "  shopseq run --out runs/demo\n"
    "  shopseq run UserBehavior.csv.zst --preset taobao --out runs/taobao\n";

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void synth_progress(void *ctx, uint64_t done, uint64_t total, uint64_t events) {
    char extra[64];
    snprintf(extra, sizeof extra, "%llu events", (unsigned long long)events);
    sq_progress_update(ctx, done, total, extra);
}

static int stage_stats(const char *sqd, const char *json_path, int quiet) {
    sq_dataset ds;
    sq_dataset_stats s;
    sq_error err = {0};
    if (sq_dataset_open(&ds, sqd, &err) != SQ_OK) return sq_cli_fail("run", &err);
    if (sq_dataset_stats_compute(&ds, &s, &err) != SQ_OK) {
        sq_dataset_close(&ds);
        return sq_cli_fail("run", &err);
    }
    if (!quiet) {
        printf("\n== stats\n");
        sq_cli_print_stats(stdout, sqd, &ds, &s);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) {
        sq_dataset_close(&ds);
        sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
        return sq_cli_fail("run", &err);
    }
    sq_cli_json_stats(mem, &ds, &s);
    fclose(mem);
    sq_dataset_close(&ds);
    sq_status st = sq_write_file_atomic(json_path, buf, len, &err);
    free(buf);
    return st == SQ_OK ? SQ_EXIT_OK : sq_cli_fail("run", &err);
}

int sq_cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {
        SQ_INGEST_LONG_OPTIONS,
        {"out", required_argument, 0, 'o'},
        {"users", required_argument, 0, 'u'},
        {"seed", required_argument, 0, 's'},
        {"quiet", no_argument, 0, 'q'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    sq_ingest_options io;
    sq_ingest_options_init(&io);
    sq_synth_options so;
    sq_synth_options_init(&so);
    const char *dir = "runs/default";
    int quiet = 0, json = 0, c, rc = SQ_EXIT_OK;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:hq", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 'q': quiet = 1; break;
        case 'j': json = quiet = 1; break;
        case 'u':
            if (sq_cli_parse_u64(optarg, &so.users) || so.users == 0)
                rc = sq_cli_usage("run", "--users: '%s' is not a positive count", optarg);
            break;
        case 's':
            if (sq_cli_parse_u64(optarg, &so.seed))
                rc = sq_cli_usage("run", "--seed: '%s' is not a number", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            sq_ingest_options_free(&io);
            return SQ_EXIT_OK;
        case '?':
            rc = sq_cli_usage("run", "unknown or incomplete option '%s'", argv[optind - 1]);
            break;
        default: rc = sq_cli_ingest_option("run", c, optarg, &io); break;
        }
        if (rc) {
            sq_ingest_options_free(&io);
            return rc;
        }
    }
    sq_error err = {0};
    if (sq_mkdir_p(dir, &err) != SQ_OK) {
        sq_ingest_options_free(&io);
        return sq_cli_fail("run", &err);
    }
    char *events = join(dir, "events.csv"), *sqd = join(dir, "shop.sqd"),
         *ingest_json = join(dir, "ingest.json"), *stats_json = join(dir, "stats.json");
    const char **inputs = NULL;
    size_t n_inputs = 0;
    double t0 = sq_now_s();

    if (optind >= argc) {
        /* 1. synth: the bundled default data */
        so.out = events;
        sq_progress prog;
        sq_progress_init(&prog, "synth", quiet);
        so.progress = synth_progress;
        so.progress_ctx = &prog;
        sq_synth_result res;
        if (!quiet) printf("== synth: %llu users, seed %llu -> %s\n", (unsigned long long)so.users,
                           (unsigned long long)so.seed, events);
        sq_status st = sq_synth_run(&so, &res, &err);
        sq_progress_finish(&prog, NULL);
        if (st != SQ_OK) {
            rc = sq_cli_fail("run", &err);
            goto done;
        }
        if (!quiet)
            printf("   %llu events, %llu users, %llu items in %.1fs; truth: %s\n",
                   (unsigned long long)res.events, (unsigned long long)res.users,
                   (unsigned long long)res.items, res.seconds, res.truth_path);
        sq_synth_result_free(&res);
        inputs = malloc(sizeof *inputs);
        if (!inputs) goto nomem;
        inputs[0] = events;
        n_inputs = 1;
    } else {
        inputs = (const char **)(argv + optind);
        n_inputs = (size_t)(argc - optind);
    }

    /* 2. ingest */
    {
        sq_progress prog;
        sq_progress_init(&prog, "ingest", quiet);
        io.progress = sq_cli_ingest_progress;
        io.progress_ctx = &prog;
        sq_ingest_report rep;
        if (!quiet) printf("\n== ingest\n");
        fflush(stdout);
        sq_status st = sq_ingest_run(inputs, n_inputs, sqd, &io, &rep, &err);
        sq_progress_finish(&prog, NULL);
        if (!quiet || st != SQ_OK)
            sq_cli_print_ingest_report(st == SQ_OK ? stdout : stderr, &rep, st == SQ_OK ? sqd : NULL);
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        if (!mem) goto nomem;
        sq_cli_json_ingest_report(mem, &rep, sqd, st == SQ_OK ? NULL : &err);
        fclose(mem);
        sq_error werr = {0};
        sq_status wst = sq_write_file_atomic(ingest_json, buf, len, &werr);
        free(buf);
        if (st != SQ_OK) {
            rc = sq_cli_fail("run", &err);
            goto done;
        }
        if (wst != SQ_OK) {
            rc = sq_cli_fail("run", &werr);
            goto done;
        }
    }

    /* 3. stats */
    rc = stage_stats(sqd, stats_json, quiet);
    if (rc) goto done;

    /* 4. analyze: the subcommand itself, so run and analyze never drift apart */
    {
        if (!quiet) printf("\n== analyze\n");
        fflush(stdout);
        char *av[] = {"analyze", sqd, "--out", (char *)dir, quiet ? "--quiet" : NULL, NULL};
        optind = 1;
        rc = sq_cmd_analyze(quiet ? 5 : 4, av);
        if (rc) goto done;
    }

    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "out", json_string(dir));
        json_object_set_new(o, "seconds", json_real(sq_now_s() - t0));
        json_t *files = json_array();
        const char *names[] = {"shop.sqd", "ingest.json", "stats.json", "report.html",
                               "analysis.json", "rfm.csv"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            char *p = join(dir, names[i]);
            json_array_append_new(files, json_string(p));
            free(p);
        }
        if (optind >= argc) json_array_append_new(files, json_string(events));
        json_object_set_new(o, "files", files);
        json_object_set_new(o, "ingest", json_load_file(ingest_json, 0, NULL));
        json_object_set_new(o, "stats", json_load_file(stats_json, 0, NULL));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
        goto done;
    }
    printf("\nshopseq run: done in %.1fs; outputs in %s/ (shop.sqd, stats.json, report.html, "
           "analysis.json, rfm.csv%s)\n", sq_now_s() - t0, dir,
           optind >= argc ? ", events.csv + truth" : "");
    goto done;
nomem:
    sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
    rc = sq_cli_fail("run", &err);
done:
    if (n_inputs && inputs && inputs[0] == events) free(inputs);
    free(events);
    free(sqd);
    free(ingest_json);
    free(stats_json);
    sq_ingest_options_free(&io);
    return rc;
}
