/* Parsing of event times into Unix milliseconds (UTC). */
#ifndef SQ_DATA_TIMEPARSE_H
#define SQ_DATA_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SQ_TIME_AUTO,    /* number: seconds, or milliseconds when >= 1e11; else ISO-8601 */
    SQ_TIME_UNIX_S,  /* seconds, optional fraction ("1396306807.617") */
    SQ_TIME_UNIX_MS, /* milliseconds, integer */
    SQ_TIME_ISO,     /* ISO-8601 and the common variants below */
} sq_time_format;

/* ISO variants accepted: "YYYY-MM-DD", "YYYY-MM-DD HH", "YYYY-MM-DD HH:MM",
 * "YYYY-MM-DD HH:MM:SS", with 'T' or ' ' between date and time, an optional fraction
 * ".f..." of seconds, and an optional zone: "Z", " UTC", "+HH:MM", "+HHMM", "-HH".
 * Fields are range-checked (month 1-12, day valid for the month, hour < 24, ...).
 * Returns 0 and sets *ms, or -1 if s is not a time in that format. Leading/trailing
 * blanks are not accepted (callers trim). */
int sq_time_parse(const char *s, size_t n, sq_time_format fmt, int64_t *ms);

/* The last ISO date seen ("YYYY-MM-DD" and its day number): logs hold runs of the same
 * day, so the date part is checked and converted once per run. Zero-initialise. */
typedef struct sq_time_cache {
    char date[10];
    int valid;
    int64_t days;
} sq_time_cache;

/* sq_time_parse with a cache (NULL: none); the result is the same. */
int sq_time_parse_cached(const char *s, size_t n, sq_time_format fmt, int64_t *ms,
                         sq_time_cache *cache);

/* Days since 1970-01-01 of a proleptic Gregorian date (valid for any year). */
int64_t sq_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Formats Unix ms as "YYYY-MM-DDTHH:MM:SSZ" (buf >= 32 bytes). */
void sq_time_format_iso(int64_t ms, char *buf, size_t cap);

#endif
