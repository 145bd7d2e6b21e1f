// The ordered scan: unsigned byte rows read in sequence against a signed byte query, the best
// kept in a heap; one variant per instruction set, chosen once on first use from cpuid (as in
// graph_kernels.c). AVX-512F alone has no byte multiply-add (that is AVX-512BW), so AVX2
// serves AVX-512 machines too.
#include "code_scan_kernels.h"
#include "isa_choice.h"
#include <limits.h>
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MRL_X86 1
#endif

typedef void (*top_dots_fn)(const int8_t *, const uint8_t *, size_t, size_t, uint32_t, mrl_top_rows *, int32_t);

// The score a row must beat to enter: the worst kept, or `bar` while the heap has room.
static inline int32_t floor_of(const mrl_top_rows *top, int32_t bar) { return top->size < top->keep ? bar : top->scores[0]; }

static void offer(mrl_top_rows *top, int32_t score, uint32_t position) {
    if (top->allowed && !((top->allowed[position >> 6] >> (position & 63)) & 1)) return;
    int32_t *s = top->scores;
    uint32_t *p = top->positions;
    size_t i;
    if (top->size < top->keep) {  // sift the new one up from the end
        i = top->size++;
        while (i > 0 && s[(i - 1) / 2] > score) {
            s[i] = s[(i - 1) / 2];
            p[i] = p[(i - 1) / 2];
            i = (i - 1) / 2;
        }
    } else {  // replace the worst and sift down
        if (score <= s[0]) return;
        i = 0;
        for (;;) {
            size_t child = 2 * i + 1;
            if (child >= top->size) break;
            if (child + 1 < top->size && s[child + 1] < s[child]) child++;
            if (s[child] >= score) break;
            s[i] = s[child];
            p[i] = p[child];
            i = child;
        }
    }
    s[i] = score;
    p[i] = position;
}

static void top_dots_generic(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, uint32_t first, mrl_top_rows *top,
                             int32_t bar) {
    for (size_t i = 0; i < count; i++) {
        const uint8_t *x = rows + i * dims;
        int32_t s = 0;
        for (size_t j = 0; j < dims; j++) s += (int32_t)x[j] * (int32_t)q[j];
        if (s > floor_of(top, bar)) offer(top, s, first + (uint32_t)i);
    }
}

#ifdef MRL_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE inline __attribute__((always_inline))

// Eight int32 lanes of partial sums of one row: 32 bytes per step multiplied into 16-bit
// pair sums (vpmaddubsw; |q| <= 63 keeps them below 2^15), then widened into pairs of those
// (vpmaddwd by ones).
AVX2 static INLINE __m256i row_lanes(const __m256i *q, const uint8_t *x, size_t steps) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (size_t s = 0; s < steps; s++) {
        __m256i pairs = _mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(x + 32 * s)), q[s]);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    return acc;
}

// Inlined with `steps` a constant for the codes' usual widths (see top_dots_avx2), so the
// steps unroll and the query stays in registers: 1.9 ns a 64-byte row in cache against 4.3
// with a loop.
AVX2 static INLINE void scan_avx2(const int8_t *q, const uint8_t *rows, size_t steps, size_t count, uint32_t first,
                                  mrl_top_rows *top, int32_t bar) {
    size_t dims = 32 * steps, i = 0;
    __m256i query[32];  // dims below 1,024
    for (size_t s = 0; s < steps && s < 32; s++) query[s] = _mm256_loadu_si256((const __m256i *)(q + 32 * s));
    for (; i + 4 <= count; i += 4) {
        const uint8_t *x = rows + i * dims;
        // The rows 2 KB on, asked for now: reading from memory, not cache, this took 75-80 µs
        // for 6,062 rows against 97 µs leaving it to the hardware prefetcher.
        for (size_t line = 0; line < 4 * dims; line += 64) _mm_prefetch((const char *)(x + 2048 + line), _MM_HINT_T0);
        __m256i a = row_lanes(query, x, steps), b = row_lanes(query, x + dims, steps);
        __m256i c = row_lanes(query, x + 2 * dims, steps), d = row_lanes(query, x + 3 * dims, steps);
        // Two rounds of pairwise sums leave, in each 128-bit half, the four rows' sums of that
        // half's lanes; the halves added give the four dots in order.
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
        __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        if (!_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(sums, _mm_set1_epi32(floor_of(top, bar)))))) continue;
        int32_t four[4];
        _mm_storeu_si128((__m128i *)four, sums);
        for (int l = 0; l < 4; l++)
            if (four[l] > floor_of(top, bar)) offer(top, four[l], first + (uint32_t)(i + l));
    }
    top_dots_generic(q, rows + i * dims, dims, count - i, first + (uint32_t)i, top, bar);
}

