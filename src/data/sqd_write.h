/* Internal to src/data: writing one .sqd section in pieces (ingest gathers a large column
 * in halves, so that it needs no buffer of its own). */
#ifndef SQ_DATA_SQD_WRITE_H
#define SQ_DATA_SQD_WRITE_H

#include "shopseq/dataset.h"

/* Appends size bytes to section id, opening it on the first piece; last closes it. The
 * file holds the same bytes and checksum as one sq_dataset_writer_section call with the
 * pieces concatenated. No other section may be written while one is open. */
sq_status sq__dataset_writer_piece(sq_dataset_writer *w, sq_section_id id, const void *data,
                                   uint64_t size, int last, sq_error *err);

#endif
