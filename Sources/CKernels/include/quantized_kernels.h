#ifndef MRL_QUANTIZED_KERNELS_H
#define MRL_QUANTIZED_KERNELS_H
#include <stddef.h>
#include <stdint.h>

// Int8 products for the encoder's linear layers (dynamic quantization): weights get one
// symmetric scale per output row, activations one asymmetric scale and zero point per row
// (token), and the product is exact integer arithmetic, so every variant gives the same
// floats bit for bit. Layouts of codes and packed weights belong to the selected variant:
// pack after selecting, and pack again after switching.

/// Weight codes of a linear layer stored [outputs][inputs] (PyTorch's layout), with each input
/// column first multiplied by channel[k] (NULL: by 1):
/// q[n][k] = round(w[n][k]·channel[k] / scale[n]) in −127…127, scale[n] = max_k |w[n][k]·channel[k]| / 127,
/// rowsum[n] = Σ_k q[n][k].
void mrl_q8_quantize_weights(const float *w, size_t outputs, size_t inputs, const float *channel,
                             int8_t *q, float *scale, int32_t *rowsum);

/// Bytes of the selected variant's packed form of an outputs × inputs code matrix.
size_t mrl_q8_packed_bytes(size_t outputs, size_t inputs);

/// Packs codes q[outputs][inputs] into `packed` (mrl_q8_packed_bytes, 64-byte aligned).
void mrl_q8_pack(const int8_t *q, size_t outputs, size_t inputs, void *packed);

/// Bytes of the selected variant's codes for rows × inputs activations.
size_t mrl_q8_code_bytes(size_t rows, size_t inputs);

/// Codes of each row of y = x·column_scale (per column; NULL: y = x): scale[r] = (hi − lo)/255 over
/// lo = min(0, min y), hi = max(0, max y), zero[r] = round(−lo/scale[r]), code = round(y/scale[r]) + zero[r]
/// in 0…255. A row of zeros gets scale 1, zero 0.
void mrl_q8_quantize_rows(const float *x, size_t rows, size_t inputs, const float *column_scale, void *codes,
                          float *scale, int32_t *zero);

/// out[r·ldo + n] = (a_scale[r]·(Σ_k code[r][k]·q[n][k] − a_zero[r]·w_rowsum[n]))·w_scale[n] for n < outputs
/// (ldo ≥ outputs: several layers can write side by side into one row).
void mrl_q8_gemm(const void *codes, const float *a_scale, const int32_t *a_zero, size_t rows, const void *packed,
                 const float *w_scale, const int32_t *w_rowsum, size_t outputs, size_t inputs, float *out, size_t ldo);

/// The variant chosen on this CPU ("avx2+fma" or "generic").
const char *mrl_q8_isa(void);

/// Switches to the named variant if this CPU runs it (1), else changes nothing (0). For tests
/// and benchmarks; codes and packs made before do not fit the new variant.
int mrl_q8_select(const char *isa);

#endif
