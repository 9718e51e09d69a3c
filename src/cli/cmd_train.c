/* shopseq train: fit a sequence model on a .sqd dataset (leave-one-out split). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "shopseq/dataset.h"
#include "shopseq/train.h"

static const char usage_text[] =
    "usage: shopseq train DATA.sqd --model sasrec [options] --out MODEL.safetensors\n"
    "\n"
    "Trains on each user's events except the last two (leave-one-out: the second-last is\n"
    "validation, the last is test), validates with full-catalogue NDCG@10 and keeps the best\n"
    "epoch (early stopping). The checkpoint holds weights, config, optimizer state and the\n"
    "dataset fingerprints; --resume continues from one.\n"
    "\n"
    "  --model NAME        sasrec (default), gru4rec, lstm, caser, bert4rec, pop, markov,\n"
    "                      itemknn; sets that model's defaults (docs/models.md), which the\n"
    "                      other flags then override\n"
    "  --dim N             hidden size (50)\n"
    "  --blocks N          transformer blocks (2)\n"
    "  --heads N           attention heads (1)\n"
    "  --maxlen N          longest input sequence (200)\n"
    "  --dropout P         dropout rate (0.2)\n"
    "  --features LIST     side embeddings added to each event's input, comma-separated:\n"
    "                      behavior (event type), category, price (the item's price decile),\n"
    "                      gap (log2 time since the user's previous event); none (default,\n"
    "                      = the paper), all. Each needs its column in DATA\n"
    "  --behavior          the same as --features behavior (kept for old scripts)\n"
    "  --mask-prob P       bert4rec: Cloze masking probability (0.6)\n"
    "  --mask-last P       bert4rec: mask only the last event of a training sequence with\n"
    "                      probability P, the recommendation task itself (0; the\n"
    "                      official code's data has one such sequence per 11, P = 0.09)\n"
    "  --output-bias 0|1   bert4rec: the masked-LM head's per-item output bias (1, the\n"
    "                      paper; it needs --loss ce, and is off by default otherwise)\n"
    "  --init-std X        sasrec: initialise every matrix from N(0, X) instead of the\n"
    "                      paper's xavier normal (0 = xavier; 0.02 = RecBole's choice)\n"
    "  --loss KIND         bce (one sampled negative, the paper), ce (full softmax),\n"
    "                      sampled (sampled softmax with --negatives) (bce)\n"
    "                      shared (bert4rec, gru4rec, lstm, caser: softmax over the batch's\n"
    "                      targets plus --negatives uniform items shared by all rows),\n"
    "                      bpr-max (gru4rec, lstm: BPR-max over the same candidates)\n"
    "  --negatives N       negatives per position for bce/sampled; sampled items for\n"
    "                      shared/bpr-max (1)\n"
    "  --bpreg X           bpr-max score regularisation (1.0)\n"
    "  --final-elu A       bpr-max: ELU(alpha A) on the scores first (0.5; 0 = none)\n"
    "  --sample-alpha A    shared/bpr-max (gru4rec, lstm): draw the --negatives items by\n"
    "                      training popularity^A (the official GRU4Rec's; 0 = uniform) (0)\n"
    "  --logq X            shared: logQ correction of the sampled softmax, the official\n"
    "                      GRU4Rec's logq (0 = none) (0)\n"
    "  --batching KIND     padded (whole sequences, the last --maxlen events, full BPTT) or\n"
    "                      session-parallel (gru4rec: --batch slots walk the sequences one\n"
    "                      event per step, state carried, the official GRU4Rec's) (padded)\n"
    "  --lr X              AdamW learning rate (0.001)\n"
    "  --weight-decay X    AdamW decoupled weight decay (0)\n"
    "  --batch N           sequences per step (128)\n"
    "  --epochs N          maximum epochs (200)\n"
    "  --eval-every N      validate every N epochs (5; 0 = never)\n"
    "  --patience N        stop after N validations without improvement (5; 0 = never)\n"
    "  --eval-users N      validate on the first N users only (0 = all)\n"
    "  --lr-drop F         on a plateau (--patience validations without gain) go back to\n"
    "                      the best epoch's weights and multiply the learning rate by F\n"
    "                      instead of stopping (0 = stop; e.g. 0.1)\n"
    "  --lr-drops N        at most N such drops, then stop (2)\n"
    "  --max-seconds S     stop training after S seconds (0 = no limit)\n"
    "  --seed N            initialisation, data order, negatives, dropout (42)\n"
    "  --threads N         OpenMP threads (default: all cores)\n"
    "  --resume FILE       continue from a checkpoint written by train\n"
    "  --out FILE          checkpoint to write (required)\n"
    "  --quiet             no progress output\n"
    "  -h, --help          this text\n"
    "\n"
    "example:\n"
    "  shopseq train beauty.sqd --model sasrec --maxlen 50 --loss ce --epochs 100 \\\n"
    "      --out beauty.safetensors\n";

enum {
    O_MODEL = 256, O_DIM, O_BLOCKS, O_HEADS, O_MAXLEN, O_DROPOUT, O_BEHAVIOR, O_FEATURES, O_LOSS,
    O_NEG, O_LR, O_WD, O_INIT_STD, O_MASK_PROB, O_MASK_LAST, O_OUT_BIAS, O_BATCH, O_EPOCHS, O_EVAL_EVERY, O_PATIENCE, O_EVAL_USERS,
    O_MAXSEC, O_LR_DROP, O_LR_DROPS, O_SEED,
    O_THREADS, O_RESUME, O_OUT, O_QUIET, O_BPREG, O_ELU, O_ALPHA, O_BATCHING, O_LOGQ
};

static int num(const char *flag, const char *s, double lo, double hi, double *out) {
    if (sq_cli_parse_double(s, out) != 0 || *out < lo || *out > hi) {
        sq_cli_usage("train", "%s needs a number in [%g, %g], got '%s'", flag, lo, hi, s);
        return -1;
    }
    return 0;
}

int sq_cmd_train(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"dim", required_argument, 0, O_DIM},
        {"blocks", required_argument, 0, O_BLOCKS}, {"heads", required_argument, 0, O_HEADS},
        {"maxlen", required_argument, 0, O_MAXLEN}, {"dropout", required_argument, 0, O_DROPOUT},
        {"behavior", no_argument, 0, O_BEHAVIOR}, {"features", required_argument, 0, O_FEATURES},
        {"loss", required_argument, 0, O_LOSS},
        {"negatives", required_argument, 0, O_NEG}, {"lr", required_argument, 0, O_LR},
        {"weight-decay", required_argument, 0, O_WD},
        {"init-std", required_argument, 0, O_INIT_STD},
        {"mask-prob", required_argument, 0, O_MASK_PROB},
        {"mask-last", required_argument, 0, O_MASK_LAST},
        {"output-bias", required_argument, 0, O_OUT_BIAS}, {"batch", required_argument, 0, O_BATCH},
        {"epochs", required_argument, 0, O_EPOCHS},
        {"eval-every", required_argument, 0, O_EVAL_EVERY},
        {"patience", required_argument, 0, O_PATIENCE},
        {"eval-users", required_argument, 0, O_EVAL_USERS},
        {"max-seconds", required_argument, 0, O_MAXSEC},
        {"lr-drop", required_argument, 0, O_LR_DROP}, {"lr-drops", required_argument, 0, O_LR_DROPS}, {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS}, {"resume", required_argument, 0, O_RESUME},
        {"out", required_argument, 0, O_OUT}, {"quiet", no_argument, 0, O_QUIET},
        {"bpreg", required_argument, 0, O_BPREG}, {"final-elu", required_argument, 0, O_ELU},
        {"sample-alpha", required_argument, 0, O_ALPHA}, {"logq", required_argument, 0, O_LOGQ},
        {"batching", required_argument, 0, O_BATCHING},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    sq_model_config cfg;
    sq_model_config_default(&cfg);
    sq_train_opts to = {.epochs = 200, .lr = 1e-3f, .eval_every = 5, .patience = 5, .lr_drops = 2};
    const char *out = NULL, *resume = NULL;
    int threads = 0, quiet = 0, out_bias = -1;
    double x;
    /* --model first: its defaults, then the other flags override them */
    for (int i = 1; i < argc; i++) {
        const char *name = NULL;
        if (!strcmp(argv[i], "--model") && i + 1 < argc) name = argv[i + 1];
        else if (!strncmp(argv[i], "--model=", 8)) name = argv[i] + 8;
        if (!name) continue;
        sq_error perr = {0};
        if (sq_model_config_preset(&cfg, name, &perr) != SQ_OK)
            return sq_cli_usage("train", "%s", perr.msg);
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage_text, stdout); return SQ_EXIT_OK;
        case O_MODEL: /* applied before the loop (the model's defaults come first) */
            break;
