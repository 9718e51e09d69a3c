/* shopseq ingest: raw logs -> .sqd */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/progress.h"
#include "../data/timeparse.h"
#include "cli.h"
#include "ingest_flags.h"
#include "shopseq/ingest.h"

static const char usage_text[] =
    "usage: shopseq ingest FILE... [--preset NAME | --map SPEC] --out OUT.sqd [options]\n"
    "\n"
    "Reads raw behaviour logs (CSV/TSV or JSON Lines; plain, gzip or zstd, detected from the\n"
    "bytes; '-' reads stdin), maps columns and behaviour words onto the canonical event,\n"
    "rejects bad rows (each counted by reason, with file:line examples), sorts each user's\n"
    "events by time (ties keep input order), removes exact duplicates, cuts sessions and\n"
    "writes a .sqd dataset atomically.\n"
    "\n"
    SQ_INGEST_FLAGS_HELP
    "output\n"
    "  --out FILE           the .sqd file to write (required)\n"
    "  --json               print the report as one JSON object on stdout\n"
    "  --quiet              no progress, no table\n"
    "  -h, --help           this text\n"
    "\n"
    "examples:\n"
    "  shopseq ingest UserBehavior.csv.zst --preset taobao --out taobao.sqd\n"
    "  shopseq ingest events.csv --preset retailrocket --out rr.sqd --json\n"
    "  zcat log.gz | shopseq ingest - --map user=uid,item=sku,behavior=act,time=ts \\\n"
    "      --behaviors 1=view,2=cart,3=buy --out shop.sqd\n";

static int parse_duration_s(const char *s, int64_t *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    double mult = 1;
    if (!strcmp(end, "") || !strcmp(end, "s")) mult = 1;
    else if (!strcmp(end, "m")) mult = 60;
    else if (!strcmp(end, "h")) mult = 3600;
    else if (!strcmp(end, "d")) mult = 86400;
    else return -1;
    *out = (int64_t)llround(v * mult);
    return 0;
}

int sq_cli_ingest_option(const char *cmd, int opt, const char *arg, sq_ingest_options *o) {
    sq_error err = {0};
    switch (opt) {
    case OPT_PRESET:
        if (sq_ingest_preset(o, arg, &err) != SQ_OK) return sq_cli_usage(cmd, "%s", err.msg);
        return 0;
    case OPT_MAP:
        if (sq_ingest_parse_map(o, arg, &err) != SQ_OK) return sq_cli_usage(cmd, "%s", err.msg);
        return 0;
    case OPT_BEHAVIORS: o->behaviors = arg; return 0;
    case OPT_DEFAULT_BEHAVIOR: o->default_behavior = arg; return 0;
    case OPT_DELIMITER:
        if (!strcasecmp(arg, "comma")) o->delimiter = ',';
        else if (!strcasecmp(arg, "tab") || !strcmp(arg, "\\t")) o->delimiter = '\t';
        else if (!strcasecmp(arg, "semicolon")) o->delimiter = ';';
        else if (!strcasecmp(arg, "pipe")) o->delimiter = '|';
        else if (!strcasecmp(arg, "space")) o->delimiter = ' ';
        else if (strlen(arg) == 1 && arg[0] != '"') o->delimiter = arg[0];
        else return sq_cli_usage(cmd, "--delimiter: '%s' is not one character or a name", arg);
        return 0;
    case OPT_HEADER: o->header = 1; return 0;
    case OPT_NO_HEADER: o->header = 0; return 0;
    case OPT_FORMAT:
        if (!strcasecmp(arg, "auto")) o->format = SQ_INPUT_AUTO;
        else if (!strcasecmp(arg, "csv") || !strcasecmp(arg, "tsv")) o->format = SQ_INPUT_CSV;
        else if (!strcasecmp(arg, "jsonl") || !strcasecmp(arg, "ndjson")) o->format = SQ_INPUT_JSONL;
        else return sq_cli_usage(cmd, "--format: '%s' is not auto, csv or jsonl", arg);
        return 0;
    case OPT_TIME_FORMAT:
        if (!strcasecmp(arg, "auto")) o->time_format = SQ_TIME_AUTO;
        else if (!strcasecmp(arg, "s") || !strcasecmp(arg, "unix")) o->time_format = SQ_TIME_UNIX_S;
        else if (!strcasecmp(arg, "ms")) o->time_format = SQ_TIME_UNIX_MS;
        else if (!strcasecmp(arg, "iso")) o->time_format = SQ_TIME_ISO;
        else return sq_cli_usage(cmd, "--time-format: '%s' is not auto, s, ms or iso", arg);
        return 0;
    case OPT_YEAR: {
        int64_t y;
        if (sq_cli_parse_i64(arg, &y) || y < 1 || y > 9999)
            return sq_cli_usage(cmd, "--year: '%s' is not a year", arg);
        o->year = (int)y;
        return 0;
    }
    case OPT_SESSION_GAP:
        if (parse_duration_s(arg, &o->session_gap_s) || o->session_gap_s <= 0)
            return sq_cli_usage(cmd, "--session-gap: '%s' is not a duration like 1800, 30m, 2h",
                                arg);
        return 0;
    case OPT_MAX_ERRORS: {
        size_t n = strlen(arg);
        if (n > 1 && arg[n - 1] == '%') {
            char buf[32];
            double r;
            if (n >= sizeof buf) return sq_cli_usage(cmd, "--max-errors: bad value '%s'", arg);
            memcpy(buf, arg, n - 1);
            buf[n - 1] = '\0';
            if (sq_cli_parse_double(buf, &r) || r < 0 || r > 100)
                return sq_cli_usage(cmd, "--max-errors: '%s' is not a percentage", arg);
            o->max_error_ratio = r / 100.0;
            o->max_errors = UINT64_MAX;
        } else {
            uint64_t v;
            if (sq_cli_parse_u64(arg, &v))
                return sq_cli_usage(cmd, "--max-errors: '%s' is not a count or a percentage", arg);
            o->max_errors = v;
            o->max_error_ratio = 1.0;
        }
        return 0;
    }
    case OPT_MAX_LINE: {
        uint64_t v;
        if (sq_cli_parse_u64(arg, &v) || v < 16 || v > (1u << 30))
            return sq_cli_usage(cmd, "--max-line: '%s' is not a size between 16 and 2^30", arg);
        o->max_line = (size_t)v;
        return 0;
    }
    case OPT_STRIP_ZERO_FRACTION: o->flags |= SQ_INGEST_STRIP_ZERO_FRACTION; return 0;
    }
    return sq_cli_usage(cmd, "unknown option");
}

