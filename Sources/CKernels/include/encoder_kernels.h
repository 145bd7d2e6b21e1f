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

/// Self-attention of one sequence of `len` tokens. qkv holds, per token, the query, key and
/// value projections side by side (3 × heads × head_dim floats, bias included); context gets,
/// per token, the heads' outputs side by side (heads × head_dim floats, row stride
/// `context_stride`). scratch needs len floats.
void mrl_attention(const float *qkv, size_t len, size_t heads, size_t head_dim,
                   float *context, size_t context_stride, float *scratch);

#endif
