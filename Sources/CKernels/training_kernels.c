// The per-entry part of the adaptor's training loss (BatchStep): a softmax over each row of
// batch similarities, thousands of entries a row and four prefixes a step. In Swift it was
// scalar libm calls, about 40% of training; here the loops vectorize (target_clones: one copy
// per ISA, picked at load time by cpuid).
#include "training_kernels.h"
#include "fast_exp.h"
#include <math.h>

__attribute__((target_clones("avx512f", "avx2", "default")))
float mrl_softmax_row(float *row, size_t count, size_t skip, float *expected_logit) {
    float max = -INFINITY;
    for (size_t c = 0; c < count; c++)
        if (c != skip) max = row[c] > max ? row[c] : max;
    // The skipped entry gets a logit whose exponential is 0 to float precision (below the
    // clamp of exp_nonpositive), so the loops below need no branch for it.
    if (skip < count) row[skip] = max - 1000.0f;
    // Eight lanes of each sum, so the loop vectorizes (a single reduction would not).
    float sums[8] = {0}, weighted[8] = {0};
    size_t c = 0;
    for (; c + 8 <= count; c += 8)
        for (int l = 0; l < 8; l++) {
            float logit = row[c + l], e = exp_nonpositive(logit - max);
            sums[l] += e;
            weighted[l] += e * logit;
            row[c + l] = e;
        }
    float sum = 0, dot = 0;
    for (; c < count; c++) {
        float logit = row[c], e = exp_nonpositive(logit - max);
        sum += e;
        dot += e * logit;
        row[c] = e;
    }
    for (int l = 0; l < 8; l++) {
        sum += sums[l];
        dot += weighted[l];
    }
    if (skip < count) {
        dot -= row[skip] * (max - 1000.0f);
        sum -= row[skip];
        row[skip] = 0;
    }
    float inverse = 1.0f / sum;
    for (size_t j = 0; j < count; j++) row[j] *= inverse;
    if (expected_logit) *expected_logit = dot * inverse;
    return max + logf(sum);
}

__attribute__((target_clones("avx512f", "avx2", "default")))
float mrl_softmax_cross_entropy_row(float *logits, const float *target, size_t count, size_t skip, float gradient_scale) {
    float lanes[8] = {0}, expected = 0;
    size_t c = 0;
    for (; c + 8 <= count; c += 8)
        for (int l = 0; l < 8; l++) lanes[l] += target[c + l] * logits[c + l];
    for (; c < count; c++) expected += target[c] * logits[c];
    for (int l = 0; l < 8; l++) expected += lanes[l];
    // The skipped entry's target is 0, so it adds nothing above whatever its logit.
    float normaliser = mrl_softmax_row(logits, count, skip, NULL);
    for (size_t j = 0; j < count; j++) logits[j] = (logits[j] - target[j]) * gradient_scale;
    return normaliser - expected;
}