AVX2 static void top_dots_avx2(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, uint32_t first, mrl_top_rows *top,
                          int32_t bar) {
    switch (dims) {
    case 32: scan_avx2(q, rows, 1, count, first, top, bar); break;
    case 64: scan_avx2(q, rows, 2, count, first, top, bar); break;
    default: scan_avx2(q, rows, dims / 32, count, first, top, bar);
    }
}
#endif

static struct {
    top_dots_fn top_dots;
    const char *isa;
} kernels;

// Takes variant `isa` if this CPU runs it ("avx512f" is not a variant: see the top).
static int install(const char *isa) {
    if (!mrl_cpu_runs(isa)) return 0;
    if (strcmp(isa, "generic") == 0) {
        kernels.top_dots = top_dots_generic;
        kernels.isa = "generic";
        return 1;
    }
#ifdef MRL_X86
    if (strcmp(isa, "avx2+fma") == 0) {
        kernels.top_dots = top_dots_avx2;
        kernels.isa = "avx2+fma";
        return 1;
    }
#endif
    return 0;
}

MRL_KERNEL_FAMILY(mrl_code_scan_select, mrl_code_scan_isa)

enum { sample_per_kept = 4, max_sample_rows = 4096 };

// A bar about 2 × keep of the `count` rows beat: the score of the right rank in an even
// sample of sample_per_kept × keep rows, copied together so that the kernel scores them at
// its speed. INT32_MIN (no bar) when the sample is too large or the rank 0.
static int32_t sampled_bar(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, size_t keep) {
    size_t samples = sample_per_kept * keep, stride = count / samples;
    // The sample's rank whose score about 2 × keep of the run's rows beat.
    size_t rank = (2 * keep * samples + count - 1) / count;
    uint8_t copy[max_sample_rows * 64];
    int32_t scores[max_sample_rows];
    uint32_t positions[max_sample_rows];
    if (samples > max_sample_rows || dims > 64 || rank == 0) return INT32_MIN;
    for (size_t s = 0; s < samples; s++) memcpy(copy + s * dims, rows + s * stride * dims, dims);
    mrl_top_rows sample = {scores, positions, 0, rank, NULL};
    kernels.top_dots(q, copy, dims, samples, 0, &sample, INT32_MIN);
    return sample.size == rank ? sample.scores[0] - 1 : INT32_MIN;
}

void mrl_top_dots_u8_s8(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, uint32_t first, mrl_top_rows *top) {
    ensure_kernels();
    if (top->keep == 0) return;
    int32_t bar = INT32_MIN;
    // A sample knows nothing of `allowed`: with it, its bar would mostly be too high.
    if (top->size == 0 && !top->allowed && count >= 8 * sample_per_kept * top->keep) bar = sampled_bar(q, rows, dims, count, top->keep);
    kernels.top_dots(q, rows, dims, count, first, top, bar);
    if (top->size < top->keep && bar != INT32_MIN) {  // the sample set the bar too high: start again without one
        top->size = 0;
        kernels.top_dots(q, rows, dims, count, first, top, INT32_MIN);
    }
}
