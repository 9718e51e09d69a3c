/* Event times to Unix milliseconds (UTC), without locale, mktime or timegm. */
#include "data/timeparse.h"

#include <stdio.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Exactly k digits at s[*i]; advances *i. */
static int take_digits(const char *s, size_t n, size_t *i, int k, int *out) {
    if (*i + (size_t)k > n) return -1;
    int v = 0;
    for (int j = 0; j < k; j++) {
        char c = s[*i + (size_t)j];
        if (!is_digit(c)) return -1;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)k;
    *out = v;
    return 0;
}

int64_t sq_days_from_civil(int64_t y, unsigned m, unsigned d) {
    /* Howard Hinnant, "chrono-compatible low-level date algorithms" */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;                                   /* [0, 399] */
    const int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m) {
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

/* [-]digits[.digits] -> integer part, first 3 fraction digits (as ms), digit counts. */
static int parse_number(const char *s, size_t n, int *neg, uint64_t *ip, int *frac_ms,
                        int *has_frac) {
    size_t i = 0;
    *neg = 0;
    if (i < n && s[i] == '-') {
        *neg = 1;
        i++;
    }
    uint64_t v = 0;
    size_t nd = 0;
    while (i < n && is_digit(s[i])) {
        if (nd >= 18) return -1; /* keeps v * 1000 in range below */
        v = v * 10 + (uint64_t)(s[i] - '0');
        nd++;
        i++;
    }
    if (nd == 0) return -1;
    *has_frac = 0;
    int f = 0, fd = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < n && is_digit(s[i])) {
            if (fd < 3) {
                f = f * 10 + (s[i] - '0');
                fd++;
            }
            i++;
        }
        if (i == start) return -1;
        while (fd < 3) {
            f *= 10;
            fd++;
        }
        *has_frac = 1;
    }
    if (i != n) return -1;
    *ip = v;
    *frac_ms = f;
    return 0;
}

/* 8 ASCII digits at s -> their value, or -1 when any is not a digit (SWAR). */
static int64_t eight_digits(const char *s) {
    uint64_t w;
    memcpy(&w, s, 8);
    /* each byte must be 0x30..0x39: high nibble 3, and adding 6 must not carry past 9 */
    if (((w & 0xf0f0f0f0f0f0f0f0ull) | (((w + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) >> 4)) !=
        0x3333333333333333ull)
        return -1;
    w -= 0x3030303030303030ull;
    w = (w * 10 + (w >> 8)) & 0x00ff00ff00ff00ffull;       /* pairs */
    w = (w * 100 + (w >> 16)) & 0x0000ffff0000ffffull;     /* quads */
    return (int64_t)((w * 10000 + (w >> 32)) & 0xffffffffull);
}

static int parse_unix(const char *s, size_t n, int as_ms, int auto_unit, int64_t *ms) {
    int neg, frac, has_frac;
    uint64_t ip;
    int64_t hi;
    if (n >= 8 && n <= 18 && (hi = eight_digits(s)) >= 0) {
        /* the common case, 10 or 13 plain digits: the same result as parse_number */
        uint64_t v = (uint64_t)hi;
        size_t i = 8;
        for (; i < n && is_digit(s[i]); i++) v = v * 10 + (uint64_t)(s[i] - '0');
        if (i == n) {
            neg = 0, ip = v, frac = 0, has_frac = 0;
            goto have_number;
        }
    }
    if (parse_number(s, n, &neg, &ip, &frac, &has_frac) != 0) return -1;
have_number:
    if (auto_unit) as_ms = ip >= 100000000000ull;
    int64_t v;
    if (as_ms) {
        if (has_frac) return -1;
        v = (int64_t)ip;
    } else {
        if (ip > (uint64_t)(INT64_MAX / 1000 - 1)) return -1;
        v = (int64_t)ip * 1000 + frac;
    }
    *ms = neg ? -v : v;
    return 0;
}

static int parse_iso(const char *s, size_t n, int64_t *ms, sq_time_cache *cache) {
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    int64_t days;
    if (cache && cache->valid && n >= 10 && memcmp(s, cache->date, 10) == 0) {
        /* the same "YYYY-MM-DD" as the last time: already checked and converted */
        days = cache->days;
        i = 10;
    } else {
        if (take_digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' ||
            take_digits(s, n, &i, 2, &mo) || i >= n || s[i++] != '-' ||
            take_digits(s, n, &i, 2, &d))
            return -1;
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return -1;
        days = sq_days_from_civil(y, (unsigned)mo, (unsigned)d);
        if (cache) {
            memcpy(cache->date, s, 10);
            cache->days = days;
            cache->valid = 1;
        }
    }
    int64_t off_min = 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != ' ') return -1;
        i++;
        if (take_digits(s, n, &i, 2, &h) || h > 23) return -1;
        if (i < n && s[i] == ':') {
            i++;
            if (take_digits(s, n, &i, 2, &mi) || mi > 59) return -1;
            if (i < n && s[i] == ':') {
                i++;
                if (take_digits(s, n, &i, 2, &sec) || sec > 59) return -1;
                if (i < n && s[i] == '.') {
                    i++;
                    size_t start = i;
                    int fd = 0;
                    while (i < n && is_digit(s[i])) {
                        if (fd < 3) {
                            frac = frac * 10 + (s[i] - '0');
                            fd++;
                        }
                        i++;
                    }
                    if (i == start) return -1;
                    for (; fd < 3; fd++) frac *= 10;
                }
            }
        }
        /* zone */
        if (i < n) {
            if (s[i] == 'Z' && i + 1 == n) {
                i++;
            } else if (n - i == 4 && s[i] == ' ' && s[i + 1] == 'U' && s[i + 2] == 'T' &&
                       s[i + 3] == 'C') {
                i += 4;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1, oh, om = 0;
                i++;
                if (take_digits(s, n, &i, 2, &oh) || oh > 23) return -1;
                if (i < n) {
                    if (s[i] == ':') i++;
                    if (take_digits(s, n, &i, 2, &om) || om > 59) return -1;
                }
                off_min = sign * (oh * 60 + om);
            } else {
                return -1;
            }
        }
        if (i != n) return -1;
    }
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - off_min * 60;
    *ms = secs * 1000 + frac;
    return 0;
}

int sq_time_parse(const char *s, size_t n, sq_time_format fmt, int64_t *ms) {
    return sq_time_parse_cached(s, n, fmt, ms, NULL);
}

int sq_time_parse_cached(const char *s, size_t n, sq_time_format fmt, int64_t *ms,
                         sq_time_cache *cache) {
    if (!s || n == 0) return -1;
    int64_t v;
    int rc;
    switch (fmt) {
    case SQ_TIME_UNIX_S: rc = parse_unix(s, n, 0, 0, &v); break;
    case SQ_TIME_UNIX_MS: rc = parse_unix(s, n, 1, 0, &v); break;
    case SQ_TIME_ISO: rc = parse_iso(s, n, &v, cache); break;
    case SQ_TIME_AUTO:
        /* an ISO date has '-' after 4 digits; a number never does */
        if (n >= 5 && is_digit(s[0]) && s[4] == '-')
            rc = parse_iso(s, n, &v, cache);
        else
            rc = parse_unix(s, n, 0, 1, &v);
        break;
    default: return -1;
    }
    if (rc == 0) *ms = v;
    return rc;
}

void sq_time_format_iso(int64_t ms, char *buf, size_t cap) {
    if (!buf || cap == 0) return;
    int64_t secs = ms / 1000 - (ms % 1000 < 0);
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}
