/* shopseq eval: ranking metrics of a trained model, leave-one-out test split. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "shopseq/dataset.h"
#include "shopseq/train.h"

static const char usage_text[] =
    "usage: shopseq eval DATA.sqd MODEL.safetensors [--protocol full|sampled100] [--json]\n"
    "\n"
    "HR, NDCG and MRR at 1, 5, 10, 20 on each user's last event (input: all events before\n"
    "it), users with at least 3 events. The default ranks the whole catalogue with the\n"
    "user's earlier items masked; sampled100 ranks the target among 100 uniform items the\n"
    "user never had (the SASRec paper's protocol, for comparison with papers only).\n"
    "Ties count against the model.\n"
    "\n"
    "  --protocol P        full (default) or sampled100\n"
    "  --no-mask-history   rank items the user already had too (re-buying shops)\n"
    "  --split S           test (default) or valid\n"
    "  --users N           evaluate the first N users only (0 = all)\n"
    "  --seed N            negatives of sampled100 (42)\n"
    "  --threads N         OpenMP threads\n"
    "  --json              one JSON object on stdout\n"
    "  -h, --help          this text\n"
    "\n"
    "example:\n"
    "  shopseq eval beauty.sqd beauty.safetensors --json\n";

enum { O_PROTOCOL = 256, O_NOMASK, O_SPLIT, O_USERS, O_SEED, O_THREADS, O_JSON };

int sq_cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {
        {"protocol", required_argument, 0, O_PROTOCOL}, {"no-mask-history", no_argument, 0, O_NOMASK},
        {"split", required_argument, 0, O_SPLIT}, {"users", required_argument, 0, O_USERS},
        {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"json", no_argument, 0, O_JSON}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    sq_eval_opts eo = {.split = SQ_SPLIT_TEST, .protocol = SQ_PROTOCOL_FULL, .mask_history = 1,
                       .seed = 42};
    int json = 0;
    uint64_t threads = 0, v;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage_text, stdout); return SQ_EXIT_OK;
        case O_PROTOCOL:
            if (!strcmp(optarg, "full")) eo.protocol = SQ_PROTOCOL_FULL;
            else if (!strcmp(optarg, "sampled100")) eo.protocol = SQ_PROTOCOL_SAMPLED100;
            else return sq_cli_usage("eval", "--protocol must be full or sampled100, got '%s'", optarg);
            break;
        case O_NOMASK: eo.mask_history = 0; break;
        case O_SPLIT:
            if (!strcmp(optarg, "test")) eo.split = SQ_SPLIT_TEST;
            else if (!strcmp(optarg, "valid")) eo.split = SQ_SPLIT_VALID;
            else return sq_cli_usage("eval", "--split must be test or valid, got '%s'", optarg);
            break;
        case O_USERS:
            if (sq_cli_parse_u64(optarg, &v) || v > UINT32_MAX)
                return sq_cli_usage("eval", "bad --users '%s'", optarg);
            eo.max_users = (uint32_t)v;
            break;
        case O_SEED:
            if (sq_cli_parse_u64(optarg, &eo.seed)) return sq_cli_usage("eval", "bad --seed '%s'", optarg);
            break;
        case O_THREADS:
            if (sq_cli_parse_u64(optarg, &threads) || threads < 1 || threads > 1024)
                return sq_cli_usage("eval", "bad --threads '%s'", optarg);
            break;
        case O_JSON: json = 1; break;
        default: return sq_cli_usage("eval", "bad option");
        }
    }
    if (optind + 2 != argc) return sq_cli_usage("eval", "expected DATA.sqd and MODEL.safetensors");
    sq_nn_init((int)threads);
    sq_error err = {0};
    sq_dataset ds = {0};
    if (sq_dataset_open(&ds, argv[optind], &err) != SQ_OK) return sq_cli_fail("eval", &err);
    sq_model *m = NULL;
    sq_eval_result r;
    sq_status st = sq_model_load(&m, argv[optind + 1], &err);
    if (st == SQ_OK) st = sq_check_fingerprint(argv[optind + 1], &ds, &err);
    if (st == SQ_OK) st = sq_evaluate(m, &ds, &eo, &r, &err);
    sq_model_free(m);
    sq_dataset_close(&ds);
    if (st != SQ_OK) return sq_cli_fail("eval", &err);
    const char *proto = eo.protocol == SQ_PROTOCOL_FULL ? "full" : "sampled100";
    const char *split = eo.split == SQ_SPLIT_TEST ? "test" : "valid";
    if (json) {
        printf("{\"protocol\":\"%s\",\"mask_history\":%s,\"split\":\"%s\",\"users\":%u,"
               "\"seconds\":%.3f,\"metrics\":{",
               proto, eo.mask_history ? "true" : "false", split, r.n_users, r.seconds);
        for (int k = 0; k < SQ_EVAL_NK; k++)
            printf("%s\"HR@%d\":%.6f,\"NDCG@%d\":%.6f,\"MRR@%d\":%.6f", k ? "," : "",
                   sq_eval_ks[k], r.hr[k], sq_eval_ks[k], r.ndcg[k], sq_eval_ks[k], r.mrr[k]);
        printf("}}\n");
    } else {
        printf("protocol: %s%s, leave-one-out %s split, %u users, %.1f s\n",
               eo.protocol == SQ_PROTOCOL_FULL ? "full-catalogue ranking"
                                               : "sampled (target vs 100 uniform negatives)",
               eo.protocol == SQ_PROTOCOL_FULL
                   ? (eo.mask_history ? ", history masked" : ", history NOT masked")
                   : "",
               split, r.n_users, r.seconds);
        printf("  %-6s %8s %8s %8s\n", "K", "HR", "NDCG", "MRR");
        for (int k = 0; k < SQ_EVAL_NK; k++)
            printf("  %-6d %8.4f %8.4f %8.4f\n", sq_eval_ks[k], r.hr[k], r.ndcg[k], r.mrr[k]);
    }
    return SQ_EXIT_OK;
}
