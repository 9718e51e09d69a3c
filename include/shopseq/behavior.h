/* The canonical behaviour vocabulary. Sources map their own words (pv, addtocart,
 * transaction, ...) onto it by preset or flag, never by code edits. Values are stored
 * in .sqd files: append only, never renumber. */
#ifndef SHOPSEQ_BEHAVIOR_H
#define SHOPSEQ_BEHAVIOR_H

#include <stddef.h>

#define SQ_BEHAVIOR_TABLE(X) \
    X(SQ_BEHAVIOR_VIEW, 0, "view")     \
    X(SQ_BEHAVIOR_CLICK, 1, "click")   \
    X(SQ_BEHAVIOR_SEARCH, 2, "search") \
    X(SQ_BEHAVIOR_FAV, 3, "fav")       \
    X(SQ_BEHAVIOR_CART, 4, "cart")     \
    X(SQ_BEHAVIOR_UNCART, 5, "uncart") \
    X(SQ_BEHAVIOR_BUY, 6, "buy")       \
    X(SQ_BEHAVIOR_REVIEW, 7, "review") \
    X(SQ_BEHAVIOR_RATE, 8, "rate")

typedef enum {
#define SQ__BEHAVIOR_ENUM(name, code, str) name = code,
    SQ_BEHAVIOR_TABLE(SQ__BEHAVIOR_ENUM)
#undef SQ__BEHAVIOR_ENUM
    SQ_BEHAVIOR_COUNT
} sq_behavior;

/* Canonical name, or "?" for an out-of-range value. */
const char *sq_behavior_name(int b);
/* Canonical name (exact, case-insensitive) to value; -1 if not a canonical name. */
int sq_behavior_from_name(const char *s, size_t n);

#endif
