/* shopseq compare: train several models on the same split, evaluate them with the same
 * protocol, one table. The work is sq_compare_run (include/shopseq/compare.h); this file
 * parses flags and prints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "shopseq/compare.h"
#include "shopseq/dataset.h"
#include "shopseq/train.h"

static const char usage_text[] =
    "usage: shopseq compare DATA.sqd [--models LIST] [options]\n"
    "\n"
    "Trains each model with its paper's defaults (docs/models.md) on the same leave-one-out\n"
    "split, keeps the epoch with the best validation NDCG@10, and evaluates all of them the\n"
    "same way: test event of every user with >= 3 events, full-catalogue ranking, the user's\n"
    "earlier items excluded (unless --no-mask-history). One table (or JSON): HR/NDCG/MRR@10\n"
    "and @20, catalogue coverage of the top-10 lists, training time, training events/s, peak\n"
    "RSS, parameters.\n"
    "\n"
    "  --models LIST       comma-separated (default sasrec,bert4rec,gru4rec,lstm,caser,pop,\n"
    "                      itemknn,markov)\n"
    "  --epochs N          epochs for the neural models (20); the counting baselines take one\n"
    "                      pass\n"
    "  --max-seconds S     training time limit per model (0 = none)\n"
    "  --eval-every N      validate every N epochs (max(1, epochs/5))\n"
    "  --patience N        early stop after N validations without improvement (3)\n"
    "  --lr-drop F         on a plateau go back to the best epoch and multiply the\n"
    "                      learning rate by F instead of stopping (0 = stop)\n"
    "  --lr-drops N        at most N such drops (2)\n"
    "  --eval-users N      validation users (0 = all)\n"
    "  --test-users N      test users (0 = all)\n"
    "  --maxlen N          override every model's maxlen (e.g. 50 for short histories)\n"
    "  --batch N           override every model's batch\n"
    "  --dim N             override the neural models' hidden size\n"
    "  --loss KIND         override the neural models' loss where they have it: ce, sampled,\n"
    "                      bce (not bert4rec), shared (batch targets + --negatives shared\n"
    "                      uniform items; not sasrec), bpr-max (gru4rec, lstm: BPR-max\n"
    "                      over the shared candidates)\n"
    "  --negatives N       negatives per row for sampled/bce; sampled items for\n"
    "                      shared/bpr-max\n"
    "  --bpreg X           bpr-max score regularisation (1.0)\n"
    "  --final-elu A       bpr-max: ELU(alpha A) on the scores first (0.5; 0 = none)\n"
    "  --sample-alpha A    shared/bpr-max samples by training popularity^A (gru4rec, lstm;\n"
    "                      0 = uniform) (0)\n"
    "  --logq X            shared: logQ correction of the sampled softmax (0 = none) (0)\n"
    "  --batching KIND     gru4rec's mini-batches: padded or session-parallel (padded)\n"
    "  --dropout P         override the neural models' dropout\n"
    "  --features LIST     side embeddings in every neural model, comma-separated: behavior,\n"
    "                      category, price, gap (see shopseq train --help); none (default), all\n"
    "  --behavior          the same as --features behavior\n"
    "  --lr X              AdamW learning rate (0.001)\n"
    "  --seed N            (42)\n"
    "  --threads N         OpenMP threads (default: all cores)\n"
    "  --test-data T.sqd   session protocol (GRU4Rec's): train on every event of DATA, no\n"
    "                      validation (fixed --epochs), then predict every next event of the\n"
    "                      sequences in T.sqd (items matched by original id), all items\n"
    "                      ranked, nothing masked, ties counted against the model;\n"
    "                      HR is then Recall@K\n"
    "  --no-mask-history   leave-one-out ranks the items the user already had too, in\n"
    "                      validation and test (shops where re-viewing and re-buying are\n"
    "                      normal, as Taobao); the protocol line says so\n"
    "  --json              JSON on stdout instead of the table\n"
    "  --quiet             no training progress on stderr\n"
    "  -h, --help          this text\n"
    "\n"
    "example:\n"
    "  shopseq compare beauty.sqd --models sasrec,gru4rec,pop,markov --epochs 10\n";

int sq_cmd_compare(int argc, char **argv) {
    enum { O_MODELS = 256, O_EPOCHS, O_MAXSEC, O_EVERY, O_PAT, O_LR_DROP, O_LR_DROPS, O_EVU, O_TESTU, O_MAXLEN, O_BATCH,
           O_LR, O_SEED, O_THREADS, O_JSON, O_QUIET, O_TEST, O_DIM, O_LOSS, O_NEG, O_DROP, O_BEH, O_FEAT, O_KEEP,
           O_BPREG, O_ELU, O_ALPHA, O_BATCHING, O_LOGQ };
    static const struct option opts[] = {
        {"models", required_argument, 0, O_MODELS}, {"epochs", required_argument, 0, O_EPOCHS},
        {"max-seconds", required_argument, 0, O_MAXSEC},
        {"eval-every", required_argument, 0, O_EVERY},
        {"patience", required_argument, 0, O_PAT},
        {"lr-drop", required_argument, 0, O_LR_DROP}, {"lr-drops", required_argument, 0, O_LR_DROPS}, {"eval-users", required_argument, 0, O_EVU},
        {"test-users", required_argument, 0, O_TESTU}, {"maxlen", required_argument, 0, O_MAXLEN},
        {"batch", required_argument, 0, O_BATCH}, {"lr", required_argument, 0, O_LR},
        {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"test-data", required_argument, 0, O_TEST}, {"dim", required_argument, 0, O_DIM},
        {"loss", required_argument, 0, O_LOSS}, {"negatives", required_argument, 0, O_NEG},
        {"dropout", required_argument, 0, O_DROP}, {"behavior", no_argument, 0, O_BEH}, {"features", required_argument, 0, O_FEAT}, {"json", no_argument, 0, O_JSON}, {"no-mask-history", no_argument, 0, O_KEEP}, {"quiet", no_argument, 0, O_QUIET},
        {"bpreg", required_argument, 0, O_BPREG}, {"final-elu", required_argument, 0, O_ELU},
        {"sample-alpha", required_argument, 0, O_ALPHA}, {"logq", required_argument, 0, O_LOGQ},
        {"batching", required_argument, 0, O_BATCHING},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    char models_buf[512] = "sasrec,bert4rec,gru4rec,lstm,caser,pop,itemknn,markov";
    sq_compare_opts st;
    sq_compare_opts_init(&st);
    int threads = 0, json = 0, quiet = 0;
    const char *test_path = NULL;
    sq_dataset test = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        uint64_t u;
        double x;
        switch (c) {
        case 'h': fputs(usage_text, stdout); return SQ_EXIT_OK;
        case O_MODELS:
            if (strlen(optarg) >= sizeof models_buf)
                return sq_cli_usage("compare", "--models list too long");
            snprintf(models_buf, sizeof models_buf, "%s", optarg);
            break;
#define UINT(code, flag, lo, hi, dst)                                                    \
    case code:                                                                          \
        if (sq_cli_parse_u64(optarg, &u) || u + 1 < (uint64_t)(lo) + 1 || u > (hi))     \
            return sq_cli_usage("compare", flag " needs an integer in [%llu, %llu], got '%s'", \
                                (unsigned long long)(lo), (unsigned long long)(hi), optarg); \
        dst = u;                                                                        \
        break;
            UINT(O_EPOCHS, "--epochs", 1, 1000000, st.epochs)
            UINT(O_EVERY, "--eval-every", 0, 1000000, st.eval_every)
            UINT(O_PAT, "--patience", 0, 1000000, st.patience)
            UINT(O_LR_DROPS, "--lr-drops", 1, 1000, st.lr_drops)
            UINT(O_EVU, "--eval-users", 0, 4000000000u, st.eval_users)
            UINT(O_TESTU, "--test-users", 0, 4000000000u, st.test_users)
            UINT(O_MAXLEN, "--maxlen", 1, 4096, st.maxlen)
            UINT(O_BATCH, "--batch", 1, 65536, st.batch)
            UINT(O_THREADS, "--threads", 1, 1024, threads)
            UINT(O_DIM, "--dim", 1, 4096, st.dim)
            UINT(O_NEG, "--negatives", 1, 100000, st.negatives)
            UINT(O_SEED, "--seed", 0, UINT64_MAX, st.seed)
#undef UINT
        case O_MAXSEC:
            if (sq_cli_parse_double(optarg, &x) || x < 0)
                return sq_cli_usage("compare", "--max-seconds needs a number >= 0, got '%s'", optarg);
            st.max_seconds = x;
            break;
        case O_LR_DROP:
            if (sq_cli_parse_double(optarg, &x) || x < 0 || x >= 1)
                return sq_cli_usage("compare", "--lr-drop needs a number in [0, 1), got '%s'", optarg);
            st.lr_drop = (float)x;
            break;
        case O_LR:
            if (sq_cli_parse_double(optarg, &x) || x <= 0 || x > 10)
                return sq_cli_usage("compare", "--lr needs a number in (0, 10], got '%s'", optarg);
            st.lr = (float)x;
            break;
        case O_TEST: test_path = optarg; break;
        case O_LOSS:
            st.loss = sq_loss_from_name(optarg);
            if (st.loss < 0)
                return sq_cli_usage("compare", "--loss must be ce, sampled, bce, shared or bpr-max");
            break;
        case O_LOGQ:
            if (sq_cli_parse_double(optarg, &x) || x < 0 || x > 10)
                return sq_cli_usage("compare", "--logq needs a number in [0, 10], got '%s'", optarg);
            st.logq = x;
            break;
        case O_BPREG:
        case O_ELU:
        case O_ALPHA:
            if (sq_cli_parse_double(optarg, &x) || x < 0 || x > 1e6)
                return sq_cli_usage("compare", "%s needs a number >= 0, got '%s'",
                                    c == O_BPREG ? "--bpreg" : c == O_ELU ? "--final-elu" : "--sample-alpha",
                                    optarg);
            if (c == O_BPREG) st.bpreg = x;
            else if (c == O_ELU) st.final_elu = x;
            else st.sample_alpha = x;
            break;
        case O_BATCHING:
            if (sq_batching_from_name(optarg) < 0)
                return sq_cli_usage("compare", "--batching must be padded or session-parallel, got '%s'",
                                    optarg);
            st.batching = sq_batching_from_name(optarg);
            break;
        case O_DROP:
            if (sq_cli_parse_double(optarg, &x) || x < 0 || x >= 1)
                return sq_cli_usage("compare", "--dropout needs a number in [0, 1), got '%s'", optarg);
            st.dropout = x;
            break;
        case O_BEH: st.features |= SQ_FEAT_BEHAVIOR; break;
        case O_FEAT: {
            sq_error ferr = {0};
            int mask = sq_features_parse(optarg, &ferr);
            if (mask < 0) return sq_cli_usage("compare", "--features: %s", ferr.msg);
            st.features = mask | (st.features & SQ_FEAT_BEHAVIOR);
            break;
        }
        case O_JSON: json = 1; break;
        case O_KEEP: st.keep_history = 1; break;
        case O_QUIET: quiet = 1; break;
        default: return sq_cli_usage("compare", "bad option");
        }
    }
    if (optind + 1 != argc) return sq_cli_usage("compare", "expected one DATA.sqd argument");
    if (!st.eval_every) st.eval_every = st.epochs / 5 > 1 ? st.epochs / 5 : 1;
    /* the model list, checked before any work */
    const char *names[SQ_COMPARE_MAX_MODELS];
    int n_models = 0;
    for (char *tok = strtok(models_buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!*tok) continue;
        if (!sq_model_known(tok))
            return sq_cli_usage("compare", "unknown model '%s' (known: %s)", tok, sq_model_names());
        if (n_models == SQ_COMPARE_MAX_MODELS) return sq_cli_usage("compare", "at most 32 models");
        names[n_models++] = tok;
    }
    if (!n_models) return sq_cli_usage("compare", "--models is empty");
    st.log = quiet ? NULL : stderr;
    st.log_training = 1;
    sq_nn_init(threads);
    sq_error err = {0};
    sq_dataset ds = {0};
    if (sq_dataset_open(&ds, argv[optind], &err) != SQ_OK) return sq_cli_fail("compare", &err);
    sq_model_config fcfg; /* a missing column fails here, not once per model */
    sq_model_config_default(&fcfg);
    sq_features_set(&fcfg, st.features);
    if (sq_features_prepare(&fcfg, &ds, &err) != SQ_OK) {
        sq_dataset_close(&ds);
        return sq_cli_fail("compare", &err);
    }
    if (test_path) {
        if (sq_dataset_open(&test, test_path, &err) != SQ_OK) {
            sq_dataset_close(&ds);
            return sq_cli_fail("compare", &err);
        }
        st.test = &test;
    }
    sq_compare_result *res = malloc(sizeof *res);
    sq_status s = res ? sq_compare_run(&ds, argv[optind], names, n_models, &st, res, &err)
                      : sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
    sq_dataset_close(&ds);
    sq_dataset_close(&test);
    if (s != SQ_OK) {
        free(res);
        return sq_cli_fail("compare", &err);
    }
    if (json) sq_compare_write_json(stdout, res);
    else sq_compare_write_table(stdout, res);
    int failed = sq_compare_failed(res);
    free(res);
    if (failed) {
        fprintf(stderr, "shopseq compare: %d of %d models failed\n", failed, n_models);
        return SQ_EXIT_FAIL;
    }
    return SQ_EXIT_OK;
}
