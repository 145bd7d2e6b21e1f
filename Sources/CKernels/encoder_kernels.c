// Element-wise and attention kernels of the BERT encoder. The matrix products go to BLAS;
// these are the rest of a layer, in C so they run at speed even in a debug build of the
// Swift code, and so the compiler vectorizes them.
#include "encoder_kernels.h"
#include <math.h>

void mrl_add_bias(float *x, const float *bias, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        for (size_t c = 0; c < cols; c++) row[c] += bias[c];
    }
}

void mrl_add_bias_gelu(float *x, const float *bias, size_t rows, size_t cols) {
    const float inv_sqrt2 = 0.70710678118654752f;
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        for (size_t c = 0; c < cols; c++) {
            float v = row[c] + bias[c];
            row[c] = 0.5f * v * (1.0f + erff(v * inv_sqrt2));
        }
    }
}

static void normalize_row(float *row, const float *gamma, const float *beta, size_t cols, float eps) {
    // Two passes in double: a mean and variance accurate to the reference's float32 result.
    double mean = 0, var = 0;
    for (size_t c = 0; c < cols; c++) mean += row[c];
    mean /= (double)cols;
    for (size_t c = 0; c < cols; c++) {
        double d = row[c] - mean;
        var += d * d;
    }
    var /= (double)cols;
    float scale = (float)(1.0 / sqrt(var + eps)), m = (float)mean;
    for (size_t c = 0; c < cols; c++) row[c] = (row[c] - m) * scale * gamma[c] + beta[c];
}

void mrl_bias_residual_layernorm(float *x, const float *bias, const float *residual, const float *gamma,
                                 const float *beta, size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        const float *res = residual + r * cols;
        for (size_t c = 0; c < cols; c++) row[c] += bias[c] + res[c];
        normalize_row(row, gamma, beta, cols, eps);
    }
}

void mrl_layernorm(float *x, const float *gamma, const float *beta, size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) normalize_row(x + r * cols, gamma, beta, cols, eps);
}

void mrl_attention(const float *qkv, size_t len, size_t heads, size_t head_dim,
                   float *context, size_t context_stride, float *scratch) {
    size_t hidden = heads * head_dim, stride = 3 * hidden;
    float scale = 1.0f / sqrtf((float)head_dim);
    for (size_t h = 0; h < heads; h++) {
        const float *q = qkv + h * head_dim, *k = qkv + hidden + h * head_dim, *v = qkv + 2 * hidden + h * head_dim;
        for (size_t i = 0; i < len; i++) {
            const float *qi = q + i * stride;
            float max = -INFINITY;
            for (size_t j = 0; j < len; j++) {
                const float *kj = k + j * stride;
                float s = 0;
                for (size_t d = 0; d < head_dim; d++) s += qi[d] * kj[d];
                s *= scale;
                scratch[j] = s;
                if (s > max) max = s;
            }
            float sum = 0;
            for (size_t j = 0; j < len; j++) {
                scratch[j] = expf(scratch[j] - max);
                sum += scratch[j];
            }
            float inv = 1.0f / sum;
            float *out = context + i * context_stride + h * head_dim;
            for (size_t d = 0; d < head_dim; d++) out[d] = 0;
            for (size_t j = 0; j < len; j++) {
                const float *vj = v + j * stride;
                float p = scratch[j] * inv;
                for (size_t d = 0; d < head_dim; d++) out[d] += p * vj[d];
            }
        }
    }
}
