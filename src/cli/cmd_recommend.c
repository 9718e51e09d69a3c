/* shopseq recommend: next items after a user's full history. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/csvout.h"
#include "cli.h"
#include "shopseq/dataset.h"
#include "shopseq/train.h"

static const char usage_text[] =
    "usage: shopseq recommend MODEL.safetensors --data DATA.sqd (--user ID | --all-users)\n"
    "                         [--k N] [--format table|csv]\n"
    "\n"
    "Top-K next items after each user's full history (as the evaluation does), items the\n"
    "user already had masked. Ids are the original ones from the dataset.\n"
    "\n"
    "  --data FILE         the dataset the model was trained on (required)\n"
    "  --user ID           one user (original id)\n"
    "  --all-users         every user\n"
    "  --k N               items per user (10)\n"
    "  --format F          table (default for --user) or csv: user,rank,item,score\n"
    "  --no-mask-history   allow items the user already had\n"
    "  --threads N         OpenMP threads\n"
    "  -h, --help          this text\n"
    "\n"
    "example:\n"
    "  shopseq recommend beauty.safetensors --data beauty.sqd --all-users --k 10 --format csv\n";

enum { O_DATA = 256, O_USER, O_ALL, O_K, O_FORMAT, O_NOMASK, O_THREADS };

int sq_cmd_recommend(int argc, char **argv) {
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA}, {"user", required_argument, 0, O_USER},
        {"all-users", no_argument, 0, O_ALL}, {"k", required_argument, 0, O_K},
        {"format", required_argument, 0, O_FORMAT}, {"no-mask-history", no_argument, 0, O_NOMASK},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *data = NULL, *user = NULL, *format = NULL;
    int all = 0, mask = 1;
    uint64_t k = 10, threads = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage_text, stdout); return SQ_EXIT_OK;
        case O_DATA: data = optarg; break;
        case O_USER: user = optarg; break;
        case O_ALL: all = 1; break;
        case O_K:
            if (sq_cli_parse_u64(optarg, &k) || k < 1 || k > 10000)
                return sq_cli_usage("recommend", "--k needs 1..10000, got '%s'", optarg);
            break;
        case O_FORMAT:
            if (strcmp(optarg, "csv") && strcmp(optarg, "table"))
                return sq_cli_usage("recommend", "--format must be table or csv");
            format = optarg;
            break;
        case O_NOMASK: mask = 0; break;
        case O_THREADS:
            if (sq_cli_parse_u64(optarg, &threads) || threads < 1 || threads > 1024)
                return sq_cli_usage("recommend", "bad --threads '%s'", optarg);
            break;
        default: return sq_cli_usage("recommend", "bad option");
        }
    }
    if (optind + 1 != argc) return sq_cli_usage("recommend", "expected one MODEL.safetensors");
    if (!data) return sq_cli_usage("recommend", "--data DATA.sqd is required");
    if (!!user == !!all) return sq_cli_usage("recommend", "give exactly one of --user ID or --all-users");
    int csv = format ? !strcmp(format, "csv") : all;
    sq_nn_init((int)threads);
    sq_error err = {0};
    sq_dataset ds = {0};
    if (sq_dataset_open(&ds, data, &err) != SQ_OK) return sq_cli_fail("recommend", &err);
    sq_model *m = NULL;
    sq_status st = sq_model_load(&m, argv[optind], &err);
    if (st == SQ_OK) st = sq_check_fingerprint(argv[optind], &ds, &err);
    uint32_t *users = NULL, *items = NULL;
    float *scores = NULL;
    uint32_t n = 0;
    if (st == SQ_OK) {
        if (user) {
            uint32_t u = sq_dict_find(&ds.users, user, strlen(user));
            if (u == SQ_NONE) st = sq_error_set(&err, SQ_ERR_NOT_FOUND, "unknown user '%s'", user);
            else if ((users = malloc(sizeof *users))) users[n++] = u;
        } else if ((users = malloc((size_t)(ds.n_users ? ds.n_users : 1) * sizeof *users))) {
            for (uint32_t u = 0; u < ds.n_users; u++)
                if (ds.user_offsets[u + 1] > ds.user_offsets[u]) users[n++] = u;
        }
    }
    if (st == SQ_OK && (!users || (k = k > ds.n_items ? ds.n_items : k, 0) ||
                        !(items = malloc((size_t)n * k * sizeof *items)) ||
                        !(scores = malloc((size_t)n * k * sizeof *scores))))
        st = sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
    /* in chunks so that --all-users output streams */
    const uint32_t chunk = 4096;
    if (st == SQ_OK && csv) printf("user,rank,item,score\n");
    for (uint32_t u0 = 0; st == SQ_OK && u0 < n; u0 += chunk) {
        uint32_t nn = n - u0 < chunk ? n - u0 : chunk;
        st = sq_recommend(m, &ds, users + u0, (int)nn, (int)k, mask, items + (size_t)u0 * k,
                          scores + (size_t)u0 * k, &err);
        for (uint32_t i = u0; st == SQ_OK && i < u0 + nn; i++) {
            size_t ul;
            const char *us = sq_dict_get(&ds.users, users[i], &ul);
            if (!csv) printf("user %.*s (%llu events)\n", (int)ul, us,
                             (unsigned long long)(ds.user_offsets[users[i] + 1] - ds.user_offsets[users[i]]));
            for (uint64_t r = 0; r < k; r++) {
                size_t il;
                const char *is = sq_dict_get(&ds.items, items[(size_t)i * k + r], &il);
                if (csv) {
                    sq_csv_write_field(stdout, us, ul);
                    printf(",%llu,", (unsigned long long)r + 1);
                    sq_csv_write_field(stdout, is, il);
                    printf(",%.6g\n", (double)scores[(size_t)i * k + r]);
                } else {
                    printf("  %3llu  %-24.*s %10.4f\n", (unsigned long long)r + 1, (int)il, is,
                           (double)scores[(size_t)i * k + r]);
                }
            }
        }
    }
    free(users);
    free(items);
    free(scores);
    sq_model_free(m);
    sq_dataset_close(&ds);
    return st == SQ_OK ? SQ_EXIT_OK : sq_cli_fail("recommend", &err);
}
