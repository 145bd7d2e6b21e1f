#ifndef MRL_SCAN_KERNELS_H
#define MRL_SCAN_KERNELS_H
#include <stddef.h>

/// Adds to out[i] the dot product of q[0..<cols] with row i of `rows`
/// (row i starts at rows + i * stride), for i in 0..<nrows.
/// Accumulating lets a prefix that spans several stored segments be scored
/// segment by segment, reading only the bytes of the prefix.
void mrl_dot_rows_accumulate(const float *q, const float *rows, size_t stride,
                             size_t nrows, size_t cols, float *out);

/// Adds to out[i] the squared norm of row i's first `cols` values.
void mrl_sqnorm_rows_accumulate(const float *rows, size_t stride,
                                size_t nrows, size_t cols, float *out);

/// Dot product of two vectors of n floats.
float mrl_dot(const float *a, const float *b, size_t n);

/// Name of the instruction set the kernels were chosen for on this CPU:
/// "avx512f", "avx2+fma" or "generic".
const char *mrl_scan_kernels_isa(void);

/// Switches to the named variant ("avx512f", "avx2+fma", "generic") if this CPU runs it;
/// returns 1 on success, 0 (and changes nothing) otherwise. For tests and benchmarks,
/// which compare variants in one process; call it before scanning, not during.
int mrl_scan_kernels_select(const char *isa);

#endif
