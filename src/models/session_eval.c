/* Next-event evaluation on a separate test dataset (session-based protocol); see train.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shopseq/train.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

sq_status sq_evaluate_next(sq_model *m, const sq_dataset *train, const sq_dataset *test,
                           uint32_t max_sequences, sq_eval_result *r, sq_error *err) {
    memset(r, 0, sizeof *r);
    const double t0 = now_s();
    const int V = m->cfg.n_items, B = m->cfg.batch, ML = m->cfg.maxlen, use_gap = m->cfg.use_gap;
    if ((uint32_t)V != train->n_items)
        return sq_error_set(err, SQ_ERR_USAGE, "model has %d items, training data %u", V,
                            train->n_items);
    sq_status fst = sq_features_check_data(m, test, err);
    if (fst != SQ_OK) return fst;
    /* test item id -> train item id (SQ_NONE when unknown) */
    uint32_t *map = malloc((size_t)(test->n_items ? test->n_items : 1) * sizeof *map);
    size_t maxlen_test = 0;
    for (uint32_t u = 0; u < test->n_users; u++) {
        size_t n = test->user_offsets[u + 1] - test->user_offsets[u];
        if (n > maxlen_test) maxlen_test = n;
    }
    uint32_t *seq = malloc((maxlen_test ? maxlen_test : 1) * sizeof *seq);
    uint8_t *sbeh = malloc(maxlen_test ? maxlen_test : 1), *sgap = malloc(maxlen_test ? maxlen_test : 1);
    const size_t rows = (size_t)B * ML;
    int *off = malloc(((size_t)B + 1) * sizeof *off), *pos = malloc(rows * sizeof *pos);
    uint32_t *item = malloc(rows * sizeof *item), *tgt = malloc((size_t)B * sizeof *tgt);
    uint8_t *beh = malloc(rows), *gap = malloc(rows);
    float *scores = malloc((size_t)B * V * sizeof *scores);
    if (!map || !seq || !sbeh || !sgap || !off || !pos || !item || !tgt || !beh || !gap ||
        !scores) {
        free(map), free(seq), free(sbeh), free(off), free(pos), free(item), free(tgt), free(beh);
        free(sgap), free(gap);
        free(scores);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for evaluation");
    }
    for (uint32_t i = 0; i < test->n_items; i++) {
        size_t len;
        const char *s = sq_dict_get(&test->items, i, &len);
        map[i] = sq_dict_find(&train->items, s, len);
    }
    double sum[3][SQ_EVAL_NK] = {{0}};
    uint64_t counted = 0;
    int n = 0;
    off[0] = 0;
    uint32_t done_seq = 0;
    for (uint32_t u = 0; u <= test->n_users; u++) {
        int L = 0;
        if (u < test->n_users) {
            if (max_sequences && done_seq >= max_sequences) continue;
            int64_t prev = 0; /* gaps between the events kept */
            for (uint64_t e = test->user_offsets[u]; e < test->user_offsets[u + 1]; e++)
                if (map[test->item[e]] != SQ_NONE) {
                    seq[L] = map[test->item[e]];
                    if (use_gap) sgap[L] = L ? sq_gap_bucket(prev, test->time_ms[e]) : 0;
                    prev = test->time_ms[e];
                    sbeh[L++] = test->behavior[e];
                }
            if (L < 2) continue;
            done_seq++;
        }
        /* prefixes [0, j) -> target seq[j]; at u == n_users only the final flush runs */
        for (int j = 1; j < L || (u == test->n_users && j == 1); j++) {
            if (n > 0 && (n == B || u == test->n_users)) {
                sq_batch b = {.n_seq = n, .seq_off = off, .item = item, .behavior = beh,
                             .gap = use_gap ? gap : NULL, .pos = pos};
                sq_model_score(m, &b, scores);
#pragma omp parallel for schedule(static)
                for (int i = 0; i < n; i++) {
                    const float *sc = scores + (size_t)i * V, ts = sc[tgt[i]];
                    long above = -1; /* the target itself */
                    for (int v = 0; v < V; v++) above += sc[v] >= ts;
                    scores[(size_t)i * V] = (float)above; /* reuse: rank - 1 */
                }
                for (int i = 0; i < n; i++) {
                    const double rank = (double)scores[(size_t)i * V] + 1.0;
                    for (int k = 0; k < SQ_EVAL_NK; k++)
                        if (rank <= sq_eval_ks[k]) {
                            sum[0][k] += 1.0;
                            sum[1][k] += 1.0 / log2(rank + 1.0);
                            sum[2][k] += 1.0 / rank;
                        }
                }
                counted += (uint64_t)n;
                n = 0;
            }
            if (u == test->n_users) break;
            const int beg = j > ML ? j - ML : 0, len = j - beg;
            for (int q = 0; q < len; q++) {
                item[off[n] + q] = seq[beg + q];
                beh[off[n] + q] = sbeh[beg + q];
                if (use_gap) gap[off[n] + q] = sgap[beg + q];
                pos[off[n] + q] = ML - len + q;
            }
            tgt[n] = seq[j];
            off[n + 1] = off[n] + len;
            n++;
        }
    }
    r->n_users = (uint32_t)counted;
    for (int k = 0; k < SQ_EVAL_NK; k++) {
        r->hr[k] = counted ? sum[0][k] / (double)counted : 0;
        r->ndcg[k] = counted ? sum[1][k] / (double)counted : 0;
        r->mrr[k] = counted ? sum[2][k] / (double)counted : 0;
    }
    r->seconds = now_s() - t0;
    free(map), free(seq), free(sbeh), free(off), free(pos), free(item), free(tgt), free(beh);
    free(sgap), free(gap), free(scores);
    return SQ_OK;
}
