// The encoder's linear layers for a few tokens (a query): out = a · wᵀ over weights packed once.
// OpenBLAS packs w on every call (sgemm_incopy: 57% of a title query's time, measured by perf),
// which a large batch amortises and a query of ten tokens does not. Here w is packed once, in
// panels of 24 outputs, each panel input-major, so a product streams it front to back and each
// input broadcasts into 24 outputs at once. One variant per instruction set, chosen once by
// cpuid like the scan kernels; all read the same packed layout.
#include "few_rows_kernels.h"
#include "isa_choice.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MRL_X86 1
#endif

enum { PANEL = 24, TILE_ROWS = 4 };

typedef void (*gemm_fn)(const float *, const float *, float *, size_t, size_t, size_t, size_t, size_t);

static size_t panels(size_t outputs) { return (outputs + PANEL - 1) / PANEL; }

size_t mrl_few_rows_packed_floats(size_t outputs, size_t inputs) { return panels(outputs) * PANEL * inputs; }

void mrl_few_rows_pack(const float *w, size_t outputs, size_t inputs, float *packed) {
    for (size_t p = 0; p < panels(outputs); p++)
        for (size_t k = 0; k < inputs; k++)
            for (size_t j = 0; j < PANEL; j++) {
                size_t o = p * PANEL + j;
                packed[(p * inputs + k) * PANEL + j] = o < outputs ? w[o * inputs + k] : 0;
            }
}

static void gemm_generic(const float *a, const float *packed, float *out, size_t rows, size_t first_panel,
                         size_t last_panel, size_t outputs, size_t inputs) {
    for (size_t p = first_panel; p < last_panel; p++)
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < PANEL && p * PANEL + j < outputs; j++) {
                const float *x = a + r * inputs, *y = packed + p * inputs * PANEL + j;
                float s = 0;
                for (size_t k = 0; k < inputs; k++) s += x[k] * y[k * PANEL];
                out[r * outputs + p * PANEL + j] = s;
            }
}

#ifdef MRL_X86
#define AVX2 __attribute__((target("avx2,fma")))

// 4 rows of a by one panel's 24 outputs, into sums[row][24]. The loop is assembly so that
// debug builds, which compile C at -O0, run it at speed too (the tests embed many queries).
AVX2 static void tile_4x24(const float *a0, const float *a1, const float *a2, const float *a3, const float *panel,
                           size_t inputs, float sums[TILE_ROWS][PANEL]) {
    size_t k = 0, end = inputs * sizeof(float);
    __asm__ volatile(
        "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
        "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"
        "vxorps %%ymm2, %%ymm2, %%ymm2\n\t"
        "vxorps %%ymm3, %%ymm3, %%ymm3\n\t"
        "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
        "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
        "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
        "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
        "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
        "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
        "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
        "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
        "cmp %[end], %[k]\n\t"
        "je 2f\n"
        "1:\n\t"
        "prefetcht0 768(%[panel])\n\t"
        "vmovups (%[panel]), %%ymm12\n\t"
        "vmovups 32(%[panel]), %%ymm13\n\t"
        "vmovups 64(%[panel]), %%ymm14\n\t"
        "vbroadcastss (%[a0], %[k]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm0\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm1\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm2\n\t"
        "vbroadcastss (%[a1], %[k]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm3\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm4\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm5\n\t"
        "vbroadcastss (%[a2], %[k]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm8\n\t"
        "vbroadcastss (%[a3], %[k]), %%ymm15\n\t"
        "vfmadd231ps %%ymm12, %%ymm15, %%ymm9\n\t"
        "vfmadd231ps %%ymm13, %%ymm15, %%ymm10\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm11\n\t"
        "add $96, %[panel]\n\t"
        "add $4, %[k]\n\t"
        "cmp %[end], %[k]\n\t"
        "jne 1b\n"
        "2:\n\t"
        "vmovups %%ymm0, 0(%[sums])\n\t"
        "vmovups %%ymm1, 32(%[sums])\n\t"
        "vmovups %%ymm2, 64(%[sums])\n\t"
        "vmovups %%ymm3, 96(%[sums])\n\t"
        "vmovups %%ymm4, 128(%[sums])\n\t"
        "vmovups %%ymm5, 160(%[sums])\n\t"
        "vmovups %%ymm6, 192(%[sums])\n\t"
        "vmovups %%ymm7, 224(%[sums])\n\t"
        "vmovups %%ymm8, 256(%[sums])\n\t"
        "vmovups %%ymm9, 288(%[sums])\n\t"
        "vmovups %%ymm10, 320(%[sums])\n\t"
        "vmovups %%ymm11, 352(%[sums])\n\t"
        "vzeroupper"
        : [panel] "+r"(panel), [k] "+r"(k)
        : [end] "r"(end), [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [sums] "r"(sums)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}

// A partial tile repeats its last row of a for the missing ones and keeps only the rows it was
// asked for; a partial panel was padded with zero weights and keeps only its outputs.
AVX2 static void gemm_avx2(const float *a, const float *packed, float *out, size_t rows, size_t first_panel,
                           size_t last_panel, size_t outputs, size_t inputs) {
    float sums[TILE_ROWS][PANEL];
    for (size_t p = first_panel; p < last_panel; p++) {
        size_t width = outputs - p * PANEL < PANEL ? outputs - p * PANEL : PANEL;
        for (size_t r = 0; r < rows; r += TILE_ROWS) {
            size_t nr = rows - r < TILE_ROWS ? rows - r : TILE_ROWS;
            const float *ar[TILE_ROWS];
            for (size_t i = 0; i < TILE_ROWS; i++) ar[i] = a + (r + (i < nr ? i : nr - 1)) * inputs;
            tile_4x24(ar[0], ar[1], ar[2], ar[3], packed + p * inputs * PANEL, inputs, sums);
            for (size_t i = 0; i < nr; i++) memcpy(out + (r + i) * outputs + p * PANEL, sums[i], width * sizeof(float));
        }
    }
}
#endif

static struct {
    gemm_fn gemm;
    const char *isa;
} kernels;

// Takes variant `isa` if this CPU runs it; "avx512f" is declined, so such CPUs take the next
// one down (a 512-bit variant waits for a machine that can run its tests).
static int install(const char *isa) {
    if (!mrl_cpu_runs(isa)) return 0;
    if (strcmp(isa, "generic") == 0) {
        kernels.gemm = gemm_generic;
        kernels.isa = "generic";
        return 1;
    }
#ifdef MRL_X86
    if (strcmp(isa, "avx2+fma") == 0) {
        kernels.gemm = gemm_avx2;
        kernels.isa = "avx2+fma";
        return 1;
    }
#endif
    return 0;
}

MRL_KERNEL_FAMILY(mrl_few_rows_select, mrl_few_rows_isa)

size_t mrl_few_rows_panels(size_t outputs) { return panels(outputs); }

void mrl_few_rows_gemm(const float *a, const float *packed, float *out, size_t rows, size_t first_panel,
                       size_t last_panel, size_t outputs, size_t inputs) {
    ensure_kernels();
    kernels.gemm(a, packed, out, rows, first_panel, last_panel, outputs, inputs);
}
