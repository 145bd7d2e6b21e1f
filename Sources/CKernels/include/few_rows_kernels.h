#ifndef MRL_FEW_ROWS_KERNELS_H
#define MRL_FEW_ROWS_KERNELS_H
#include <stddef.h>

/// Floats mrl_few_rows_pack writes for weights of `outputs` × `inputs`.
size_t mrl_few_rows_packed_floats(size_t outputs, size_t inputs);

/// Packs w[outputs][inputs] (PyTorch's layout) into panels of 24 outputs, each input-major,
/// the last panel padded with zeros.
void mrl_few_rows_pack(const float *w, size_t outputs, size_t inputs, float *packed);

/// How many panels `outputs` takes (what mrl_few_rows_gemm's panel range runs over).
size_t mrl_few_rows_panels(size_t outputs);

/// out[r][o] = Σ_k a[r][k] · w[o][k] for a few rows of `a` (a query's tokens), for the outputs
/// of panels first_panel..<last_panel only, last_panel ≤ mrl_few_rows_panels(outputs) (so cores
/// can split a product's outputs): `a` is rows × inputs, `out` rows × outputs, row-major;
/// `packed` is what mrl_few_rows_pack made.
void mrl_few_rows_gemm(const float *a, const float *packed, float *out, size_t rows, size_t first_panel,
                       size_t last_panel, size_t outputs, size_t inputs);

/// Name of the variant mrl_few_rows_gemm runs: "avx2+fma" or "generic".
const char *mrl_few_rows_isa(void);

/// Switches mrl_few_rows_gemm to the named variant if this CPU runs it; returns 1 on success,
/// 0 otherwise (tests and benchmarks compare variants with it).
int mrl_few_rows_select(const char *isa);

#endif
