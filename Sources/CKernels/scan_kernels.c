// Distance kernels for the exact scan, one variant per instruction set.
// The variant is chosen once, on first use, from cpuid: the binary is built for baseline
// x86-64 so it runs on any CPU, and uses AVX2/AVX-512 where present.
#include "scan_kernels.h"
#include <math.h>
#include "isa_choice.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MRL_X86 1
#endif

typedef void (*cosine_rows_fn)(const float *, const mrl_prefix_block *, float *);
typedef float (*dot_fn)(const float *, const float *, size_t);

// Squared norm of the prefix of row i: the stored norms of the whole segments, plus the
// partial segment's, which the dot pass computed into out (see below).
static inline float prefix_sqnorm(const mrl_prefix_block *b, size_t i, size_t whole) {
    float sq = 0;
    for (size_t s = 0; s < whole; s++) sq += b->seg_sqnorms[s][i];
    return sq;
}

static inline size_t whole_segments(const mrl_prefix_block *b) {
    return b->last_columns == b->widths[b->used_segments - 1] ? b->used_segments : b->used_segments - 1;
}

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

static void cosine_rows_generic(const float *q, const mrl_prefix_block *b, float *out) {
    size_t whole = whole_segments(b);
    for (size_t i = 0; i < b->nrows; i++) {
        float dot = 0, partial = 0;
        size_t offset = 0;
        for (size_t s = 0; s < b->used_segments; s++) {
            size_t cols = s + 1 == b->used_segments ? b->last_columns : b->widths[s];
            const float *row = b->segments[s] + i * b->widths[s];
            dot += dot_generic(q + offset, row, cols);
            if (s >= whole) partial += dot_generic(row, row, cols);
            offset += b->widths[s];
        }
        float sq = prefix_sqnorm(b, i, whole) + partial;
        out[i] = (b->live[i] && sq > 0) ? dot / sqrtf(sq) : -INFINITY;
    }
}

#ifdef MRL_X86
// ---- shared by the SIMD variants: the finish pass, norms to cosines ----

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

// How far ahead the AVX-512 scan asks for rows: the hardware prefetchers alone keep too few
// reads in flight for one core to approach memory bandwidth (measured: 384-d scan 3.75 ->
// 2.98 ms on one thread). About 4 KB ahead, whatever the segment's width.
#define MRL_PREFETCH_BYTES 4096

// out holds dot products (and, for a partial last segment, that segment's squared norms in
// partial[]); turn them into cosines 16 rows at a time.
AVX512 static void finish_avx512(const mrl_prefix_block *b, size_t whole, const float *partial, float *out) {
    size_t i = 0;
    const __m512 zero = _mm512_setzero_ps(), ninf = _mm512_set1_ps(-INFINITY);
    for (; i + 16 <= b->nrows; i += 16) {
        __m512 sq = partial ? _mm512_loadu_ps(partial + i) : zero;
        for (size_t s = 0; s < whole; s++) sq = _mm512_add_ps(sq, _mm512_loadu_ps(b->seg_sqnorms[s] + i));
        __m512i live32 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b->live + i)));
        __mmask16 alive = _mm512_test_epi32_mask(live32, live32) & _mm512_cmp_ps_mask(sq, zero, _CMP_GT_OQ);
        __m512 cosine = _mm512_div_ps(_mm512_loadu_ps(out + i), _mm512_sqrt_ps(sq));
        _mm512_storeu_ps(out + i, _mm512_mask_blend_ps(alive, ninf, cosine));
    }
    for (; i < b->nrows; i++) {
        float sq = prefix_sqnorm(b, i, whole) + (partial ? partial[i] : 0);
        out[i] = (b->live[i] && sq > 0) ? out[i] / sqrtf(sq) : -INFINITY;
    }
}

AVX2 static void finish_avx2(const mrl_prefix_block *b, size_t whole, const float *partial, float *out) {
    for (size_t i = 0; i < b->nrows; i++) {  // scalar: cheap beside the dot pass, and simple
        float sq = prefix_sqnorm(b, i, whole) + (partial ? partial[i] : 0);
        out[i] = (b->live[i] && sq > 0) ? out[i] / sqrtf(sq) : -INFINITY;
    }
}

// ---- AVX2 + FMA ----

