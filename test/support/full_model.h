/*
 * full_model.h - one model with every layer type, for the tests that must
 * say "every layer" (issue 14, item 6): byte flips and truncations of the
 * model and training-state files, allocation failures, kill -9 during
 * saves and concurrent prediction.
 *
 *   tokens[T] -> Embedding(mask_zero) -> Conv1D(same) -> MaxPooling1D(same)
 *   -> AveragePooling1D(same) -> LayerNormalization -> custom "test.Scale"
 *   -> Bidirectional(LSTM, sequences) -> MultiHeadAttention(self)
 *   -> SimpleRNN(sequences) -> GRU (query vector) ; Attention(query, MHA out)
 *   -> Concatenate with GlobalAveragePooling1D and GlobalMaxPooling1D
 *   -> Dense(relu) -> Add(with Dense of the float input) -> Dropout
 *   -> Activation(tanh) -> Dense(softmax)
 * plus a float input [TK_FULL_X]: two inputs (tokens, floats), one output
 * [TK_FULL_OUT].  The custom layer needs tk_full_registry() to load.
 */
#ifndef SN_TEST_FULL_MODEL_H
#define SN_TEST_FULL_MODEL_H

#include <stdint.h>

#include <seqnet.h>

enum { TK_FULL_T = 6, TK_FULL_VOCAB = 16, TK_FULL_X = 4, TK_FULL_OUT = 3,
       TK_FULL_BATCH = 3 };

/* Built, weights from seed; NULL (with sn_last_error) if any call failed,
 * so that it can run under an allocator that fails. */
sn_model_t *tk_full_model(uint64_t seed);
/* A registry that knows "test.Scale" (the caller frees it). */
sn_registry_t *tk_full_registry(void);
/* Inputs and one-hot targets for TK_FULL_BATCH samples. */
extern const int32_t tk_full_tokens[TK_FULL_BATCH * TK_FULL_T];
extern const float tk_full_floats[TK_FULL_BATCH * TK_FULL_X];
extern const float tk_full_targets[TK_FULL_BATCH * TK_FULL_OUT];
extern const void *const tk_full_inputs[2];
/* Adam + categorical cross-entropy + accuracy; the status. */
sn_status tk_full_compile(sn_model_t *m);

#endif
