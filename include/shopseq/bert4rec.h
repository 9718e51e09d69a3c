/* The BERT4Rec encoder, for reuse by fine-tuning heads (next behaviour, purchase, churn).
 *
 * A bert4rec model (sq_model_create with cfg.model = "bert4rec") is a bidirectional
 * Transformer over item tokens; token id n_items is [mask]. Through sq_model_ops it trains
 * with the Cloze objective and recommends by appending [mask] (src/models/bert4rec.c).
 * These functions expose the encoder alone: run it on packed token sequences, read the
 * hidden states, and push a downstream loss's gradient back into its parameters
 * (params.grad accumulates; the caller steps the optimizer). */
#ifndef SHOPSEQ_BERT4REC_H
#define SHOPSEQ_BERT4REC_H

#include <stdint.h>

#include "shopseq/model.h"

/* Token id of [mask] (= cfg.n_items). */
int sq_bert4rec_mask_token(const sq_model *m);

/* Encodes n_seq packed sequences: tok (N) in [0, n_items], pos (N) in [0, maxlen] (the
 * position table has maxlen + 1 rows), beh and gap (N) or NULL (behaviour and time-gap
 * buckets, model.h; category and price come from the model's item tables; [mask] tokens
 * get no side embedding). N may not exceed
 * cfg.batch * (cfg.maxlen + 1). train = 1 applies dropout (stream `seed`) and keeps the
 * activations for sq_bert4rec_encoder_backward. Returns the hidden states (N, dim), valid
 * until the next call on m. */
const float *sq_bert4rec_encode(sq_model *m, int n_seq, const int *seq_off, const uint32_t *tok,
                                const int *pos, const uint8_t *beh, const uint8_t *gap, int train,
                                uint64_t seed);

/* Accumulates into m->params.grad the gradient of a loss whose gradient with respect to the
 * hidden states of the last sq_bert4rec_encode is dh (N, dim). dh is not modified. */
void sq_bert4rec_encoder_backward(sq_model *m, const float *dh);

#endif
