// Int8 products of the encoder's linear layers, one variant per instruction set, chosen once
// by cpuid like the scan kernels. Every variant computes the same integers (no saturating
// instruction is used), so all give the same floats. Activation codes are int16 (0…255).
// An AVX-512 VNNI variant (`vpdpbusd`, 64 products per instruction) is not written: no machine
// this was developed on has VNNI, and a kernel is not shipped untested. AVX-512 CPUs run avx2+fma.
//
// - avx2+fma: `vpmaddwd` on codes widened to int16. `vpmaddubsw` would take u8 × s8 directly,
//   but its pairwise sums saturate at 32,767 (255·127·2 does not fit), which would force 7-bit
//   codes; measured on the reference fixture, 7-bit weights cost a third of the fidelity budget
//   (worst cosine 0.9938 against 0.9958). Widening costs no multiplies: both ways take one
//   multiply instruction per 16 products.
// - generic: plain loops.
#include "quantized_kernels.h"
#include "isa_choice.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MRL_X86 1
#endif

enum { PANEL = 24, ROWS_PER_BLOCK = 48 };

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }
static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

void mrl_q8_quantize_weights(const float *w, size_t outputs, size_t inputs, const float *channel,
                             int8_t *q, float *scale, int32_t *rowsum) {
    for (size_t n = 0; n < outputs; n++) {
        const float *row = w + n * inputs;
        float top = 0;
        for (size_t k = 0; k < inputs; k++) {
            float v = fabsf(channel ? row[k] * channel[k] : row[k]);
            top = v > top ? v : top;
        }
        scale[n] = top > 0 ? top / 127.0f : 1.0f;
        int32_t sum = 0;
        for (size_t k = 0; k < inputs; k++) {
            float v = channel ? row[k] * channel[k] : row[k];
            int32_t c = (int32_t)rintf(v / scale[n]);
            c = c > 127 ? 127 : (c < -127 ? -127 : c);
            q[n * inputs + k] = (int8_t)c;
            sum += c;
        }
        rowsum[n] = sum;
    }
}

// The scale and zero point of one row of y = x·column_scale, from its range.
static void scale_and_zero(float lo, float hi, float *scale, int32_t *zero) {
    float s = (hi - lo) / 255.0f;
    *scale = s > 0 ? s : 1.0f;
    *zero = (int32_t)rintf(-lo / *scale);
}

// Widens [lo, hi] to hold columns from..<to of y = x·column_scale.
static void widen_range(const float *x, size_t from, size_t to, const float *column_scale, float *lo, float *hi) {
    for (size_t k = from; k < to; k++) {
        float y = column_scale ? x[k] * column_scale[k] : x[k];
        *lo = y < *lo ? y : *lo;
        *hi = y > *hi ? y : *hi;
    }
}

static void row_range(const float *x, size_t inputs, const float *column_scale, float *scale, int32_t *zero) {
    float lo = 0, hi = 0;
    widen_range(x, 0, inputs, column_scale, &lo, &hi);
    scale_and_zero(lo, hi, scale, zero);
}

// Codes of one row, as int16. Separate statements keep the compiler from fusing the multiply
// into the add, so the AVX2 version below gives the same codes.
static void row_codes(const float *x, size_t inputs, size_t stride, const float *column_scale, float scale,
                      int32_t zero, int16_t *out) {
    float inverse = 1.0f / scale;
    for (size_t k = 0; k < inputs; k++) {
        float y = column_scale ? x[k] * column_scale[k] : x[k];
        float c = rintf(y * inverse) + (float)zero;
        out[k] = (int16_t)(c < 0 ? 0 : (c > 255 ? 255 : c));
    }
    for (size_t k = inputs; k < stride; k++) out[k] = 0;
}

// ---- generic: codes int16 [rows][round_up(inputs, 2)], packed = the codes q as given ----

static size_t code_stride_int16(size_t inputs) { return round_up(inputs, 2); }

static size_t packed_bytes_generic(size_t outputs, size_t inputs) { return outputs * inputs; }

static void quantize_row_generic(const float *x, size_t inputs, size_t stride, const float *column_scale, float *scale,
                                 int32_t *zero, void *out) {
    row_range(x, inputs, column_scale, scale, zero);
    row_codes(x, inputs, stride, column_scale, *scale, *zero, out);
}

static void pack_generic(const int8_t *q, size_t outputs, size_t inputs, void *packed) {
    memcpy(packed, q, outputs * inputs);
}

