// The ordered scan: rows of 4-bit codes read in sequence against a signed byte query, those
// above a rising bar kept as candidates; one variant per instruction set, chosen once on
// first use from cpuid (as in graph_kernels.c). AVX-512F alone has no byte multiply-add (that
// is AVX-512BW), so AVX2 serves AVX-512 machines too.
#include "code_scan_kernels.h"
#include "isa_choice.h"
#include <limits.h>
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MRL_X86 1
#endif

typedef void (*dots_fn)(const int8_t *, const uint8_t *, size_t, size_t, int32_t *);
typedef void (*append_fn)(mrl_top_rows *, const int32_t *, size_t, uint32_t);

// Bytes of a row of `dims` components (a multiple of 64): two a byte.
static inline size_t row_bytes(size_t dims) { return dims / 2; }

// Moves the k largest of keys[0..n) (k < n, no two equal) to keys[0..k), in no order: a
// quickselect whose partition swaps every key, moving on by whether it was larger, so that a
// key's side costs no branch.
static void select_largest(uint64_t *keys, size_t n, size_t k) {
    size_t low = 0, high = n;  // the k-th largest lies in [low, high)
    while (high - low > 1) {
        uint64_t a = keys[low], b = keys[low + (high - low) / 2], c = keys[high - 1];
        uint64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t larger = low;
        for (size_t t = low; t < high; t++) {
            uint64_t key = keys[t];
            keys[t] = keys[larger];
            keys[larger] = key;
            larger += key > pivot;
        }
        // keys[low..larger) are above the pivot, the rest at most it; the pivot goes first of those.
        for (size_t t = larger; t < high; t++)
            if (keys[t] == pivot) {
                keys[t] = keys[larger];
                keys[larger] = pivot;
                break;
            }
        if (larger + 1 == k || larger == k) return;
        if (larger > k) high = larger;
        else low = larger + 1;
    }
}

// Keeps the keep best candidates and raises the bar to the worst of them.
static void compact(mrl_top_rows *top) {
    if (top->size <= top->keep) return;
    select_largest(top->keys, top->size, top->keep);
    top->size = top->keep;
    uint64_t worst = top->keys[0];
    for (size_t i = 1; i < top->keep; i++) worst = top->keys[i] < worst ? top->keys[i] : worst;
    top->bar = mrl_top_key_score(worst);
}

// Appends the row of `score` at `position` if it beats the bar and is allowed, without a
// branch on either (the caller leaves room for it).
static inline void append(mrl_top_rows *top, int32_t score, uint32_t position) {
    int allowed = !top->allowed || ((top->allowed[position >> 6] >> (position & 63)) & 1);
    top->keys[top->size] = mrl_top_key(score, position);
    top->size += (score > top->bar) & allowed;
}

static void dots_generic(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, int32_t *scores) {
    for (size_t i = 0; i < count; i++) {
        const uint8_t *x = rows + i * row_bytes(dims);
        int32_t s = 0;
        for (size_t g = 0; g < dims / 64; g++)  // each 64 components: 32 bytes, low nibbles then high
            for (size_t b = 0; b < 32; b++)
                s += (int32_t)(x[32 * g + b] & 15) * q[64 * g + b] + (int32_t)(x[32 * g + b] >> 4) * q[64 * g + 32 + b];
        scores[i] = s;
    }
}

// Appends the rows of `scores` (positions `first` on) above the bar, compacting when full.
static void append_above_generic(mrl_top_rows *top, const int32_t *scores, size_t count, uint32_t first) {
    for (size_t i = 0; i < count; i++) {
        if (scores[i] <= top->bar) continue;  // most rows: a branch predicted right
        if (top->size == top->room) compact(top);
        append(top, scores[i], first + (uint32_t)i);
    }
}

#ifdef MRL_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE inline __attribute__((always_inline))

