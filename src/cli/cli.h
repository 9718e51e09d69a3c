/* Shared conventions of the shopseq subcommands (exit codes, messages, helpers).
 * Exit 0 on success, 1 on bad input or failure (one-line reason on stderr),
 * 2 on bad usage. */
#ifndef SQ_CLI_CLI_H
#define SQ_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shopseq/status.h"

enum { SQ_EXIT_OK = 0, SQ_EXIT_FAIL = 1, SQ_EXIT_USAGE = 2 };

/* One function per subcommand, in src/cli/cmd_<name>.c. argv[0] is the subcommand. */
int sq_cmd_synth(int argc, char **argv);
int sq_cmd_ingest(int argc, char **argv);
int sq_cmd_stats(int argc, char **argv);
int sq_cmd_run(int argc, char **argv);
int sq_cmd_train(int argc, char **argv);
int sq_cmd_eval(int argc, char **argv);
int sq_cmd_recommend(int argc, char **argv);
int sq_cmd_analyze(int argc, char **argv);
int sq_cmd_compare(int argc, char **argv);
int sq_cmd_serve(int argc, char **argv);
int sq_cmd_predict(int argc, char **argv);

/* Prints "shopseq CMD: message" and returns SQ_EXIT_FAIL. */
int sq_cli_fail(const char *cmd, const sq_error *err);
/* Prints "shopseq CMD: message" + a pointer to --help and returns SQ_EXIT_USAGE. */
int sq_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing for flags: whole string, no overflow. 0 on success. */
int sq_cli_parse_u64(const char *s, uint64_t *out);
int sq_cli_parse_i64(const char *s, int64_t *out);
int sq_cli_parse_double(const char *s, double *out);

/* A JSON string literal (with quotes) of s, for hand-written JSON output. */
void sq_cli_json_string(FILE *fp, const char *s, size_t n);

struct sq_ingest_report;
struct sq_ingest_options;
void sq_cli_print_ingest_report(FILE *fp, const struct sq_ingest_report *r, const char *out);
/* err NULL on success */
void sq_cli_json_ingest_report(FILE *fp, const struct sq_ingest_report *r, const char *out,
                               const sq_error *err);
/* Parses the ingest flags shared by `ingest` and `run`; returns 0, or an exit code. */
int sq_cli_ingest_option(const char *cmd, int opt, const char *arg, struct sq_ingest_options *o);
/* Progress callback for sq_ingest_options.progress (ctx: sq_progress*). */
void sq_cli_ingest_progress(void *ctx, const char *stage, uint64_t done, uint64_t total);
struct sq_dataset;
struct sq_dataset_stats;
void sq_cli_print_stats(FILE *fp, const char *path, const struct sq_dataset *ds,
                        const struct sq_dataset_stats *s);
void sq_cli_json_stats(FILE *fp, const struct sq_dataset *ds, const struct sq_dataset_stats *s);

#endif
