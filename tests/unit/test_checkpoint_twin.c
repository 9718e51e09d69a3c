/* A checkpoint written by `shopseq train` loads into the PyTorch twin and gives the same
 * scores there as here.
 *
 * tests/fixtures/sasrec/c_written.safetensors was written by shopseq (SASRec, 2 blocks,
 * 2 heads, behaviour embedding on). tests/reference/sasrec_twin.py `scores` loaded it into
 * the twin (strict state_dict: every name and shape must match) and wrote the float64
 * scores of every item after one sequence to c_written_scores.json. Here the same file goes
 * through sq_model_load and the same sequence through sq_model_score. The other reference
 * tests go the other way (PyTorch-written weights into shopseq). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/model.h"

static void fixture_path(char *out, size_t n, const char *name) {
    const char *src = getenv("SQ_SOURCE_DIR");
    snprintf(out, n, "%s/tests/fixtures/sasrec/%s", src ? src : ".", name);
}

static void test_c_checkpoint_scores_equal_twin(void **state) {
    (void)state;
    char ckpt[4096], ref[4096];
    fixture_path(ckpt, sizeof ckpt, "c_written.safetensors");
    fixture_path(ref, sizeof ref, "c_written_scores.json");

    json_error_t jerr;
    json_t *j = json_load_file(ref, 0, &jerr);
    if (!j) fprintf(stderr, "%s: %s\n", ref, jerr.text);
    assert_non_null(j);
    json_t *seq = json_object_get(j, "sequence"), *sc = json_object_get(j, "scores");
    assert_true(json_is_array(seq) && json_is_array(sc));

    sq_model *m = NULL;
    sq_error err = {0};
    if (sq_model_load(&m, ckpt, &err) != SQ_OK) fprintf(stderr, "%s\n", err.msg);
    assert_non_null(m);
    assert_string_equal(m->cfg.model, "sasrec");
    assert_int_equal(m->cfg.use_behavior, 1);
    const int V = m->cfg.n_items, L = (int)json_array_size(seq), maxlen = m->cfg.maxlen;
    assert_int_equal((int)json_array_size(sc), V);
    assert_true(L >= 1 && L <= maxlen);

    uint32_t item[64];
    uint8_t beh[64] = {0}; /* the twin's `scores` mode feeds behaviour 0 */
    int pos[64], seq_off[2] = {0, L};
    for (int i = 0; i < L; i++) {
        item[i] = (uint32_t)json_integer_value(json_array_get(seq, (size_t)i));
        pos[i] = maxlen - L + i; /* right-aligned, as training and the twin place them */
    }
    sq_batch b = {.n_seq = 1, .seq_off = seq_off, .item = item, .behavior = beh, .pos = pos};
    float *scores = malloc((size_t)V * sizeof *scores);
    assert_non_null(scores);
    sq_model_score(m, &b, scores);

    double worst = 0.0, scale = 0.0;
    int best_here = 0, best_twin = 0;
    for (int i = 0; i < V; i++) {
        double r = json_real_value(json_array_get(sc, (size_t)i));
        worst = fmax(worst, fabs(scores[i] - r));
        scale = fmax(scale, fabs(r));
        if (scores[i] > scores[best_here]) best_here = i;
        if (r > json_real_value(json_array_get(sc, (size_t)best_twin))) best_twin = i;
    }
    fprintf(stderr, "  %d scores, max |shopseq - twin| %.2e (largest score %.3f)\n", V, worst,
            scale);
    /* float32 here against float64 there, over 2 blocks */
    assert_true(worst < 1e-4 * fmax(1.0, scale));
    assert_int_equal(best_here, best_twin);
    free(scores);
    sq_model_free(m);
    json_decref(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_checkpoint_scores_equal_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
