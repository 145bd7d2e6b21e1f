// The graph walk's asymmetric distance: float query against int8 rows, one variant per
// instruction set, chosen once on first use from cpuid (as in scan_kernels.c).
#include "graph_kernels.h"
#include "isa_choice.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MRL_X86 1
#endif

typedef float (*dot_f32_i8_fn)(const float *, const int8_t *, size_t);

static float dot_f32_i8_generic(const float *q, const int8_t *x, size_t n) {
    float acc[8] = {0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += q[j + l] * (float)x[j + l];
    float s = 0;
    for (; j < n; j++) s += q[j] * (float)x[j];
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

#ifdef MRL_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

AVX2 static inline __m256 widen8(const int8_t *x) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)x)));
}

// Two accumulators so consecutive FMAs do not wait on each other.
AVX2 static float dot_f32_i8_avx2(const float *q, const int8_t *x, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), widen8(x + j), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), widen8(x + j + 8), s1);
    }
    for (; j + 8 <= n; j += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), widen8(x + j), s0);
    __m256 v = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float s = _mm_cvtss_f32(h);
    for (; j < n; j++) s += q[j] * (float)x[j];
    return s;
}

AVX512 static inline __m512 widen16(const int8_t *x) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)x)));
}

// AVX-512F alone has no masked byte load (that is AVX-512BW), so a tail under 16
// components goes scalar; the prefixes the graph serves (64, 128) have none.
AVX512 static float dot_f32_i8_avx512(const float *q, const int8_t *x, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), widen16(x + j), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 16), widen16(x + j + 16), s1);
    }
    for (; j + 16 <= n; j += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), widen16(x + j), s0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; j < n; j++) s += q[j] * (float)x[j];
    return s;
}
#endif

static struct {
    dot_f32_i8_fn dot;
    const char *isa;
} kernels;

// Takes variant `isa` if this CPU runs it.
static int install(const char *isa) {
    if (!mrl_cpu_runs(isa)) return 0;
    if (strcmp(isa, "generic") == 0) {
        kernels.dot = dot_f32_i8_generic;
        kernels.isa = "generic";
        return 1;
    }
#ifdef MRL_X86
    if (strcmp(isa, "avx512f") == 0) {
        kernels.dot = dot_f32_i8_avx512;
        kernels.isa = "avx512f";
        return 1;
    }
    if (strcmp(isa, "avx2+fma") == 0) {
        kernels.dot = dot_f32_i8_avx2;
        kernels.isa = "avx2+fma";
        return 1;
    }
#endif
    return 0;
}

MRL_KERNEL_FAMILY(mrl_graph_kernels_select, mrl_graph_kernels_isa)

float mrl_dot_f32_i8(const float *q, const int8_t *x, size_t n) {
    ensure_kernels();
    return kernels.dot(q, x, n);
}

