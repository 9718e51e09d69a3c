/* shopseq: one binary, one subcommand per file (src/cli/cmd_<name>.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"run", sq_cmd_run, "the main job: synth (if no input) -> ingest -> stats -> report"},
    {"synth", sq_cmd_synth, "write a realistic synthetic shop log (the bundled default data)"},
    {"ingest", sq_cmd_ingest, "clean raw logs (CSV/TSV/JSON Lines, gz/zst) into a .sqd dataset"},
    {"stats", sq_cmd_stats, "one-screen summary of a .sqd dataset"},
    {"train", sq_cmd_train, "train a sequence model (SASRec) into a .safetensors checkpoint"},
    {"eval", sq_cmd_eval, "HR/NDCG/MRR@K of a model, leave-one-out, full-catalogue ranking"},
    {"recommend", sq_cmd_recommend, "top-K next items for one user or all users"},
    {"compare", sq_cmd_compare, "train several models on one split, one comparison table"},
    {"predict", sq_cmd_predict, "purchase / churn / next-behaviour / item scores at a time cut; --evaluate"},
    {"serve", sq_cmd_serve, "online service: events in, recommendations out (HTTP JSON)"},
    {"analyze", sq_cmd_analyze, "funnel, retention, activity, top items, RFM -> JSON, CSV, HTML report"},
};

static void usage(FILE *fp) {
    fprintf(fp, "shopseq %s - e-commerce behaviour sequences: ingest, analyse, model, serve\n\n"
                "usage: shopseq <command> [options]   (shopseq <command> --help for details)\n\n"
                "commands:\n", SHOPSEQ_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return SQ_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return SQ_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("shopseq %s\n", SHOPSEQ_VERSION_STRING);
        return SQ_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "shopseq: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return SQ_EXIT_USAGE;
}
