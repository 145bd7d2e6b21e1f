#ifndef MRL_SCAN_KERNELS_H
#define MRL_SCAN_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// One block of rows as stored, cut by columns into prefix segments, and how much of it a
/// query's prefix covers.
typedef struct {
    /// Segment s holds nrows rows of widths[s] floats each, back to back.
    const float *const *segments;
    const size_t *widths;
    /// Segments the prefix touches; the last may be used only in part.
    size_t used_segments;
    /// Columns of the last used segment inside the prefix (== its width when the prefix ends on a cut).
    size_t last_columns;
    /// seg_sqnorms[s][i]: squared norm of row i's segment s (segment-major).
    const float *const *seg_sqnorms;
    /// Nonzero for rows that hold a vector.
    const uint8_t *live;
    size_t nrows;
} mrl_prefix_block;

/// Cosine of each row's prefix with the query prefix `q` (already unit length), into out[i].
/// Dead rows and rows whose prefix is all zeros get -INFINITY. Only the bytes of the prefix
/// are read, and each row is reduced once however many segments the prefix spans.
void mrl_cosine_rows(const float *q, const mrl_prefix_block *block, float *out);

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
