/* On-disk layout of .sqd files (little-endian; see docs/sqd-format.md).
 *
 *   [header: 1024 bytes][section][pad to 64][section][pad]...
 *
 * The header ends with an XXH3-64 of its first 1016 bytes; each section carries its own
 * XXH3-64, checked on open. Readers check every offset and size against the file size. */
#ifndef SQ_DATA_SQD_FORMAT_H
#define SQ_DATA_SQD_FORMAT_H

#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error ".sqd files are little-endian; a big-endian port needs byte swapping in sqd_*.c"
#endif

#define SQD_MAGIC "SQD1\r\n\x1a\n"
#define SQD_VERSION 1u
#define SQD_HEADER_SIZE 1024u
#define SQD_ALIGN 64u
#define SQD_MAX_SECTIONS 24u

typedef struct sqd_section_entry {
    uint32_t id;
    uint32_t reserved;
    uint64_t offset;
    uint64_t size;
    uint64_t checksum;
} sqd_section_entry; /* 32 bytes */

typedef struct sqd_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t file_size;
    uint32_t n_users, n_items, n_categories, flags;
    uint64_t n_events, n_sessions;
    int64_t time_min_ms, time_max_ms;
    int64_t session_gap_s;
    uint32_t n_sections;
    uint32_t reserved0;
    sqd_section_entry sections[SQD_MAX_SECTIONS]; /* 768 bytes */
    uint8_t reserved[1024 - 88 - 768 - 8];
    uint64_t header_checksum;
} sqd_header;

_Static_assert(sizeof(sqd_header) == SQD_HEADER_SIZE, "sqd header must be 1024 bytes");

#endif
