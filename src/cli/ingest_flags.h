/* getopt_long entries shared by `shopseq ingest` and `shopseq run`. */
#ifndef SQ_CLI_INGEST_FLAGS_H
#define SQ_CLI_INGEST_FLAGS_H

#include <getopt.h>

enum {
    OPT_PRESET = 1000, OPT_MAP, OPT_BEHAVIORS, OPT_DEFAULT_BEHAVIOR, OPT_DELIMITER, OPT_HEADER,
    OPT_NO_HEADER, OPT_FORMAT, OPT_TIME_FORMAT, OPT_YEAR, OPT_SESSION_GAP, OPT_MAX_ERRORS,
    OPT_MAX_LINE, OPT_STRIP_ZERO_FRACTION,
};

#define SQ_INGEST_LONG_OPTIONS                                              \
    {"preset", required_argument, 0, OPT_PRESET},                           \
    {"map", required_argument, 0, OPT_MAP},                                 \
    {"behaviors", required_argument, 0, OPT_BEHAVIORS},                     \
    {"default-behavior", required_argument, 0, OPT_DEFAULT_BEHAVIOR},       \
    {"delimiter", required_argument, 0, OPT_DELIMITER},                     \
    {"header", no_argument, 0, OPT_HEADER},                                 \
    {"no-header", no_argument, 0, OPT_NO_HEADER},                           \
    {"format", required_argument, 0, OPT_FORMAT},                           \
    {"time-format", required_argument, 0, OPT_TIME_FORMAT},                 \
    {"year", required_argument, 0, OPT_YEAR},                               \
    {"session-gap", required_argument, 0, OPT_SESSION_GAP},                 \
    {"max-errors", required_argument, 0, OPT_MAX_ERRORS},                   \
    {"max-line", required_argument, 0, OPT_MAX_LINE},                       \
    {"strip-zero-fraction", no_argument, 0, OPT_STRIP_ZERO_FRACTION}

#define SQ_INGEST_FLAGS_HELP                                                                     \
    "input layout (default: the simulator's CSV: user_id,item_id,category_id,behavior,timestamp,price)\n" \
    "  --preset NAME        a known public layout: taobao, rees46, jdata, tmall, tianchi,\n"     \
    "                       yoochoose, diginetica, retailrocket, sasrec\n"                       \
    "  --map SPEC           field=column pairs, e.g. user=visitorid,item=itemid,time=timestamp\n" \
    "                       column: a header name (a|b = first that exists) or a 1-based\n"      \
    "                       number; a trailing ? makes it optional; '-' unmaps.\n"               \
    "                       fields: user item behavior time category price session\n"           \
    "                       time_offset (ms added to time) month day (with --year)\n"            \
    "  --behaviors SPEC     source word -> canonical behaviour, e.g. pv=view,addtocart=cart,\n"  \
    "                       transaction=buy (canonical: view click search fav cart uncart buy\n" \
    "                       review rate; canonical words always map to themselves)\n"           \
    "  --default-behavior B behaviour of every row when no behaviour column is mapped (view)\n" \
    "  --delimiter C        comma, tab, semicolon, pipe, space (runs of blanks) or one char;\n"  \
    "                       default: guessed from the first line\n"                              \
    "  --header/--no-header whether the first line is a header (default: yes when columns\n"    \
    "                       are named)\n"                                                        \
    "  --format F           auto (JSON Lines if the first line starts with '{'), csv, jsonl\n"   \
    "  --time-format F      auto (Unix s, or ms when >= 1e11, or ISO-8601), s, ms, iso\n"       \
    "  --year Y             year for month/day inputs\n"                                         \
    "  --session-gap D      inactivity gap that starts a new session: 1800, 30m, 2h (30m);\n"   \
    "                       ignored when a session column is mapped\n"                           \
    "  --max-errors N|R%    abort when more than N rows (or R% of rows) are rejected (10%)\n"    \
    "  --max-line BYTES     longer lines are rejected as line_too_long (1048576)\n"              \
    "  --strip-zero-fraction ids like 266079.0 become 266079\n"

#endif