AVX2 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), s1);
    }
    for (; j + 8 <= n; j += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

AVX2 static void cosine_rows_avx2(const float *q, const mrl_prefix_block *b, float *out, float *partial) {
    size_t whole = whole_segments(b);
    size_t offset = 0;
    for (size_t s = 0; s < b->used_segments; s++) {  // one sequential pass per segment
        size_t cols = s + 1 == b->used_segments ? b->last_columns : b->widths[s], w = b->widths[s];
        for (size_t i = 0; i < b->nrows; i++) {
            const float *row = b->segments[s] + i * w;
            float dot = dot_avx2(q + offset, row, cols);
            out[i] = s == 0 ? dot : out[i] + dot;
            if (s >= whole) partial[i] = dot_avx2(row, row, cols);
        }
        offset += w;
    }
    finish_avx2(b, whole, whole < b->used_segments ? partial : NULL, out);
}

// ---- AVX-512F: four rows at a time, masked tails ----

AVX512 static float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16), s1);
    }
    for (; j < n; j += 16) {  // masked tail: no scalar loop, no read past the end
        __mmask16 m = n - j >= 16 ? 0xFFFF : (__mmask16)((1u << (n - j)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// One pass per segment, each a single sequential stream through memory (interleaving the
// segments of a row would make several streams and starve the prefetchers). Within a pass
// the query slice is loaded once per 16 columns and shared by four rows, whose four
// accumulators run in parallel; the first pass stores, later passes add.
AVX512 static void cosine_rows_avx512(const float *q, const mrl_prefix_block *b, float *out, float *partial) {
    size_t whole = whole_segments(b);
    size_t offset = 0;
    for (size_t s = 0; s < b->used_segments; s++) {
        size_t cols = s + 1 == b->used_segments ? b->last_columns : b->widths[s], w = b->widths[s];
        const float *qs = q + offset;
        size_t i = 0;
        for (; i + 4 <= b->nrows; i += 4) {
            const float *r0 = b->segments[s] + i * w, *r1 = r0 + w, *r2 = r1 + w, *r3 = r2 + w;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            size_t j = 0;
            const char *ahead = (const char *)(r0 + (MRL_PREFETCH_BYTES / sizeof(float) / w + 4) * w);
            for (; j + 16 <= cols; j += 16) {  // plain loads: masked ones cost more on some cores
                _mm_prefetch(ahead + 4 * j, _MM_HINT_T0);
                _mm_prefetch(ahead + 4 * (j + w), _MM_HINT_T0);
                _mm_prefetch(ahead + 4 * (j + 2 * w), _MM_HINT_T0);
                _mm_prefetch(ahead + 4 * (j + 3 * w), _MM_HINT_T0);
                __m512 qv = _mm512_loadu_ps(qs + j);
                a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r0 + j), a0);
                a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r1 + j), a1);
                a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r2 + j), a2);
                a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r3 + j), a3);
            }
            if (j < cols) {  // a prefix ending off a multiple of 16
                __mmask16 m = (__mmask16)((1u << (cols - j)) - 1);
                __m512 qv = _mm512_maskz_loadu_ps(m, qs + j);
                a0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, r0 + j), a0);
                a1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, r1 + j), a1);
                a2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, r2 + j), a2);
                a3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, r3 + j), a3);
            }
            __m128 sums = _mm_set_ps(_mm512_reduce_add_ps(a3), _mm512_reduce_add_ps(a2),
                                     _mm512_reduce_add_ps(a1), _mm512_reduce_add_ps(a0));
            _mm_storeu_ps(out + i, s == 0 ? sums : _mm_add_ps(_mm_loadu_ps(out + i), sums));
        }
        for (; i < b->nrows; i++) {
            float dot = dot_avx512(qs, b->segments[s] + i * w, cols);
            out[i] = s == 0 ? dot : out[i] + dot;
        }
        if (s >= whole)
            for (i = 0; i < b->nrows; i++) partial[i] = dot_avx512(b->segments[s] + i * w, b->segments[s] + i * w, cols);
        offset += w;
    }
    finish_avx512(b, whole, whole < b->used_segments ? partial : NULL, out);
}
#endif

// ---- dispatch ----

// The SIMD variants keep a partial segment's squared norms in a scratch row beside out.
typedef void (*cosine_rows_scratch_fn)(const float *, const mrl_prefix_block *, float *, float *);

static struct {
    cosine_rows_fn generic;
    cosine_rows_scratch_fn simd;
    dot_fn dot;
    const char *isa;
} kernels;

// Takes variant `isa` if this CPU runs it.
static int install(const char *isa) {
    if (!mrl_cpu_runs(isa)) return 0;
    if (strcmp(isa, "generic") == 0) {
        kernels.generic = cosine_rows_generic;
        kernels.simd = NULL;
        kernels.dot = dot_generic;
        kernels.isa = "generic";
        return 1;
    }
#ifdef MRL_X86
    if (strcmp(isa, "avx512f") == 0) {
        kernels.simd = cosine_rows_avx512;
        kernels.dot = dot_avx512;
        kernels.isa = "avx512f";
        return 1;
    }
    if (strcmp(isa, "avx2+fma") == 0) {
        kernels.simd = cosine_rows_avx2;
        kernels.dot = dot_avx2;
        kernels.isa = "avx2+fma";
        return 1;
    }
#endif
    return 0;
}

MRL_KERNEL_FAMILY(mrl_scan_kernels_select, mrl_scan_kernels_isa)

void mrl_cosine_rows(const float *q, const mrl_prefix_block *block, float *out) {
    ensure_kernels();
    if (!kernels.simd) {
        kernels.generic(q, block, out);
        return;
    }
    float scratch[1024];
    float *partial = block->nrows <= 1024 ? scratch : malloc(block->nrows * sizeof(float));
    kernels.simd(q, block, out, partial);
    if (partial != scratch) free(partial);
}

float mrl_dot(const float *a, const float *b, size_t n) {
    ensure_kernels();
    return kernels.dot(a, b, n);
}