void sq_cli_ingest_progress(void *ctx, const char *stage, uint64_t done, uint64_t total) {
    sq_progress *p = ctx;
    if (!strcmp(stage, "sort")) {
        sq_progress_finish(p, NULL);
        return;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "%.0f MB", (double)done / 1e6);
    sq_progress_update(p, done, total, extra);
}

int sq_cmd_ingest(int argc, char **argv) {
    static const struct option longopts[] = {
        SQ_INGEST_LONG_OPTIONS,
        {"out", required_argument, 0, 'o'},
        {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    sq_ingest_options o;
    sq_ingest_options_init(&o);
    const char *out = NULL;
    int json = 0, quiet = 0, c, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:hq", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h':
            fputs(usage_text, stdout);
            sq_ingest_options_free(&o);
            return SQ_EXIT_OK;
        case '?':
            sq_ingest_options_free(&o);
            return sq_cli_usage("ingest", "unknown or incomplete option '%s'", argv[optind - 1]);
        default:
            if ((rc = sq_cli_ingest_option("ingest", c, optarg, &o)) != 0) {
                sq_ingest_options_free(&o);
                return rc;
            }
        }
    }
    if (!out) {
        sq_ingest_options_free(&o);
        return sq_cli_usage("ingest", "--out FILE.sqd is required");
    }
    if (optind >= argc) {
        sq_ingest_options_free(&o);
        return sq_cli_usage("ingest", "no input files (use - for stdin)");
    }
    sq_progress prog;
    sq_progress_init(&prog, "ingest", quiet || json);
    o.progress = sq_cli_ingest_progress;
    o.progress_ctx = &prog;
    sq_ingest_report rep;
    sq_error err = {0};
    sq_status st = sq_ingest_run((const char *const *)argv + optind, (size_t)(argc - optind), out,
                                 &o, &rep, &err);
    sq_progress_finish(&prog, NULL);
    sq_ingest_options_free(&o);
    if (json) sq_cli_json_ingest_report(stdout, &rep, out, st == SQ_OK ? NULL : &err);
    else if (!quiet || st != SQ_OK) sq_cli_print_ingest_report(st == SQ_OK ? stdout : stderr, &rep,
                                                               st == SQ_OK ? out : NULL);
    if (st != SQ_OK) return st == SQ_ERR_USAGE ? (sq_cli_fail("ingest", &err), SQ_EXIT_USAGE)
                                               : sq_cli_fail("ingest", &err);
    return SQ_EXIT_OK;
}
