#ifndef MRL_CODE_SCAN_KERNELS_H
#define MRL_CODE_SCAN_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// The best rows of an ordered scan so far: a min-heap of at most `keep` (score, position)
/// pairs, the worst at 0, in arrays of room for `keep` that the caller owns (size 0 to start).
/// `allowed`: NULL, or a bit per position (bit p % 64 of word p / 64) that a row must have to
/// enter (the other tests of a filter whose one test the runs are).
typedef struct {
    int32_t *scores;
    uint32_t *positions;
    size_t size, keep;
    const uint64_t *allowed;
} mrl_top_rows;

/// Scores `count` rows of `dims` unsigned bytes stored back to back, positions `first`,
/// `first + 1`, ..., against a signed byte query (sum_j rows[i * dims + j] * q[j], exact) and
/// offers each to `top`. |q[j]| must be at most 63 (so a pair of products fits 16 bits, which
/// the AVX2 variant's multiply-add needs) and dims a multiple of 32.
///
/// A filter's rows laid out in one run are read in sequence, so the dot and the choice must
/// keep up with memory: byte multiply-adds, four rows reduced and compared with the heap's
/// worst at once, and a heap step only for the few rows that beat it. A heap step mispredicts
/// its branches (about 40 ns), and a heap filled from nothing takes keep × ln(count / keep) of
/// them; so a long run into an empty heap first scores an even sample of its rows, and only
/// rows above a bar set from the sample (about twice keep of them) are offered.
void mrl_top_dots_u8_s8(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, uint32_t first, mrl_top_rows *top);

/// Name of the variant mrl_top_dots_u8_s8 runs: "avx2+fma" or "generic".
const char *mrl_code_scan_isa(void);

/// Switches mrl_top_dots_u8_s8 to the named variant if this CPU runs it; returns 1 on
/// success, 0 (and changes nothing) otherwise. For tests and benchmarks.
int mrl_code_scan_select(const char *isa);

#endif
