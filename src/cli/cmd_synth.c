/* shopseq synth: write a realistic synthetic shop log and its ground truth. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "shopseq/synth.h"

static const char *const CMD = "synth";

static void help(const sq_synth_options *d) {
    printf(
        "usage: shopseq synth [--users N | --events N] [--seed S] [--out FILE.csv] [options]\n"
        "\n"
        "Simulates a shop and writes its event log in the CSV layout that 'shopseq ingest'\n"
        "reads by default (user_id,item_id,category_id,behavior,timestamp,price), plus the\n"
        "ground truth beside it: <stem>.truth.csv (per user: latent type, arrival, churn time,\n"
        "anomaly label and kind) and <stem>.items.csv (per item: category, price, launch time,\n"
        "popularity rank). The simulator models Zipf-like item and category popularity,\n"
        "log-normal prices, new items, users of four latent types with drifting preferences,\n"
        "sessions with a view -> fav -> cart -> buy funnel, cart abandonment, repeat\n"
        "purchases of consumables, daily and weekly rhythm, arrivals, churn, bots and fraud.\n"
        "The same options and seed give byte-identical files. See docs/synth.md.\n"
        "\n"
        "options:\n"
        "  --users N            number of users (default %llu)\n"
        "  --events N           aim at about N events instead (sets --users from a sample)\n"
        "  --seed S             random seed (default %llu)\n"
        "  --out FILE           events file (default %s); a .gz or .zst suffix compresses it\n"
        "  --items N            catalogue size at the end of the span (default %u)\n"
        "  --categories N       number of categories (default %u)\n"
        "  --days N             length of the span in days (default %u)\n"
        "  --start DATE         first day, YYYY-MM-DD (UTC) or Unix seconds (default 2024-01-01)\n"
        "  --churn-rate R       share of users who stop returning within the span (default %.2f)\n"
        "  --anomaly-rate R     share of bots and fraud accounts (default %.2f)\n"
        "  --new-user-share R   share of users arriving during the span (default %.2f)\n"
        "  --new-item-share R   share of items launched during the span (default %.2f)\n"
        "  --activity X         multiplier on session frequency, i.e. events per user (default %.1f)\n"
        "  --drift X            strength of preference drift, 0 = none (default %.1f)\n"
        "  --item-zipf S        Zipf exponent of item popularity in a category (default %.2f)\n"
        "  --category-zipf S    Zipf exponent of category popularity (default %.2f)\n"
        "  --json               print one JSON object on stdout (counts, timing, files)\n"
        "  --quiet              no progress and no summary\n"
        "  -h, --help           this help\n"
        "\n"
        "exit status: 0 ok, 1 failure (reason on stderr), 2 bad usage\n"
        "\n"
        "example:\n"
        "  shopseq synth --users 20000 --seed 7 --out data/demo.csv\n"
        "  (writes data/demo.csv, data/demo.truth.csv, data/demo.items.csv)\n",
        (unsigned long long)d->users, (unsigned long long)d->seed, d->out, d->items,
        d->categories, d->days, d->churn_rate, d->anomaly_rate, d->new_user_share,
        d->new_item_share, d->activity, d->drift, d->item_zipf, d->category_zipf);
}

typedef struct {
    bool tty;
    int last_decile;
    double t0;
} progress_state;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress(void *ctx, uint64_t done, uint64_t total, uint64_t events) {
    progress_state *ps = ctx;
    double pct = total ? 100.0 * (double)done / (double)total : 100.0;
    if (ps->tty) {
        int fill = (int)(pct / 100.0 * 30);
        char bar[31];
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        double el = now_s() - ps->t0;
        fprintf(stderr, "\rsynth [%s] %3.0f%%  users %llu/%llu  events %llu  %.1fs", bar, pct,
                (unsigned long long)done, (unsigned long long)total,
                (unsigned long long)events, el);
        if (done == total) fputc('\n', stderr);
        fflush(stderr);
    } else {
        int decile = (int)(pct / 10.0);
        if (decile > ps->last_decile) {
            ps->last_decile = decile;
            fprintf(stderr, "synth: %d%% users %llu/%llu events %llu\n", decile * 10,
                    (unsigned long long)done, (unsigned long long)total,
                    (unsigned long long)events);
        }
    }
}

static int parse_start(const char *s, int64_t *out) {
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
        if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
        struct tm tm = {0};
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        time_t t = timegm(&tm);
        if (t == (time_t)-1) return -1;
        *out = (int64_t)t;
        return 0;
    }
    return sq_cli_parse_i64(s, out);
}

enum {
    OPT_USERS = 256, OPT_EVENTS, OPT_SEED, OPT_OUT, OPT_ITEMS, OPT_CATEGORIES, OPT_DAYS,
    OPT_START, OPT_CHURN, OPT_ANOMALY, OPT_NEWUSER, OPT_NEWITEM, OPT_ACTIVITY, OPT_DRIFT,
    OPT_IZIPF, OPT_CZIPF, OPT_JSON, OPT_QUIET
};

int sq_cmd_synth(int argc, char **argv) {
    sq_synth_options o, defaults;
    sq_synth_options_init(&o);
    sq_synth_options_init(&defaults);
    uint64_t target_events = 0;
    bool json = false, quiet = false, users_set = false;
    static const struct option opts[] = {
        {"users", required_argument, 0, OPT_USERS},
        {"events", required_argument, 0, OPT_EVENTS},
        {"seed", required_argument, 0, OPT_SEED},
        {"out", required_argument, 0, OPT_OUT},
        {"items", required_argument, 0, OPT_ITEMS},
        {"categories", required_argument, 0, OPT_CATEGORIES},
        {"days", required_argument, 0, OPT_DAYS},
        {"start", required_argument, 0, OPT_START},
        {"churn-rate", required_argument, 0, OPT_CHURN},
        {"anomaly-rate", required_argument, 0, OPT_ANOMALY},
        {"new-user-share", required_argument, 0, OPT_NEWUSER},
        {"new-item-share", required_argument, 0, OPT_NEWITEM},
        {"activity", required_argument, 0, OPT_ACTIVITY},
        {"drift", required_argument, 0, OPT_DRIFT},
        {"item-zipf", required_argument, 0, OPT_IZIPF},
        {"category-zipf", required_argument, 0, OPT_CZIPF},
        {"json", no_argument, 0, OPT_JSON},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        uint64_t u64;
        double dbl;
        const char *name = optind > 1 && optind - 1 < argc ? argv[optind - 1] : "?";
        switch (ch) {
        case 'h': help(&defaults); return SQ_EXIT_OK;
        case OPT_USERS:
            if (sq_cli_parse_u64(optarg, &u64) || u64 < 1)
                return sq_cli_usage(CMD, "--users needs a positive integer, got '%s'", optarg);
            o.users = u64;
            users_set = true;
            break;
        case OPT_EVENTS:
            if (sq_cli_parse_u64(optarg, &u64) || u64 < 1)
                return sq_cli_usage(CMD, "--events needs a positive integer, got '%s'", optarg);
            target_events = u64;
            break;
        case OPT_SEED:
            if (sq_cli_parse_u64(optarg, &u64))
                return sq_cli_usage(CMD, "--seed needs a non-negative integer, got '%s'", optarg);
            o.seed = u64;
            break;
        case OPT_OUT: o.out = optarg; break;
        case OPT_ITEMS:
        case OPT_CATEGORIES:
        case OPT_DAYS:
            if (sq_cli_parse_u64(optarg, &u64) || u64 < 1 || u64 > UINT32_MAX)
                return sq_cli_usage(CMD, "%s needs a positive integer, got '%s'",
                                    ch == OPT_ITEMS ? "--items" : ch == OPT_DAYS ? "--days" : "--categories",
                                    optarg);
            if (ch == OPT_ITEMS) o.items = (uint32_t)u64;
            else if (ch == OPT_DAYS) o.days = (uint32_t)u64;
            else o.categories = (uint32_t)u64;
            break;
        case OPT_START:
            if (parse_start(optarg, &o.start))
                return sq_cli_usage(CMD, "--start needs YYYY-MM-DD or Unix seconds, got '%s'", optarg);
            break;
        case OPT_CHURN: case OPT_ANOMALY: case OPT_NEWUSER: case OPT_NEWITEM:
        case OPT_ACTIVITY: case OPT_DRIFT: case OPT_IZIPF: case OPT_CZIPF:
            if (sq_cli_parse_double(optarg, &dbl))
                return sq_cli_usage(CMD, "%s needs a number, got '%s'", name, optarg);
            if (ch == OPT_CHURN) o.churn_rate = dbl;
            else if (ch == OPT_ANOMALY) o.anomaly_rate = dbl;
            else if (ch == OPT_NEWUSER) o.new_user_share = dbl;
            else if (ch == OPT_NEWITEM) o.new_item_share = dbl;
            else if (ch == OPT_ACTIVITY) o.activity = dbl;
            else if (ch == OPT_DRIFT) o.drift = dbl;
            else if (ch == OPT_IZIPF) o.item_zipf = dbl;
            else o.category_zipf = dbl;
            break;
        case OPT_JSON: json = true; break;
        case OPT_QUIET: quiet = true; break;
        case ':': return sq_cli_usage(CMD, "option %s needs a value", name);
        default: return sq_cli_usage(CMD, "unknown option '%s'", name);
        }
    }
    if (optind < argc) return sq_cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (target_events && users_set) return sq_cli_usage(CMD, "give --users or --events, not both");

    sq_error err;
    sq_error_clear(&err);
    sq_synth_options check = o;
    if (sq_synth_validate(&check, &err) != SQ_OK) return sq_cli_usage(CMD, "%s", err.msg);
    if (target_events && sq_synth_users_for_events(&o, target_events, &o.users, &err) != SQ_OK)
        return sq_cli_fail(CMD, &err);

    progress_state ps = {.tty = isatty(STDERR_FILENO) != 0, .last_decile = 0, .t0 = now_s()};
    if (!quiet) {
        o.progress = progress;
        o.progress_ctx = &ps;
    }
    sq_synth_result res;
    if (sq_synth_run(&o, &res, &err) != SQ_OK) return sq_cli_fail(CMD, &err);
    double eps = res.seconds > 0 ? (double)res.events / res.seconds : 0;
    if (json) {
        printf("{\"events\":%llu,\"users\":%llu,\"items\":%llu,\"categories\":%llu,"
               "\"sessions\":%llu,\"churned_users\":%llu,\"anomalous_users\":%llu,\"by_behavior\":{",
               (unsigned long long)res.events, (unsigned long long)res.users,
               (unsigned long long)res.items, (unsigned long long)res.categories,
               (unsigned long long)res.sessions, (unsigned long long)res.churned_users,
               (unsigned long long)res.anomalous_users);
        const int shown[] = {SQ_BEHAVIOR_VIEW, SQ_BEHAVIOR_FAV, SQ_BEHAVIOR_CART, SQ_BEHAVIOR_BUY};
        for (int k = 0; k < 4; k++)
            printf("%s\"%s\":%llu", k ? "," : "", sq_behavior_name(shown[k]),
                   (unsigned long long)res.by_behavior[shown[k]]);
        printf("},\"seed\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"events_per_s\":%.0f,\"files\":{\"events\":",
               (unsigned long long)o.seed, (unsigned long long)res.bytes, res.seconds, eps);
        sq_cli_json_string(stdout, res.events_path, strlen(res.events_path));
        printf(",\"truth\":");
        sq_cli_json_string(stdout, res.truth_path, strlen(res.truth_path));
        printf(",\"items\":");
        sq_cli_json_string(stdout, res.items_path, strlen(res.items_path));
        printf("}}\n");
    } else if (!quiet) {
        printf("synth: %llu events (%llu views, %llu favs, %llu carts, %llu buys) of %llu users "
               "on %llu items in %.2f s (%.2fM events/s)\n",
               (unsigned long long)res.events, (unsigned long long)res.by_behavior[SQ_BEHAVIOR_VIEW],
               (unsigned long long)res.by_behavior[SQ_BEHAVIOR_FAV],
               (unsigned long long)res.by_behavior[SQ_BEHAVIOR_CART],
               (unsigned long long)res.by_behavior[SQ_BEHAVIOR_BUY], (unsigned long long)res.users,
               (unsigned long long)res.items, res.seconds, eps / 1e6);
        printf("synth: %llu churned, %llu anomalous users; wrote %s, %s, %s\n",
               (unsigned long long)res.churned_users, (unsigned long long)res.anomalous_users,
               res.events_path, res.truth_path, res.items_path);
    }
    sq_synth_result_free(&res);
    return SQ_EXIT_OK;
}
