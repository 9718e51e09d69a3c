/* A small dataset for the model tests, written through the library's own writer. */
#ifndef SQ_TEST_DATASET_H
#define SQ_TEST_DATASET_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "shopseq/dataset.h"

/* nu users with len events each: user u owns events u*len .. u*len+len-1 (one session),
 * users are named "u<u>", items "i<i>", no categories. item and time_ms hold nu*len values;
 * behavior may be NULL (all 0). */
static inline sq_status test_write_users(const char *path, int nu, int ni, int len,
                                         const uint32_t *item, const int64_t *time_ms,
                                         const uint8_t *behavior, sq_error *err) {
    const size_t n = (size_t)nu * (size_t)len;
    uint64_t *uoff = malloc((size_t)(nu + 1) * sizeof *uoff);
    uint64_t *udict_off = malloc((size_t)(nu + 1) * sizeof *udict_off);
    uint64_t *idict_off = malloc((size_t)(ni + 1) * sizeof *idict_off);
    uint64_t cdict_off[1] = {0};
    uint32_t *session = malloc(n * sizeof *session);
    uint8_t *beh = calloc(n, 1);
    char *ub = malloc((size_t)nu * 12 + 1), *ib = malloc((size_t)ni * 12 + 1);
    if (!uoff || !udict_off || !idict_off || !session || !beh || !ub || !ib) abort();
    size_t ul = 0, il = 0;
    uoff[0] = 0;
    for (int u = 0; u < nu; u++) {
        udict_off[u] = ul;
        ul += (size_t)sprintf(ub + ul, "u%d", u);
        uoff[u + 1] = (uint64_t)(u + 1) * (uint64_t)len;
        for (int j = 0; j < len; j++) session[(size_t)u * len + j] = (uint32_t)u;
    }
    udict_off[nu] = ul;
    for (int i = 0; i < ni; i++) {
        idict_off[i] = il;
        il += (size_t)sprintf(ib + il, "i%d", i);
    }
    idict_off[ni] = il;
    sq_dataset_src src = {
        .n_users = (uint32_t)nu, .n_items = (uint32_t)ni, .n_events = n,
        .n_sessions = (uint32_t)nu, .user_offsets = uoff, .item = item,
        .behavior = behavior ? behavior : beh, .time_ms = time_ms, .session = session,
        .users = {(uint32_t)nu, udict_off, ub}, .items = {(uint32_t)ni, idict_off, ib},
        .categories = {0, cdict_off, ""},
    };
    sq_status st = sq_dataset_write(path, &src, err);
    free(uoff), free(udict_off), free(idict_off), free(session), free(beh), free(ub), free(ib);
    return st;
}

#endif
