#ifndef MRL_ENCODER_KERNELS_H
#define MRL_ENCODER_KERNELS_H
#include <stddef.h>

/// x[r][c] += bias[c] for rows × cols, row-major.
void mrl_add_bias(float *x, const float *bias, size_t rows, size_t cols);

/// x[r][c] = gelu(x[r][c] + bias[c]) with the exact (erf) GELU.
void mrl_add_bias_gelu(float *x, const float *bias, size_t rows, size_t cols);

/// x[r] = layernorm(x[r] + bias + residual[r]) * gamma + beta, per row of `cols`.
void mrl_bias_residual_layernorm(float *x, const float *bias, const float *residual, const float *gamma,
                                 const float *beta, size_t rows, size_t cols, float eps);

/// x[r] = layernorm(x[r]) * gamma + beta, per row of `cols`.
void mrl_layernorm(float *x, const float *gamma, const float *beta, size_t rows, size_t cols, float eps);

/// Row-wise softmax of a rows × cols matrix, after scaling by `scale`.
void mrl_softmax_rows(float *x, size_t rows, size_t cols, float scale);

#endif
