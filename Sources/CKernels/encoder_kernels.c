// Element-wise kernels of the BERT encoder. The matrix products (attention's too) go to
// BLAS; these are the rest of a layer, in C so they run at speed even in a debug build of
// the Swift code, and so the compiler vectorizes them (target_clones: one copy per ISA,
// picked at load time by cpuid).
#include "encoder_kernels.h"
#include "fast_exp.h"
#include <math.h>

void mrl_add_bias(float *x, const float *bias, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        for (size_t c = 0; c < cols; c++) row[c] += bias[c];
    }
}

// erf as a rational function (odd polynomial over even polynomial, x clamped to ±4):
// branch-free, so the GELU loop vectorizes, and within 4.3e-7 of erf everywhere, below
// float32's own rounding of the result near ±1.
static inline float erf_rational(float a) {
    float x = a > 4.f ? 4.f : (a < -4.f ? -4.f : a), x2 = x * x;
    float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return x * p / q;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void mrl_add_bias_gelu(float *x, const float *bias, size_t rows, size_t cols) {
    const float inv_sqrt2 = 0.70710678118654752f;
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        for (size_t c = 0; c < cols; c++) {
            float v = row[c] + bias[c];
            row[c] = 0.5f * v * (1.0f + erf_rational(v * inv_sqrt2));
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

__attribute__((target_clones("avx512f", "avx2", "default")))
void mrl_softmax_rows(float *x, size_t rows, size_t cols, float scale) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols, max = -INFINITY, sum = 0;
        for (size_t c = 0; c < cols; c++) {
            row[c] *= scale;
            max = row[c] > max ? row[c] : max;
        }
        // Separate loops: a reduction in the exp loop would keep it from vectorizing.
        for (size_t c = 0; c < cols; c++) row[c] = exp_nonpositive(row[c] - max);
        float lanes[8] = {0};
        size_t c = 0;
        for (; c + 8 <= cols; c += 8)
            for (int l = 0; l < 8; l++) lanes[l] += row[c + l];
        for (; c < cols; c++) sum += row[c];
        for (int l = 0; l < 8; l++) sum += lanes[l];
        float inv = 1.0f / sum;
        for (size_t c = 0; c < cols; c++) row[c] *= inv;
    }
}
