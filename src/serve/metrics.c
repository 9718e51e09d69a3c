/* Request counts and latency histograms per route, in Prometheus text format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static const int codes[SQ__N_CODES] = {200, 400, 401, 404, 405, 408, 413, 415, 500, 501, 503, 507, 0};
static const double buckets[SQ__N_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                              0.1, 0.25, 0.5, 1.0, 2.5, 0};

const char *sq__route_name(int r) {
    static const char *const names[] = {
#define SQ__R_NAME(id, name) name,
        SQ__ROUTE_TABLE(SQ__R_NAME)
#undef SQ__R_NAME
    };
    return r >= 0 && r < SQ__R_COUNT ? names[r] : "other";
}

void sq__metrics_observe(sq__metrics *m, int route, int status, double seconds) {
    if (route < 0 || route >= SQ__R_COUNT) route = SQ__R_OTHER;
    int c = SQ__N_CODES - 1;
    for (int i = 0; i < SQ__N_CODES - 1; i++)
        if (codes[i] == status) c = i;
    atomic_fetch_add_explicit(&m->requests[route][c], 1, memory_order_relaxed);
    int b = SQ__N_BUCKETS - 1; /* +Inf */
    for (int i = 0; i < SQ__N_BUCKETS - 1; i++)
        if (seconds <= buckets[i]) {
            b = i;
            break;
        }
    atomic_fetch_add_explicit(&m->latency_bucket[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count[route], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_ns[route], (uint64_t)(seconds * 1e9), memory_order_relaxed);
}

static void label_value(FILE *fp, const char *s) {
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"') fputc('\\', fp);
        if (*s == '\n') fputs("\\n", fp);
        else fputc(*s, fp);
    }
}

static long rss_bytes(void) {
    FILE *fp = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!fp) return 0;
    if (fscanf(fp, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(fp);
    return rss * 4096;
}

char *sq__metrics_text(sq__server *s, size_t *len) {
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    if (!fp) return NULL;
    sq__metrics *m = &s->metrics;
    fputs("# HELP shopseq_http_requests_total HTTP requests by route and status code.\n"
          "# TYPE shopseq_http_requests_total counter\n", fp);
    for (int r = 0; r < SQ__R_COUNT; r++)
        for (int c = 0; c < SQ__N_CODES; c++) {
            uint64_t v = atomic_load(&m->requests[r][c]);
            if (!v) continue;
            if (codes[c]) fprintf(fp, "shopseq_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                                  sq__route_name(r), codes[c], (unsigned long long)v);
            else fprintf(fp, "shopseq_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                         sq__route_name(r), (unsigned long long)v);
        }
    fputs("# HELP shopseq_http_request_duration_seconds Time from the request's headers to its "
          "response, by route.\n# TYPE shopseq_http_request_duration_seconds histogram\n", fp);
    for (int r = 0; r < SQ__R_COUNT; r++) {
        uint64_t cum = 0;
        for (int b = 0; b < SQ__N_BUCKETS; b++) {
            cum += atomic_load(&m->latency_bucket[r][b]);
            if (b < SQ__N_BUCKETS - 1)
                fprintf(fp, "shopseq_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                        sq__route_name(r), buckets[b], (unsigned long long)cum);
            else
                fprintf(fp, "shopseq_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                        sq__route_name(r), (unsigned long long)cum);
        }
        fprintf(fp, "shopseq_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n", sq__route_name(r),
                1e-9 * (double)atomic_load(&m->latency_sum_ns[r]));
        fprintf(fp, "shopseq_http_request_duration_seconds_count{route=\"%s\"} %llu\n", sq__route_name(r),
                (unsigned long long)atomic_load(&m->latency_count[r]));
    }
    fprintf(fp, "# HELP shopseq_events_stored_total Events appended to the store over its life.\n"
                "# TYPE shopseq_events_stored_total counter\nshopseq_events_stored_total %llu\n",
            (unsigned long long)sq_store_events_total(s->store));
    fprintf(fp, "# HELP shopseq_store_users Users with stored events.\n"
                "# TYPE shopseq_store_users gauge\nshopseq_store_users %llu\n",
            (unsigned long long)sq_store_users(s->store));
    fprintf(fp, "# HELP shopseq_events_accepted_total Events acknowledged by this process.\n"
                "# TYPE shopseq_events_accepted_total counter\nshopseq_events_accepted_total %llu\n",
            (unsigned long long)atomic_load(&m->events_accepted));
    fprintf(fp, "# HELP shopseq_events_unknown_items_total Accepted events whose item is not in "
                "the model's catalogue.\n# TYPE shopseq_events_unknown_items_total counter\n"
                "shopseq_events_unknown_items_total %llu\n",
            (unsigned long long)atomic_load(&m->events_unknown_items));
    fprintf(fp, "# HELP shopseq_recommendations_fallback_total Recommendations answered by "
                "popularity (no scorable history).\n# TYPE shopseq_recommendations_fallback_total "
                "counter\nshopseq_recommendations_fallback_total %llu\n",
            (unsigned long long)atomic_load(&m->recs_fallback));
    fprintf(fp, "# HELP shopseq_model_reloads_total Checkpoint reloads by result.\n"
                "# TYPE shopseq_model_reloads_total counter\n"
                "shopseq_model_reloads_total{result=\"ok\"} %llu\n"
                "shopseq_model_reloads_total{result=\"error\"} %llu\n",
            (unsigned long long)atomic_load(&m->reloads_ok),
            (unsigned long long)atomic_load(&m->reloads_failed));
    uint64_t gen;
    sq_engine *e = sq__server_engine(s, &gen);
    sq_engine_info info;
    sq_engine_info_get(e, &info);
    fputs("# HELP shopseq_model_info The loaded model.\n# TYPE shopseq_model_info gauge\n"
          "shopseq_model_info{model=\"", fp);
    label_value(fp, info.model);
    fputs("\",path=\"", fp);
    label_value(fp, info.path);
    fprintf(fp, "\",dim=\"%d\",maxlen=\"%d\",blocks=\"%d\"} 1\n", info.dim, info.maxlen, info.blocks);
    fprintf(fp, "# HELP shopseq_model_items Items in the model's catalogue.\n"
                "# TYPE shopseq_model_items gauge\nshopseq_model_items %d\n", info.n_items);
    fprintf(fp, "# HELP shopseq_model_generation 1 for the first load, +1 per reload.\n"
                "# TYPE shopseq_model_generation gauge\nshopseq_model_generation %llu\n",
            (unsigned long long)gen);
    fprintf(fp, "# HELP shopseq_model_loaded_timestamp_seconds When the model was loaded.\n"
                "# TYPE shopseq_model_loaded_timestamp_seconds gauge\n"
                "shopseq_model_loaded_timestamp_seconds %.3f\n", info.loaded_at);
    sq_engine_unref(e);
    fprintf(fp, "# HELP shopseq_requests_in_flight Requests being handled.\n"
                "# TYPE shopseq_requests_in_flight gauge\nshopseq_requests_in_flight %d\n",
            atomic_load(&s->in_flight));
    fprintf(fp, "# HELP shopseq_process_resident_memory_bytes Resident set size.\n"
                "# TYPE shopseq_process_resident_memory_bytes gauge\n"
                "shopseq_process_resident_memory_bytes %ld\n", rss_bytes());
    fprintf(fp, "# HELP shopseq_process_start_time_seconds Start time of the process.\n"
                "# TYPE shopseq_process_start_time_seconds gauge\n"
                "shopseq_process_start_time_seconds %.3f\n", s->started_at);
    if (fclose(fp) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