static inline float dequantize(int32_t dot, float a_scale, int32_t a_zero, float w_scale, int32_t w_rowsum) {
    float v = (float)(dot - a_zero * w_rowsum) * a_scale;
    return v * w_scale;
}

static void gemm_generic(const void *codes, const float *a_scale, const int32_t *a_zero, size_t rows, const void *packed,
                         const float *w_scale, const int32_t *w_rowsum, size_t outputs, size_t inputs, float *out, size_t ldo) {
    const int16_t *a = codes;
    const int8_t *q = packed;
    size_t stride = code_stride_int16(inputs);
    for (size_t r = 0; r < rows; r++)
        for (size_t n = 0; n < outputs; n++) {
            int32_t dot = 0;
            for (size_t k = 0; k < inputs; k++) dot += (int32_t)a[r * stride + k] * q[n * inputs + k];
            out[r * ldo + n] = dequantize(dot, a_scale[r], a_zero[r], w_scale[n], w_rowsum[n]);
        }
}

#ifdef MRL_X86
// Writes one tile's dot products (rows × PANEL, of which `cols` columns are real) as floats.
static inline void store_tile(const int32_t dots[][PANEL], size_t rows, size_t cols, const float *a_scale,
                              const int32_t *a_zero, const float *w_scale, const int32_t *w_rowsum, float *out,
                              size_t ldo) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            out[r * ldo + c] = dequantize(dots[r][c], a_scale[r], a_zero[r], w_scale[c], w_rowsum[c]);
}

// ---- avx2+fma: codes int16; packed: panels of 24 outputs, per pair of inputs k, k+1 the 24
// outputs' two codes side by side (output o at (o/8)·16 + (o%8)·2), widened to int16 ----

static size_t packed_bytes_avx2(size_t outputs, size_t inputs) {
    return round_up(outputs, PANEL) * round_up(inputs, 2) * sizeof(int16_t);
}

static void pack_avx2(const int8_t *q, size_t outputs, size_t inputs, void *packed) {
    int16_t *p = packed;
    size_t pairs = round_up(inputs, 2) / 2, panels = round_up(outputs, PANEL) / PANEL;
    memset(packed, 0, packed_bytes_avx2(outputs, inputs));
    for (size_t panel = 0; panel < panels; panel++)
        for (size_t o = 0; o < PANEL && panel * PANEL + o < outputs; o++)
            for (size_t k = 0; k < inputs; k++)
                p[(panel * pairs + k / 2) * 2 * PANEL + (o / 8) * 16 + (o % 8) * 2 + k % 2] =
                    q[(panel * PANEL + o) * inputs + k];
}

// Four rows × 24 outputs: 12 accumulators, two weight vectors in registers and the third read
// from memory, a broadcast and a temporary: all 16 registers. Zen 3 issues two vpmaddwd a
// cycle; a 4 × 16 tile took 30 instructions for its 8, more than the 6 a cycle the front end
// renames, and ran slower. The loop over inputs is assembly so that it runs at the same
// speed in a debug build (SwiftPM compiles C at -O0 there, where intrinsics go through the
// stack: the int8 fixture test took 160 s). Rows past `rows` read row 0 again; their sums are
// not used.
enum { TILE_ROWS_AVX2 = 4 };