// Eight int32 lanes of partial sums of one row: each 32-byte step holds 64 components, its
// low nibbles multiplied with the step's first 32 query bytes and its high nibbles with the
// next 32 (vpmaddubsw: a nibble times a byte, two of them summed, stays within 16 bits, and so
// do the two halves added), then widened into pairs of those (vpmaddwd by ones).
AVX2 static INLINE __m256i row_lanes(const __m256i *q, const uint8_t *x, size_t steps) {
    const __m256i ones = _mm256_set1_epi16(1), nibble = _mm256_set1_epi8(0x0F);
    __m256i acc = _mm256_setzero_si256();
    for (size_t s = 0; s < steps; s++) {
        __m256i packed = _mm256_loadu_si256((const __m256i *)(x + 32 * s));
        __m256i low = _mm256_and_si256(packed, nibble), high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
        __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(low, q[2 * s]), _mm256_maddubs_epi16(high, q[2 * s + 1]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    return acc;
}

// Inlined with `steps` a constant for the codes' usual widths (see dots_avx2), so the steps
// unroll and the query stays in registers.
AVX2 static INLINE void scan_avx2(const int8_t *q, const uint8_t *rows, size_t steps, size_t count, int32_t *scores) {
    size_t bytes = 32 * steps, i = 0;
    __m256i query[32];  // dims below 1,024
    for (size_t s = 0; s < 2 * steps && s < 32; s++) query[s] = _mm256_loadu_si256((const __m256i *)(q + 32 * s));
    for (; i + 4 <= count; i += 4) {
        const uint8_t *x = rows + i * bytes;
        // The rows 2 KB on, asked for now (the hardware prefetcher alone was slower reading
        // them from memory: 97 µs against 75-80 for 6,062 rows of 64 byte codes, before the
        // codes took 4 bits).
        for (size_t line = 0; line < 4 * bytes; line += 64) _mm_prefetch((const char *)(x + 2048 + line), _MM_HINT_T0);
        __m256i a = row_lanes(query, x, steps), b = row_lanes(query, x + bytes, steps);
        __m256i c = row_lanes(query, x + 2 * bytes, steps), d = row_lanes(query, x + 3 * bytes, steps);
        // Two rounds of pairwise sums leave, in each 128-bit half, the four rows' sums of that
        // half's lanes; the halves added give the four dots in order.
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
        _mm_storeu_si128((__m128i *)(scores + i), _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
    }
    dots_generic(q, rows + i * bytes, 64 * steps, count - i, scores + i);
}

AVX2 static void dots_avx2(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, int32_t *scores) {
    if (dims == 64) scan_avx2(q, rows, 1, count, scores);
    else if (dims == 128) scan_avx2(q, rows, 2, count, scores);
    else scan_avx2(q, rows, dims / 64, count, scores);
}

// append_above_generic eight scores at a time: one compare and one branch for the eight,
// which nearly all fall below the bar (4.7 µs for 6,062 scores against 11 row by row).
AVX2 static void append_above_avx2(mrl_top_rows *top, const int32_t *scores, size_t count, uint32_t first) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256i above = _mm256_cmpgt_epi32(_mm256_loadu_si256((const __m256i *)(scores + i)), _mm256_set1_epi32(top->bar));
        unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(above));
        while (mask) {
            size_t lane = (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (top->size == top->room) compact(top);
            append(top, scores[i + lane], first + (uint32_t)(i + lane));
        }
    }
    append_above_generic(top, scores + i, count - i, first + (uint32_t)i);
}
#endif

static struct {
    dots_fn dots;
    append_fn append_above;
    const char *isa;
} kernels;

// Takes variant `isa` if this CPU runs it ("avx512f" is not a variant: see the top).
static int install(const char *isa) {
    if (!mrl_cpu_runs(isa)) return 0;
    if (strcmp(isa, "generic") == 0) {
        kernels.dots = dots_generic;
        kernels.append_above = append_above_generic;
        kernels.isa = "generic";
        return 1;
    }
#ifdef MRL_X86
    if (strcmp(isa, "avx2+fma") == 0) {
        kernels.dots = dots_avx2;
        kernels.append_above = append_above_avx2;
        kernels.isa = "avx2+fma";
        return 1;
    }
#endif
    return 0;
}

MRL_KERNEL_FAMILY(mrl_code_scan_select, mrl_code_scan_isa)

mrl_top_rows mrl_top_rows_make(uint64_t *keys, size_t room, size_t keep, int32_t *scores, size_t score_room, const uint64_t *allowed) {
    mrl_top_rows top = {keys, 0, keep, room, INT32_MIN, scores, score_room, allowed};
    return top;
}

enum { sample_per_kept = 3 };

// A bar about 2 × keep of `count` scores beat: the score of that rank in an even sample of
// sample_per_kept × keep of them, selected in keys past the candidates (so room must be at
// least keep + that). INT32_MIN when the scores are too few for a sample to tell.
static int32_t sampled_bar(const mrl_top_rows *top, const int32_t *scores, size_t count) {
    size_t samples = sample_per_kept * top->keep, stride = count / samples;
    size_t rank = (2 * top->keep * samples + count - 1) / count;
    uint64_t *sample = top->keys + top->size;
    if (count < 8 * samples || top->size + samples > top->room) return INT32_MIN;
    for (size_t s = 0; s < samples; s++) sample[s] = mrl_top_key(scores[s * stride], (uint32_t)s);
    select_largest(sample, samples, rank);
    uint64_t worst = sample[0];
    for (size_t s = 1; s < rank; s++) worst = sample[s] < worst ? sample[s] : worst;
    return mrl_top_key_score(worst) - 1;
}

void mrl_top_dots_u4_s8(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, uint32_t first, mrl_top_rows *top) {
    ensure_kernels();
    if (top->keep == 0 || top->room < 2 * top->keep + 4 || top->score_room == 0) return;
    for (size_t start = 0; start < count; start += top->score_room) {
        size_t piece = count - start < top->score_room ? count - start : top->score_room;
        kernels.dots(q, rows + start * row_bytes(dims), dims, piece, top->scores);
        int32_t bar = top->bar;
        size_t before = top->size;
        // Until keep rows are in, the bar is no help: a sample of the scores sets one that
        // about 2 × keep of them beat (no sample knows of `allowed`: with it, too high).
        int32_t sampled = before < top->keep && !top->allowed ? sampled_bar(top, top->scores, piece) : INT32_MIN;
        if (sampled > bar) top->bar = sampled;
        kernels.append_above(top, top->scores, piece, first + (uint32_t)start);
        if (top->size < top->keep && top->bar != bar) {  // the sample's bar was too high: again without it
            top->size = before;
            top->bar = bar;
            kernels.append_above(top, top->scores, piece, first + (uint32_t)start);
        }
    }
}
void mrl_top_rows_finish(mrl_top_rows *top) { compact(top); }
