#ifndef MRL_TRAINING_KERNELS_H
#define MRL_TRAINING_KERNELS_H
#include <stddef.h>

/// Replaces the `count` logits of `row` with their softmax, entry `skip` left out (set to 0;
/// `skip` >= `count` for none; at least one entry must be kept). Returns the log of the
/// normaliser (the logsumexp of the kept logits), and in `expected_logit` (unless NULL) the
/// logits' mean under the softmax, Σ softmax_j · logit_j: the softmax's entropy is their
/// difference.
float mrl_softmax_row(float *row, size_t count, size_t skip, float *expected_logit);

/// One row of a softmax cross-entropy and its gradient: given logits S and a target
/// distribution P (P_skip = 0), returns logsumexp(S) - Σ P_j S_j and replaces S with
/// (softmax(S) - P) · `gradient_scale`, entry `skip` left out as in mrl_softmax_row.
float mrl_softmax_cross_entropy_row(float *logits, const float *target, size_t count, size_t skip, float gradient_scale);

#endif