static void tile_dots_avx2(const int16_t *a, size_t stride, size_t rows, const int16_t *panel, size_t pairs,
                           int32_t dots[TILE_ROWS_AVX2][PANEL]) {
    const int16_t *r0 = a, *r1 = rows > 1 ? a + stride : a, *r2 = rows > 2 ? a + 2 * stride : a,
                  *r3 = rows > 3 ? a + 3 * stride : a;
    size_t offset = 0, end = 4 * pairs;  // bytes into each row
#define MRL_ROW(row, a0, a1, a2)                          \
    "vpbroadcastd (%[" #row "], %[offset]), %%ymm15\n\t"  \
    "vpmaddwd %%ymm12, %%ymm15, %%ymm14\n\t"              \
    "vpaddd %%ymm14, %%" a0 ", %%" a0 "\n\t"              \
    "vpmaddwd %%ymm13, %%ymm15, %%ymm14\n\t"              \
    "vpaddd %%ymm14, %%" a1 ", %%" a1 "\n\t"              \
    "vpmaddwd 64(%[panel]), %%ymm15, %%ymm15\n\t"         \
    "vpaddd %%ymm15, %%" a2 ", %%" a2 "\n\t"
    __asm__ volatile(
        "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
        "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
        "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
        "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
        "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
        "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
        "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
        "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
        "vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
        "vpxor %%ymm9, %%ymm9, %%ymm9\n\t"
        "vpxor %%ymm10, %%ymm10, %%ymm10\n\t"
        "vpxor %%ymm11, %%ymm11, %%ymm11\n\t"
        "cmp %[end], %[offset]\n\t"
        "je 2f\n"
        "1:\n\t"
        "vmovdqu (%[panel]), %%ymm12\n\t"
        "vmovdqu 32(%[panel]), %%ymm13\n\t"
        MRL_ROW(r0, "ymm0", "ymm1", "ymm2")
        MRL_ROW(r1, "ymm3", "ymm4", "ymm5")
        MRL_ROW(r2, "ymm6", "ymm7", "ymm8")
        MRL_ROW(r3, "ymm9", "ymm10", "ymm11")
        "add $96, %[panel]\n\t"
        "add $4, %[offset]\n\t"
        "cmp %[end], %[offset]\n\t"
        "jne 1b\n"
        "2:\n\t"
        "vmovdqu %%ymm0, 0(%[dots])\n\t"
        "vmovdqu %%ymm1, 32(%[dots])\n\t"
        "vmovdqu %%ymm2, 64(%[dots])\n\t"
        "vmovdqu %%ymm3, 96(%[dots])\n\t"
        "vmovdqu %%ymm4, 128(%[dots])\n\t"
        "vmovdqu %%ymm5, 160(%[dots])\n\t"
        "vmovdqu %%ymm6, 192(%[dots])\n\t"
        "vmovdqu %%ymm7, 224(%[dots])\n\t"
        "vmovdqu %%ymm8, 256(%[dots])\n\t"
        "vmovdqu %%ymm9, 288(%[dots])\n\t"
        "vmovdqu %%ymm10, 320(%[dots])\n\t"
        "vmovdqu %%ymm11, 352(%[dots])\n\t"
        "vzeroupper"
        : [panel] "+r"(panel), [offset] "+r"(offset)
        : [r0] "r"(r0), [r1] "r"(r1), [r2] "r"(r2), [r3] "r"(r3), [end] "r"(end), [dots] "r"(dots)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
#undef MRL_ROW
}

__attribute__((target("avx2,fma")))
static void gemm_avx2(const void *codes, const float *a_scale, const int32_t *a_zero, size_t rows, const void *packed,
                      const float *w_scale, const int32_t *w_rowsum, size_t outputs, size_t inputs, float *out, size_t ldo) {
    const int16_t *a = codes, *p = packed;
    size_t stride = code_stride_int16(inputs), pairs = stride / 2, panels = round_up(outputs, PANEL) / PANEL;
    int32_t dots[TILE_ROWS_AVX2][PANEL];
    // A block of rows stays in L2 while every panel passes over it; a panel stays in L1/L2
    // across the block's tiles.
    for (size_t m0 = 0; m0 < rows; m0 += ROWS_PER_BLOCK) {
        size_t end = min_size(rows, m0 + ROWS_PER_BLOCK);
        for (size_t panel = 0; panel < panels; panel++) {
            const int16_t *weights = p + panel * pairs * 2 * PANEL;
            size_t n0 = panel * PANEL, cols = min_size(PANEL, outputs - n0);
            for (size_t m = m0; m < end; m += TILE_ROWS_AVX2) {
                size_t tile = min_size(TILE_ROWS_AVX2, end - m);
                tile_dots_avx2(a + m * stride, stride, tile, weights, pairs, dots);
                store_tile(dots, tile, cols, a_scale + m, a_zero + m, w_scale + n0, w_rowsum + n0, out + m * ldo + n0, ldo);
            }
        }
    }
}

// Quantizes one row as row_range and row_codes do, eight columns at a time (rounding to
// nearest even, as rintf does).
__attribute__((target("avx2,fma")))
static void quantize_row_avx2(const float *x, size_t inputs, size_t stride, const float *column_scale, float *scale,
                              int32_t *zero, void *codes) {
    int16_t *out = codes;
    size_t k, whole = inputs / 8 * 8;
    __m256 lo8 = _mm256_setzero_ps(), hi8 = _mm256_setzero_ps();
    for (k = 0; k < whole; k += 8) {
        __m256 y = _mm256_loadu_ps(x + k);
        if (column_scale) y = _mm256_mul_ps(y, _mm256_loadu_ps(column_scale + k));
        lo8 = _mm256_min_ps(lo8, y);
        hi8 = _mm256_max_ps(hi8, y);
    }
    float lanes_lo[8], lanes_hi[8], lo = 0, hi = 0;
    _mm256_storeu_ps(lanes_lo, lo8);
    _mm256_storeu_ps(lanes_hi, hi8);
    for (int l = 0; l < 8; l++) {
        lo = lanes_lo[l] < lo ? lanes_lo[l] : lo;
        hi = lanes_hi[l] > hi ? lanes_hi[l] : hi;
    }
    widen_range(x, whole, inputs, column_scale, &lo, &hi);
    scale_and_zero(lo, hi, scale, zero);
    const __m256 inv = _mm256_set1_ps(1.0f / *scale), z = _mm256_set1_ps((float)*zero);
    const __m256 floor0 = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f);
    for (k = 0; k + 16 <= inputs; k += 16) {
        __m256i halves[2];
        for (int h = 0; h < 2; h++) {
            __m256 y = _mm256_loadu_ps(x + k + 8 * h);
            if (column_scale) y = _mm256_mul_ps(y, _mm256_loadu_ps(column_scale + k + 8 * h));
            __m256 c = _mm256_round_ps(_mm256_mul_ps(y, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            c = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(c, z), floor0), top);
            halves[h] = _mm256_cvtps_epi32(c);
        }
        __m256i packed16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(halves[0], halves[1]), 0xD8);
        _mm256_storeu_si256((__m256i *)(out + k), packed16);
    }
    row_codes(x + k, inputs - k, stride - k, column_scale ? column_scale + k : NULL, *scale, *zero, out + k);
}

