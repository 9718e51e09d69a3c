/* Field splitting for one delimited line (RFC 4180 quoting). */
#include "data/csv.h"

#include <stdint.h>
#include <string.h>

static void put(sq_field *fields, int max_fields, int nf, const char *p, size_t n) {
    if (nf < max_fields) {
        fields[nf].p = p;
        fields[nf].n = n;
    }
}

/* Quoted field starting at line[*i] == '"'; unescapes into *sp. 0, or -1 if unterminated. */
static int quoted(const char *line, size_t len, size_t *i, char **sp, const char **fp,
                  size_t *fn) {
    size_t k = *i + 1;
    char *start = *sp, *o = *sp;
    for (;;) {
        if (k >= len) return -1;
        const char *q = memchr(line + k, '"', len - k);
        if (!q) return -1;
        size_t run = (size_t)(q - (line + k));
        memcpy(o, line + k, run);
        o += run;
        k += run + 1;
        if (k < len && line[k] == '"') { /* "" -> " */
            *o++ = '"';
            k++;
            continue;
        }
        break;
    }
    *i = k;
    *fp = start;
    *fn = (size_t)(o - start);
    *sp = o;
    return 0;
}

/* Index of the first delim in line[i..len), or len. Fields are short (ids, numbers, a
 * UUID), so a memchr call costs more than the search: 8 bytes at a time (SWAR), then
 * byte by byte; nothing is read past len. */
static inline size_t find_delim(const char *line, size_t i, size_t len, char delim) {
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    const uint64_t pat = ones * (unsigned char)delim;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, line + i, 8);
        w ^= pat;
        uint64_t z = ((w & ~high) + ~high) | w; /* high bit clear exactly in zero bytes */
        z = ~z & high;
        if (z) return i + (size_t)(__builtin_ctzll(z) >> 3);
    }
    while (i < len && line[i] != delim) i++;
    return i;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static int split_blanks(const char *line, size_t len, sq_field *fields, int max_fields,
                        char *scratch) {
    size_t i = 0;
    int nf = 0;
    char *sp = scratch;
    for (;;) {
        while (i < len && is_blank(line[i])) i++;
        if (i >= len) break;
        const char *fp;
        size_t fn;
        if (line[i] == '"') {
            if (quoted(line, len, &i, &sp, &fp, &fn) != 0) return SQ_CSV_BAD_QUOTE;
            if (i < len && !is_blank(line[i])) return SQ_CSV_BAD_QUOTE;
        } else {
            size_t s = i;
            while (i < len && !is_blank(line[i])) i++;
            fp = line + s;
            fn = i - s;
        }
        put(fields, max_fields, nf++, fp, fn);
    }
    if (nf == 0) put(fields, max_fields, nf++, line, 0);
    return nf;
}

int sq_csv_split(const char *line, size_t len, char delim, sq_field *fields, int max_fields,
                 char *scratch) {
    if (delim == ' ') return split_blanks(line, len, fields, max_fields, scratch);
    size_t i = 0;
    int nf = 0;
    char *sp = scratch;
    for (;;) {
        const char *fp;
        size_t fn;
        if (i < len && line[i] == '"') {
            if (quoted(line, len, &i, &sp, &fp, &fn) != 0) return SQ_CSV_BAD_QUOTE;
            if (i < len && line[i] != delim) return SQ_CSV_BAD_QUOTE;
        } else {
            size_t end = find_delim(line, i, len, delim);
            fp = line + i;
            fn = end - i;
            i = end;
        }
        put(fields, max_fields, nf++, fp, fn);
        if (i >= len) break;
        i++; /* the delimiter; a trailing one yields a last empty field */
    }
    return nf;
}

int sq_csv_split_simple(const char *line, size_t len, char delim, sq_field *fields,
                        int max_fields) {
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    if (delim == ' ' || delim == '"' || (unsigned char)delim >= 0x80) return SQ_CSV_NOT_SIMPLE;
    const uint64_t dpat = ones * (unsigned char)delim, qpat = ones * '"';
    const uint64_t low7 = ones * 0x7f;
    int nf = 0;
    size_t start = 0, i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, line + i, 8);
        if (w & high) return SQ_CSV_NOT_SIMPLE;
        /* bytes are < 0x80, so x + 0x7f sets a byte's high bit unless x is zero there,
         * and never carries into the next byte */
        uint64_t q = ~((w ^ qpat) + low7) & high;
        if (q) return SQ_CSV_NOT_SIMPLE;
        uint64_t d = ~((w ^ dpat) + low7) & high;
        while (d) {
            size_t at = i + (size_t)(__builtin_ctzll(d) >> 3);
            put(fields, max_fields, nf++, line + start, at - start);
            start = at + 1;
            d &= d - 1;
        }
    }
    for (; i < len; i++) {
        char c = line[i];
        if ((unsigned char)c >= 0x80 || c == '"') return SQ_CSV_NOT_SIMPLE;
        if (c == delim) {
            put(fields, max_fields, nf++, line + start, i - start);
            start = i + 1;
        }
    }
    put(fields, max_fields, nf++, line + start, len - start);
    return nf;
}

char sq_csv_sniff_delimiter(const char *line, size_t len) {
    static const char cand[4] = {',', '\t', ';', '|'};
    size_t count[4] = {0, 0, 0, 0};
    int inq = 0, blanks = 0;
    for (size_t i = 0; i < len; i++) {
        char c = line[i];
        if (c == '"') {
            inq = !inq;
            continue;
        }
        if (inq) continue;
        if (c == ' ') blanks = 1;
        for (int k = 0; k < 4; k++)
            if (c == cand[k]) count[k]++;
    }
    int best = -1;
    for (int k = 0; k < 4; k++)
        if (count[k] > 0 && (best < 0 || count[k] > count[best])) best = k;
    if (best >= 0) return cand[best];
    return blanks ? ' ' : ',';
}
