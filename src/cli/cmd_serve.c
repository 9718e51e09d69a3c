/* shopseq serve: the online service (HTTP JSON API; see docs/openapi.yaml). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "shopseq/nn.h"
#include "shopseq/serve.h"

static const char usage_text[] =
    "usage: shopseq serve MODEL.safetensors --data DATA.sqd --state DIR [options]\n"
    "\n"
    "HTTP/1.1 JSON service: POST /v1/events, GET /v1/users/{id}/recommendations,\n"
    "POST /v1/predict, GET /v1/users/{id}/explain, GET /v1/users/{id}/history,\n"
    "POST /v1/admin/reload, GET /healthz, GET /metrics (see docs/openapi.yaml).\n"
    "Events are kept per user in an LMDB store under --state and acknowledged only once\n"
    "durable. SIGHUP (or POST /v1/admin/reload) reloads MODEL and DATA without dropping\n"
    "requests; SIGTERM stops gracefully.\n"
    "\n"
    "  --data FILE          the dataset the model was trained on (required: item dictionary,\n"
    "                       training histories, popularity fallback)\n"
    "  --state DIR          directory of the event store (required; created if missing)\n"
    "  --predict-model FILE a task head saved by shopseq predict --save-model (purchase,\n"
    "                       churn or next-behavior; repeat for several tasks): POST\n"
    "                       /v1/predict answers that task, which is 501 without one\n"
    "  --host ADDR          IPv4 address to listen on (127.0.0.1)\n"
    "  --port N             TCP port (8080; 0 = any free port, see --port-file)\n"
    "  --port-file FILE     write the bound port there once listening\n"
    "  --token-file FILE    bearer token for writes (events, reload); else $SHOPSEQ_TOKEN\n"
    "  --no-auth            allow unauthenticated writes (only without a token; for local tests)\n"
    "  --threads N          HTTP worker threads (16; requests wait in them for the\n"
    "                       shared fsync and scoring batch, so more than the cores)\n"
    "  --score-threads N    OpenMP threads for scoring (0 = OpenMP default)\n"
    "  --max-connections N  concurrent connections (1024)\n"
    "  --timeout S          idle connection timeout in seconds (30)\n"
    "  --max-body BYTES     request body cap (1048576)\n"
    "  --max-body-total BYTES  request bodies held at once over all connections (268435456;\n"
    "                       past it: 503 overloaded, or the connection is closed)\n"
    "  --max-events N       events per POST /v1/events (1000)\n"
    "  --history-cap N      events kept per user in the store (200)\n"
    "  --map-size MB        largest size of the store (1024)\n"
    "  -h, --help           this text\n"
    "\n"
    "example:\n"
    "  echo s3cret > token && shopseq serve m.safetensors --data shop.sqd --state state \\\n"
    "      --port 8080 --token-file token\n"
    "  curl -H 'Authorization: Bearer s3cret' -d '{\"user\":\"u1\",\"item\":\"i9\",\"behavior\":\"view\"}' \\\n"
    "      localhost:8080/v1/events\n"
    "  curl 'localhost:8080/v1/users/u1/recommendations?k=10'\n"
    "  shopseq predict shop.sqd --task churn --out churn.csv --save-model churn.safetensors\n"
    "  shopseq serve m.safetensors --data shop.sqd --state state --predict-model churn.safetensors\n"
    "  curl -d '{\"user\":\"u1\",\"tasks\":[\"churn\"]}' localhost:8080/v1/predict\n";

enum {
    O_DATA = 256, O_STATE, O_HOST, O_PORT, O_PORT_FILE, O_TOKEN_FILE, O_NO_AUTH, O_THREADS,
    O_SCORE_THREADS, O_MAXCONN, O_TIMEOUT, O_MAXBODY, O_MAXBODYTOTAL, O_MAXEVENTS, O_HCAP, O_MAP,
    O_PREDICT_MODEL
};

static char *read_token(const char *path, sq_error *err) {
    FILE *fp = fopen(path, "r");
    if (!fp) {
        sq_error_set(err, SQ_ERR_IO, "cannot read --token-file %s", path);
        return NULL;
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = 0;
    if (n == 0 || strchr(buf, '\n')) {
        sq_error_set(err, SQ_ERR_FORMAT, "--token-file %s: expected one non-empty line", path);
        return NULL;
    }
    return strdup(buf);
}

int sq_cmd_serve(int argc, char **argv) {
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA}, {"state", required_argument, 0, O_STATE},
        {"host", required_argument, 0, O_HOST}, {"port", required_argument, 0, O_PORT},
        {"port-file", required_argument, 0, O_PORT_FILE},
        {"token-file", required_argument, 0, O_TOKEN_FILE}, {"no-auth", no_argument, 0, O_NO_AUTH},
        {"threads", required_argument, 0, O_THREADS},
        {"score-threads", required_argument, 0, O_SCORE_THREADS},
        {"max-connections", required_argument, 0, O_MAXCONN},
        {"timeout", required_argument, 0, O_TIMEOUT}, {"max-body", required_argument, 0, O_MAXBODY},
        {"max-body-total", required_argument, 0, O_MAXBODYTOTAL},
        {"max-events", required_argument, 0, O_MAXEVENTS},
        {"history-cap", required_argument, 0, O_HCAP}, {"map-size", required_argument, 0, O_MAP},
        {"predict-model", required_argument, 0, O_PREDICT_MODEL},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    sq_serve_config cfg;
    sq_serve_config_default(&cfg);
    const char *token_file = NULL;
    int no_auth = 0;
    uint64_t v, score_threads = 0;
    optind = 1;
    int c;
#define NUM(name, lo, hi)                                                           \
    if (sq_cli_parse_u64(optarg, &v) || v + 1 < (lo) + 1 || v > (hi))               \
        return sq_cli_usage("serve", "%s needs %llu..%llu, got '%s'", name,         \
                            (unsigned long long)(lo), (unsigned long long)(hi), optarg)
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage_text, stdout); return SQ_EXIT_OK;
        case O_DATA: cfg.data_path = optarg; break;
        case O_STATE: cfg.state_dir = optarg; break;
        case O_PREDICT_MODEL:
            if (cfg.n_predict == (int)(sizeof cfg.predict_paths / sizeof *cfg.predict_paths))
                return sq_cli_usage("serve", "too many --predict-model (one per task)");
            cfg.predict_paths[cfg.n_predict++] = optarg;
            break;
        case O_HOST: cfg.host = optarg; break;
        case O_PORT: NUM("--port", 0, 65535); cfg.port = (int)v; break;
        case O_PORT_FILE: cfg.port_file = optarg; break;
        case O_TOKEN_FILE: token_file = optarg; break;
        case O_NO_AUTH: no_auth = 1; break;
        case O_THREADS: NUM("--threads", 1, 256); cfg.threads = (int)v; break;
        case O_SCORE_THREADS: NUM("--score-threads", 0, 1024); score_threads = v; break;
        case O_MAXCONN: NUM("--max-connections", 1, 1000000); cfg.conn_limit = (unsigned)v; break;
        case O_TIMEOUT: NUM("--timeout", 1, 86400); cfg.timeout_s = (unsigned)v; break;
        case O_MAXBODY: NUM("--max-body", 64, 1u << 30); cfg.limits.max_body = v; break;
        case O_MAXBODYTOTAL: NUM("--max-body-total", 64, (uint64_t)1 << 40); cfg.limits.max_body_total = v; break;
        case O_MAXEVENTS: NUM("--max-events", 1, 1000000); cfg.limits.max_events = v; break;
        case O_HCAP: NUM("--history-cap", 1, 100000); cfg.history_cap = (int)v; break;
        case O_MAP: NUM("--map-size", 1, 1u << 24); cfg.map_mb = v; break;
        default: return sq_cli_usage("serve", "bad option");
        }
    }
#undef NUM
    if (optind + 1 != argc) return sq_cli_usage("serve", "expected one MODEL.safetensors");
    if (!cfg.data_path) return sq_cli_usage("serve", "--data DATA.sqd is required");
    if (!cfg.state_dir) return sq_cli_usage("serve", "--state DIR is required");
    cfg.model_path = argv[optind];
    sq_error err = {0};
    char *token = NULL;
    if (token_file) {
        if (!(token = read_token(token_file, &err))) return sq_cli_fail("serve", &err);
    } else if (getenv("SHOPSEQ_TOKEN") && *getenv("SHOPSEQ_TOKEN")) {
        token = strdup(getenv("SHOPSEQ_TOKEN"));
    }
    if (token && no_auth) {
        free(token);
        return sq_cli_usage("serve", "--no-auth contradicts a token (--token-file / SHOPSEQ_TOKEN)");
    }
    if (!token && !no_auth)
        return sq_cli_usage("serve", "writes need a bearer token: --token-file FILE or "
                                     "SHOPSEQ_TOKEN (or --no-auth for local tests)");
    cfg.token = token;
    sq_nn_init((int)score_threads);
    sq_status st = sq_serve_run(&cfg, &err);
    free(token);
    return st == SQ_OK ? SQ_EXIT_OK : sq_cli_fail("serve", &err);
}