#define INTFLAG(code, name, lo, hi, dst)                              \
    case code:                                                        \
        if (num(name, optarg, lo, hi, &x)) return SQ_EXIT_USAGE;      \
        if (x != (double)(long long)x)                                \
            return sq_cli_usage("train", "%s needs an integer", name); \
        dst = (int)x;                                                 \
        break;
            INTFLAG(O_DIM, "--dim", 1, 4096, cfg.dim)
            INTFLAG(O_BLOCKS, "--blocks", 0, 64, cfg.blocks)
            INTFLAG(O_HEADS, "--heads", 1, 64, cfg.heads)
            INTFLAG(O_MAXLEN, "--maxlen", 1, 4096, cfg.maxlen)
            INTFLAG(O_NEG, "--negatives", 1, 10000, cfg.negatives)
            INTFLAG(O_BATCH, "--batch", 1, 65536, cfg.batch)
            INTFLAG(O_EPOCHS, "--epochs", 1, 1000000, to.epochs)
            INTFLAG(O_EVAL_EVERY, "--eval-every", 0, 1000000, to.eval_every)
            INTFLAG(O_PATIENCE, "--patience", 0, 1000000, to.patience)
            INTFLAG(O_THREADS, "--threads", 1, 1024, threads)
            INTFLAG(O_LR_DROPS, "--lr-drops", 1, 1000, to.lr_drops)
            INTFLAG(O_OUT_BIAS, "--output-bias", 0, 1, out_bias)
