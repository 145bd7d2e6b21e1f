// The exponential the softmax kernels share (private to CKernels).
#ifndef MRL_FAST_EXP_H
#define MRL_FAST_EXP_H

// e^x for x <= 0 (softmax after subtracting the row's max): x = k·ln2 + r with |r| <= ln2/2,
// e^r by its Taylor series to r^7 (relative error below 1e-8), 2^k put into the exponent bits.
// Branch-free, so the loops calling it vectorize; libm's expf is a scalar call per element.
static inline float exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    float k = __builtin_roundf(x * 1.44269504088896341f);
    float r = x - k * 0.693145751953125f - k * 1.428606765330187045e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { unsigned int i; float f; } scale = {.i = (unsigned int)((int)k + 127) << 23};
    return p * scale.f;
}

#endif
