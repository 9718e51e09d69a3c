#include "shopseq/behavior.h"

#include <strings.h>

static const char *const names[SQ_BEHAVIOR_COUNT] = {
#define SQ__BEHAVIOR_NAME(name, code, str) [code] = str,
    SQ_BEHAVIOR_TABLE(SQ__BEHAVIOR_NAME)
#undef SQ__BEHAVIOR_NAME
};

const char *sq_behavior_name(int b) {
    if (b < 0 || b >= SQ_BEHAVIOR_COUNT) return "?";
    return names[b];
}

int sq_behavior_from_name(const char *s, size_t n) {
    for (int b = 0; b < SQ_BEHAVIOR_COUNT; b++) {
        size_t len = 0;
        while (names[b][len]) len++;
        if (len == n && strncasecmp(names[b], s, n) == 0) return b;
    }
    return -1;
}
