/* Small helpers shared by the unit tests (scratch paths, writing files). */
#ifndef SQ_TEST_UTIL_H
#define SQ_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A path under $SQ_TMPDIR (or /tmp), unique per process. Caller frees. */
static inline char *test_path(const char *name) {
    const char *dir = getenv("SQ_TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    mkdir(dir, 0777);
    size_t n = strlen(dir) + strlen(name) + 32;
    char *p = malloc(n);
    snprintf(p, n, "%s/%ld_%s", dir, (long)getpid(), name);
    return p;
}

static inline void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

/* $SQ_SHARED_DATA/rel, or NULL (with a visible SKIP line) when the shared data is absent. */
static inline char *shared_data(const char *rel) {
    const char *dir = getenv("SQ_SHARED_DATA");
    if (!dir) dir = "../shared/data";
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, rel);
    if (access(p, R_OK) != 0) {
        printf("SKIP: %s not found (shared data absent)\n", p);
        free(p);
        return NULL;
    }
    return p;
}

#endif