#endif

// ---- dispatch ----

typedef void (*gemm_fn)(const void *, const float *, const int32_t *, size_t, const void *, const float *,
                        const int32_t *, size_t, size_t, float *, size_t);

static struct {
    gemm_fn gemm;
    size_t (*packed_bytes)(size_t, size_t);
    void (*pack)(const int8_t *, size_t, size_t, void *);
    void (*quantize_row)(const float *, size_t, size_t, const float *, float *, int32_t *, void *);
    const char *isa;
} kernels;

static int install(const char *isa) {
    if (!mrl_cpu_runs(isa)) return 0;
    if (strcmp(isa, "generic") == 0) {
        kernels.gemm = gemm_generic, kernels.packed_bytes = packed_bytes_generic, kernels.pack = pack_generic;
        kernels.quantize_row = quantize_row_generic;
        kernels.isa = "generic";
        return 1;
    }
#ifdef MRL_X86
    if (strcmp(isa, "avx2+fma") == 0) {
        kernels.gemm = gemm_avx2, kernels.packed_bytes = packed_bytes_avx2, kernels.pack = pack_avx2;
        kernels.quantize_row = quantize_row_avx2;
        kernels.isa = "avx2+fma";
        return 1;
    }
#endif
    return 0;
}

MRL_KERNEL_FAMILY(mrl_q8_select, mrl_q8_isa)

size_t mrl_q8_packed_bytes(size_t outputs, size_t inputs) {
    ensure_kernels();
    return kernels.packed_bytes(outputs, inputs);
}

void mrl_q8_pack(const int8_t *q, size_t outputs, size_t inputs, void *packed) {
    ensure_kernels();
    kernels.pack(q, outputs, inputs, packed);
}

size_t mrl_q8_code_bytes(size_t rows, size_t inputs) {
    ensure_kernels();
    return rows * code_stride_int16(inputs) * sizeof(int16_t);
}

void mrl_q8_quantize_rows(const float *x, size_t rows, size_t inputs, const float *column_scale, void *codes,
                          float *scale, int32_t *zero) {
    ensure_kernels();
    size_t stride = code_stride_int16(inputs);
    for (size_t r = 0; r < rows; r++)
        kernels.quantize_row(x + r * inputs, inputs, stride, column_scale, scale + r, zero + r, (int16_t *)codes + r * stride);
}

void mrl_q8_gemm(const void *codes, const float *a_scale, const int32_t *a_zero, size_t rows, const void *packed,
                 const float *w_scale, const int32_t *w_rowsum, size_t outputs, size_t inputs, float *out, size_t ldo) {
    ensure_kernels();
    kernels.gemm(codes, a_scale, a_zero, rows, packed, w_scale, w_rowsum, outputs, inputs, out, ldo);
}
