// Distance kernels for the exact scan, one variant per instruction set.
// The variant is chosen once, on first use, from cpuid: the binary is built
// for baseline x86-64 so it runs on any CPU, and uses AVX2/AVX-512 where present.
#include "scan_kernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MRL_X86 1
#endif

typedef void (*dot_rows_fn)(const float *, const float *, size_t, size_t, size_t, float *);
typedef void (*sqnorm_rows_fn)(const float *, size_t, size_t, size_t, float *);
typedef float (*dot_fn)(const float *, const float *, size_t);

// ---- generic (any CPU; the compiler vectorizes for the baseline ISA) ----

static float dot_generic(const float *a, const float *b, size_t n) {
    float acc[8] = {0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += a[j + l] * b[j + l];
    float s = 0;
    for (; j < n; j++) s += a[j] * b[j];
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

// Row loops over a variant's dot product: dot_rows_ISA (query against each row) and
// sqnorm_rows_ISA (each row against itself), compiled for that variant's target.
#define ROW_LOOPS(isa, target)                                                          \
    target static void dot_rows_##isa(const float *q, const float *rows, size_t stride, \
                                      size_t nrows, size_t cols, float *out) {         \
        for (size_t i = 0; i < nrows; i++) out[i] += dot_##isa(q, rows + i * stride, cols); \
    }                                                                                   \
    target static void sqnorm_rows_##isa(const float *rows, size_t stride, size_t nrows, \
                                         size_t cols, float *out) {                    \
        for (size_t i = 0; i < nrows; i++) {                                            \
            const float *r = rows + i * stride;                                         \
            out[i] += dot_##isa(r, r, cols);                                            \
        }                                                                               \
    }

ROW_LOOPS(generic, )

#ifdef MRL_X86
// ---- AVX2 + FMA ----

__attribute__((target("avx2,fma")))
static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), s1);
    }
    for (; j + 8 <= n; j += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

ROW_LOOPS(avx2, __attribute__((target("avx2,fma"))))

// ---- AVX-512F ----

__attribute__((target("avx512f")))
static float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16), s1);
    }
    if (j + 16 <= n) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), s0);
        j += 16;
    }
    if (j < n) {  // masked tail: no scalar loop, no read past the end
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// Four rows at a time: the query slice stays in registers and the four
// horizontal sums overlap, which matters for narrow prefixes (32 or 64 dims)
// where the reduction costs as much as the multiply-adds.
__attribute__((target("avx512f")))
static void dot_rows_avx512(const float *q, const float *rows, size_t stride,
                            size_t nrows, size_t cols, float *out) {
    size_t i = 0;
    if (cols % 16 == 0) {
        for (; i + 4 <= nrows; i += 4) {
            const float *r0 = rows + i * stride, *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
            __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
            for (size_t j = 0; j < cols; j += 16) {
                __m512 qv = _mm512_loadu_ps(q + j);
                a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r0 + j), a0);
                a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r1 + j), a1);
                a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r2 + j), a2);
                a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r3 + j), a3);
            }
            out[i] += _mm512_reduce_add_ps(a0);
            out[i + 1] += _mm512_reduce_add_ps(a1);
            out[i + 2] += _mm512_reduce_add_ps(a2);
            out[i + 3] += _mm512_reduce_add_ps(a3);
        }
    }
    for (; i < nrows; i++) out[i] += dot_avx512(q, rows + i * stride, cols);
}

__attribute__((target("avx512f")))
static void sqnorm_rows_avx512(const float *rows, size_t stride, size_t nrows,
                               size_t cols, float *out) {
    for (size_t i = 0; i < nrows; i++) out[i] += dot_avx512(rows + i * stride, rows + i * stride, cols);
}
#endif

// ---- dispatch ----

static struct {
    dot_rows_fn dot_rows;
    sqnorm_rows_fn sqnorm_rows;
    dot_fn dot;
    const char *isa;
} kernels;
static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;

static int install(const char *isa) {
    if (strcmp(isa, "generic") == 0) {
        kernels.dot_rows = dot_rows_generic;
        kernels.sqnorm_rows = sqnorm_rows_generic;
        kernels.dot = dot_generic;
        kernels.isa = "generic";
        return 1;
    }
#ifdef MRL_X86
    __builtin_cpu_init();
    if (strcmp(isa, "avx512f") == 0 && __builtin_cpu_supports("avx512f")) {
        kernels.dot_rows = dot_rows_avx512;
        kernels.sqnorm_rows = sqnorm_rows_avx512;
        kernels.dot = dot_avx512;
        kernels.isa = "avx512f";
        return 1;
    }
    if (strcmp(isa, "avx2+fma") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        kernels.dot_rows = dot_rows_avx2;
        kernels.sqnorm_rows = sqnorm_rows_avx2;
        kernels.dot = dot_avx2;
        kernels.isa = "avx2+fma";
        return 1;
    }
#endif
    return 0;
}

// The best variant this CPU runs. MRL_ISA=avx2+fma or MRL_ISA=generic caps the choice,
// for a user who wants to rule a kernel out.
static void choose_kernels(void) {
    const char *cap = getenv("MRL_ISA");
    const char *order[] = {"avx512f", "avx2+fma", "generic"};
    int allowed = cap == NULL;
    for (int i = 0; i < 3; i++) {
        if (!allowed && strcmp(cap, order[i]) == 0) allowed = 1;
        if (allowed && install(order[i])) return;
    }
    install("generic");
}

int mrl_scan_kernels_select(const char *isa) {
    pthread_once(&kernels_once, choose_kernels);
    return install(isa);
}

void mrl_dot_rows_accumulate(const float *q, const float *rows, size_t stride,
                             size_t nrows, size_t cols, float *out) {
    pthread_once(&kernels_once, choose_kernels);
    kernels.dot_rows(q, rows, stride, nrows, cols, out);
}

void mrl_sqnorm_rows_accumulate(const float *rows, size_t stride, size_t nrows,
                                size_t cols, float *out) {
    pthread_once(&kernels_once, choose_kernels);
    kernels.sqnorm_rows(rows, stride, nrows, cols, out);
}

float mrl_dot(const float *a, const float *b, size_t n) {
    pthread_once(&kernels_once, choose_kernels);
    return kernels.dot(a, b, n);
}

const char *mrl_scan_kernels_isa(void) {
    pthread_once(&kernels_once, choose_kernels);
    return kernels.isa;
}
