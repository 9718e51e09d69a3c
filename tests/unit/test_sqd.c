/* .sqd round trip, dictionaries, and refusal of damaged files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <fcntl.h>

#include <cmocka.h>

#include "shopseq/behavior.h"
#include "shopseq/dataset.h"
#include "test_util.h"

/* 3 users: u0 has 3 events, u1 none is impossible (CSR), so u1 has 1, u2 has 2. */
static const uint64_t user_offsets[] = {0, 3, 4, 6};
static const uint32_t item[] = {0, 1, 0, 2, 1, 2};
static const uint8_t behavior[] = {SQ_BEHAVIOR_VIEW, SQ_BEHAVIOR_CART, SQ_BEHAVIOR_BUY,
                                   SQ_BEHAVIOR_VIEW, SQ_BEHAVIOR_FAV, SQ_BEHAVIOR_VIEW};
static const int64_t time_ms[] = {1000, 2000, 3000, 500, 7000, 9000};
static const uint32_t category[] = {0, 1, 0, SQ_NONE, 1, SQ_NONE};
static const uint32_t session[] = {0, 0, 1, 2, 3, 3};
static const char user_bytes[] = "alicebobcarol";
static const uint64_t user_off[] = {0, 5, 8, 13};
static const char item_bytes[] = "i-1i-22i-333";
static const uint64_t item_off[] = {0, 3, 7, 12};
static const char cat_bytes[] = "shoeshats";
static const uint64_t cat_off[] = {0, 5, 9};

static char *write_small(void) {
    static const float price[] = {9.5f, 9.5f, 9.5f, NAN, 3.25f, NAN};
    sq_dataset_src s = {
        .n_users = 3, .n_items = 3, .n_categories = 2,
        .flags = SQ_DATASET_HAS_CATEGORY | SQ_DATASET_HAS_PRICE,
        .n_events = 6, .n_sessions = 4, .session_gap_s = 1800,
        .user_offsets = user_offsets, .item = item, .behavior = behavior, .time_ms = time_ms,
        .category = category, .price = price, .session = session,
        .users = {3, user_off, user_bytes}, .items = {3, item_off, item_bytes},
        .categories = {2, cat_off, cat_bytes}, .provenance = "{\"producer\":\"test\"}",
    };
    char *path = test_path("small.sqd");
    sq_error err = {0};
    sq_status st = sq_dataset_write(path, &s, &err);
    if (st != SQ_OK) fail_msg("write: %s", err.msg);
    return path;
}

static void test_round_trip(void **state) {
    (void)state;
    char *path = write_small();
    sq_dataset ds;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_OK);
    assert_int_equal(ds.n_users, 3);
    assert_int_equal(ds.n_items, 3);
    assert_int_equal(ds.n_categories, 2);
    assert_int_equal(ds.n_events, 6);
    assert_int_equal(ds.n_sessions, 4);
    assert_int_equal(ds.time_min_ms, 500);
    assert_int_equal(ds.time_max_ms, 9000);
    assert_int_equal(ds.session_gap_s, 1800);
    assert_true(ds.flags & SQ_DATASET_HAS_PRICE);
    assert_memory_equal(ds.user_offsets, user_offsets, sizeof user_offsets);
    assert_memory_equal(ds.item, item, sizeof item);
    assert_memory_equal(ds.behavior, behavior, sizeof behavior);
    assert_memory_equal(ds.time_ms, time_ms, sizeof time_ms);
    assert_memory_equal(ds.category, category, sizeof category);
    assert_memory_equal(ds.session, session, sizeof session);
    assert_true(isnan(ds.price[3]));
    assert_true(ds.price[4] == 3.25f);
    /* item_category derived from the events: item 2 only ever had no category */
    assert_int_equal(ds.item_category[0], 0);
    assert_int_equal(ds.item_category[1], 1);
    assert_int_equal(ds.item_category[2], SQ_NONE);
    assert_int_equal(sq_dataset_user_end(&ds, 2) - sq_dataset_user_begin(&ds, 2), 2);
    assert_int_equal(ds.provenance_len, strlen("{\"producer\":\"test\"}"));
    sq_dataset_close(&ds);
    unlink(path);
    free(path);
}

static void test_dictionaries(void **state) {
    (void)state;
    char *path = write_small();
    sq_dataset ds;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_OK);
    size_t n;
    const char *s = sq_dict_get(&ds.users, 1, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "bob", 3);
    s = sq_dict_get(&ds.items, 2, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(s, "i-333", 5);
    assert_int_equal(sq_dict_find(&ds.users, "carol", 5), 2);
    assert_int_equal(sq_dict_find(&ds.users, "alice", 5), 0);
    assert_int_equal(sq_dict_find(&ds.items, "i-22", 4), 1);
    assert_int_equal(sq_dict_find(&ds.categories, "hats", 4), 1);
    assert_int_equal(sq_dict_find(&ds.users, "dave", 4), SQ_NONE);
    assert_int_equal(sq_dict_find(&ds.users, "bo", 2), SQ_NONE);
    sq_dict_get(&ds.users, 99, &n); /* out of range: empty, no crash */
    assert_int_equal(n, 0);
    sq_dataset_close(&ds);
    unlink(path);
    free(path);
}

static void flip_byte(const char *path, long offset) {
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, offset), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, offset), 1);
    close(fd);
}

static void test_damaged_files_refused(void **state) {
    (void)state;
    sq_dataset ds;
    sq_error err = {0};
    struct stat st;

    char *path = write_small();
    assert_int_equal(stat(path, &st), 0);
    flip_byte(path, 1024 + 3); /* inside the first section */
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_ERR_CHECKSUM);
    assert_non_null(strstr(err.msg, "checksum"));
    free(path);

    path = write_small();
    flip_byte(path, 40); /* header counts */
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_ERR_CHECKSUM);
    free(path);

    path = write_small();
    assert_int_equal(truncate(path, st.st_size - 64), 0);
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "truncated"));
    free(path);

    path = write_small();
    flip_byte(path, 0);
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "magic"));
    free(path);

    path = test_path("not-there.sqd");
    unlink(path);
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_ERR_IO);
    free(path);
    sq_dataset_close(&ds); /* closed/zeroed: must be harmless */
}

static void test_write_is_atomic(void **state) {
    (void)state;
    /* a failed write (directory missing) leaves nothing behind and reports the path */
    const char *bad = "/nonexistent-dir/x.sqd";
    sq_dataset_src s = {0};
    sq_error err = {0};
    assert_int_not_equal(sq_dataset_write(bad, &s, &err), SQ_OK);
    assert_non_null(strstr(err.msg, "nonexistent-dir"));
    assert_int_not_equal(access(bad, F_OK), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_dictionaries),
        cmocka_unit_test(test_damaged_files_refused),
        cmocka_unit_test(test_write_is_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