#undef INTFLAG
        case O_EVAL_USERS:
            if (num("--eval-users", optarg, 0, 4e9, &x)) return SQ_EXIT_USAGE;
            to.eval_users = (uint32_t)x;
            break;
        case O_DROPOUT:
            if (num("--dropout", optarg, 0, 0.99, &x)) return SQ_EXIT_USAGE;
            cfg.dropout = (float)x;
            break;
        case O_MASK_PROB:
            if (num("--mask-prob", optarg, 0.01, 1, &x)) return SQ_EXIT_USAGE;
            cfg.mask_prob = (float)x;
            break;
        case O_MASK_LAST:
            if (num("--mask-last", optarg, 0, 1, &x)) return SQ_EXIT_USAGE;
            cfg.mask_last = (float)x;
            break;
        case O_INIT_STD:
            if (num("--init-std", optarg, 0, 1, &x)) return SQ_EXIT_USAGE;
            cfg.init_std = (float)x;
            break;
        case O_LR:
            if (num("--lr", optarg, 0, 10, &x)) return SQ_EXIT_USAGE;
            to.lr = (float)x;
            break;
        case O_WD:
            if (num("--weight-decay", optarg, 0, 10, &x)) return SQ_EXIT_USAGE;
            to.weight_decay = (float)x;
            break;
        case O_LR_DROP:
            if (num("--lr-drop", optarg, 0, 0.999, &x)) return SQ_EXIT_USAGE;
            to.lr_drop = (float)x;
            break;
        case O_MAXSEC:
            if (num("--max-seconds", optarg, 0, 1e9, &x)) return SQ_EXIT_USAGE;
            to.max_seconds = x;
            break;
        case O_SEED: {
            uint64_t s;
            if (sq_cli_parse_u64(optarg, &s)) return sq_cli_usage("train", "bad --seed '%s'", optarg);
            cfg.seed = s;
            break;
        }
        case O_BEHAVIOR: cfg.use_behavior = 1; break;
        case O_FEATURES: {
            sq_error ferr = {0};
            int mask = sq_features_parse(optarg, &ferr);
            if (mask < 0) return sq_cli_usage("train", "--features: %s", ferr.msg);
            sq_features_set(&cfg, mask | (cfg.use_behavior ? SQ_FEAT_BEHAVIOR : 0));
            break;
        }
        case O_LOSS: {
            int l = sq_loss_from_name(optarg);
            if (l < 0)
                return sq_cli_usage("train", "--loss must be bce, ce, sampled, shared or bpr-max, got '%s'",
                                    optarg);
            cfg.loss = (sq_loss_kind)l;
            break;
        }
        case O_BPREG:
            if (num("--bpreg", optarg, 0, 1e6, &x)) return SQ_EXIT_USAGE;
            cfg.bpreg = (float)x;
            break;
        case O_ELU:
            if (num("--final-elu", optarg, 0, 1e6, &x)) return SQ_EXIT_USAGE;
            cfg.final_elu = (float)x;
            break;
        case O_ALPHA:
            if (num("--sample-alpha", optarg, 0, 10, &x)) return SQ_EXIT_USAGE;
            to.sample_alpha = (float)x;
            break;
        case O_LOGQ:
            if (num("--logq", optarg, 0, 10, &x)) return SQ_EXIT_USAGE;
            to.logq = (float)x;
            break;
        case O_BATCHING:
            if (sq_batching_from_name(optarg) < 0)
                return sq_cli_usage("train", "--batching must be padded or session-parallel, got '%s'",
                                    optarg);
            to.batching = (sq_batching)sq_batching_from_name(optarg);
            break;
        case O_RESUME: resume = optarg; break;
        case O_OUT: out = optarg; break;
        case O_QUIET: quiet = 1; break;
        default: return sq_cli_usage("train", "bad option");
        }
    }
    if (optind + 1 != argc) return sq_cli_usage("train", "expected one DATA.sqd argument");
    if (!out) return sq_cli_usage("train", "--out FILE is required");
    /* model-specific knobs: refused where the model would ignore them */
    if (cfg.init_std > 0.0f && strcmp(cfg.model, "sasrec") != 0)
        return sq_cli_usage("train", "--init-std applies to sasrec only (model '%s')", cfg.model);
    if (cfg.mask_prob > 0.0f && strcmp(cfg.model, "bert4rec") != 0)
        return sq_cli_usage("train", "--mask-prob applies to bert4rec only (model '%s')", cfg.model);
    if (cfg.mask_last > 0.0f && strcmp(cfg.model, "bert4rec") != 0)
        return sq_cli_usage("train", "--mask-last applies to bert4rec only (model '%s')", cfg.model);
    if (out_bias >= 0 && strcmp(cfg.model, "bert4rec") != 0)
        return sq_cli_usage("train", "--output-bias applies to bert4rec only (model '%s')", cfg.model);
    if (out_bias >= 0) cfg.output_bias = out_bias;
    if (cfg.dim % cfg.heads)
        return sq_cli_usage("train", "--dim (%d) must be a multiple of --heads (%d)", cfg.dim, cfg.heads);
    sq_nn_init(threads);
    sq_error err = {0};
    sq_dataset ds = {0};
    if (sq_dataset_open(&ds, argv[optind], &err) != SQ_OK) return sq_cli_fail("train", &err);
    sq_model *m = NULL;
    sq_status st;
    if (resume) {
        st = sq_model_load(&m, resume, &err);
        if (st == SQ_OK) st = sq_check_fingerprint(resume, &ds, &err);
    } else {
        cfg.n_items = (int)ds.n_items;
        st = sq_model_create_for(&m, &cfg, &ds, &err);
    }
    if (st != SQ_OK) {
        sq_model_free(m);
        sq_dataset_close(&ds);
        return sq_cli_fail("train", &err);
    }
    to.out = out;
    to.resume = resume;
    to.log = quiet ? NULL : stderr;
    to.progress = !quiet && isatty(fileno(stderr));
    char feats[64];
    if (!quiet)
        fprintf(stderr,
                "train %s: %u users, %u items, %llu events; dim %d, blocks %d, heads %d, maxlen "
                "%d, loss %s, features %s, %zu parameters, %d threads\n",
                m->cfg.model, ds.n_users, ds.n_items, (unsigned long long)ds.n_events, m->cfg.dim,
                m->cfg.blocks, m->cfg.heads, m->cfg.maxlen, sq_loss_name(m->cfg.loss),
                sq_features_name(sq_features_mask(&m->cfg), feats, sizeof feats), m->params.total,
                sq_nn_threads());
    sq_train_result r;
    st = sq_train(m, &ds, &to, &r, &err);
    if (st == SQ_OK && !quiet) {
        char best[96] = "no validation";
        if (r.best_epoch > 0)
            snprintf(best, sizeof best, "best validation NDCG@10 %.4f (epoch %d)", r.best_ndcg10,
                     r.best_epoch);
        else if (resume && r.best_ndcg10 >= 0.0) /* the resumed weights stay */
            snprintf(best, sizeof best, "no gain on the resumed checkpoint's validation NDCG@10 %.4f",
                     r.best_ndcg10);
        fprintf(stderr, "done: %d epochs, %.2f s/epoch, %.0f events/s, %s -> %s\n",
                r.epochs_run, r.seconds_per_epoch, r.events_per_second, best, out);
    }
    sq_model_free(m);
    sq_dataset_close(&ds);
    return st == SQ_OK ? SQ_EXIT_OK : sq_cli_fail("train", &err);
}
