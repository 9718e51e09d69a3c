/* Loading a saved neural scorer (src/predict/model_io.c) whose head description is wrong:
 * the message names the file and the metadata key or the part that is wrong. The files are
 * written here by the documented format (include/shopseq/predict_model.h) with valid
 * checksums, so only the value under test is wrong; a control file with a good head gets
 * past those checks (it fails on the missing encoder instead). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict/internal.h"
#include "shopseq/predict_model.h"
#include "shopseq/safetensors.h"
#include "test_util.h"

enum { HID = 4, NF = SQ__PRED_N_USER_FEATURES, IN = 8 };

/* Writes a neural purchase scorer to path: head = the 'head' value, encoder = the
 * 'encoder' value, extra = 1 adds a tensor a neural scorer does not have. */
static void write_file(const char *path, const char *head, const char *encoder, int extra) {
    char features[4096] = "";
    for (int i = 0; i < NF; i++) {
        if (i) strcat(features, ",");
        strcat(features, sq__pred_feature_names[i]);
    }
    const char *v[SQ__PRED_N_META] = {
        "shopseq-predict/1", "neural", "purchase", "86400000", "0", "0", "", "0.5", features, "",
        "0", "0", "0", "0000000000000000", "0000000000000000", "test", encoder,
        "0000000000000000", head};
    char hash[17];
    const char *meta[2 * SQ__PRED_N_META + 3];
    sq__pred_meta_pairs(v, hash, meta);
    static double mean[NF], sd[NF], br[1] = {0.1}, w[NF + 1];
    static float w1[HID * IN], b1[HID], w2[HID], b2[1];
    for (int i = 0; i < NF; i++) sd[i] = 1.0;
    sq_st_entry e[8] = {
        {"mean", "F64", 1, {NF}, mean, sizeof mean},
        {"std", "F64", 1, {NF}, sd, sizeof sd},
        {"base_rate", "F64", 1, {1}, br, sizeof br},
        {"head.w1.weight", "F32", 1, {HID * IN}, w1, sizeof w1},
        {"head.w1.bias", "F32", 1, {HID}, b1, sizeof b1},
        {"head.w2.weight", "F32", 1, {HID}, w2, sizeof w2},
        {"head.w2.bias", "F32", 1, {1}, b2, sizeof b2},
        {"weight", "F64", 2, {1, NF + 1}, w, sizeof w},
    };
    sq_error err = {0};
    assert_int_equal(sq_st_write(path, e, extra ? 8 : 7, meta, &err), SQ_OK);
}

/* Loads path; returns the error message (static), asserting the load failed with want and,
 * when named, that the message names path. */
static const char *load_error(const char *path, sq_status want, int named) {
    static sq_error err;
    memset(&err, 0, sizeof err);
    sq_pred_model m;
    sq_status st = sq_pred_model_load(&m, path, &err);
    if (st == SQ_OK) sq_pred_model_free(&m);
    assert_int_equal(st, want);
    fprintf(stderr, "  %s\n", err.msg);
    if (named) assert_non_null(strstr(err.msg, path));
    return err.msg;
}

static void test_bad_head(void **s) {
    (void)s;
    char *p = test_path("head.safetensors");
    char good[64];
    snprintf(good, sizeof good, "%d,%d,1,%d,1,0", HID, IN, NF);
    /* control: a good description passes; the encoder beside it is what is missing */
    write_file(p, good, "head.safetensors.encoder.safetensors", 0);
    const char *msg = load_error(p, SQ_ERR_IO, 0);
    assert_non_null(strstr(msg, "head.safetensors.encoder.safetensors"));
    /* too few fields, trailing text, hidden out of range: the key and the value */
    const char *bad[] = {"4,8,1", "4,8,1,3,1,0x", "0,8,1,3,1,0", "4,70000,1,3,1,0"};
    for (int i = 0; i < 4; i++) {
        write_file(p, bad[i], "e.safetensors", 0);
        msg = load_error(p, SQ_ERR_FORMAT, 1);
        assert_non_null(strstr(msg, "metadata 'head'"));
        assert_non_null(strstr(msg, bad[i]));
    }
    /* outputs that are not the task's */
    char three[64];
    snprintf(three, sizeof three, "%d,%d,3,%d,1,0", HID, IN, NF);
    write_file(p, three, "e.safetensors", 0);
    msg = load_error(p, SQ_ERR_FORMAT, 1);
    assert_non_null(strstr(msg, "metadata 'head'"));
    assert_non_null(strstr(msg, "3 outputs"));
    /* an encoder outside the file's directory, or none */
    write_file(p, good, "../e.safetensors", 0);
    msg = load_error(p, SQ_ERR_FORMAT, 1);
    assert_non_null(strstr(msg, "metadata 'encoder'"));
    assert_non_null(strstr(msg, "../e.safetensors"));
    write_file(p, good, "", 0);
    assert_non_null(strstr(load_error(p, SQ_ERR_FORMAT, 1), "metadata 'encoder'"));
    /* a tensor a neural scorer does not have */
    write_file(p, good, "e.safetensors", 1);
    msg = load_error(p, SQ_ERR_FORMAT, 1);
    assert_non_null(strstr(msg, "8 tensors"));
    unlink(p);
    free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bad_head)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
