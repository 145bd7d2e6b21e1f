#ifndef MRL_CODE_SCAN_KERNELS_H
#define MRL_CODE_SCAN_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// The candidates of an ordered scan so far: keys (a score and a position, see mrl_top_key)
/// in an array of `room` entries that the caller owns, none of them at most `bar`. When the
/// array is full, the best `keep` are kept and the bar rises to the worst of them;
/// mrl_top_rows_finish leaves at most `keep`. `scores`: room for `score_room` scores, where a
/// call puts those of its rows (that many at a time) before choosing among them. `allowed`:
/// NULL, or a bit per position (bit p % 64 of word p / 64) that a row must have to enter (the
/// other tests of a filter whose one test the runs are). Made by mrl_top_rows_make.
typedef struct {
    uint64_t *keys;
    size_t size, keep, room;
    int32_t bar;
    int32_t *scores;
    size_t score_room;
    const uint64_t *allowed;
} mrl_top_rows;

/// A candidate's key: its score, offset to order as unsigned, above its position; keys order
/// as their scores, and by position among equal scores.
static inline uint64_t mrl_top_key(int32_t score, uint32_t position) {
    return (uint64_t)((uint32_t)score ^ 0x80000000u) << 32 | position;
}
static inline int32_t mrl_top_key_score(uint64_t key) { return (int32_t)((uint32_t)(key >> 32) ^ 0x80000000u); }
static inline uint32_t mrl_top_key_position(uint64_t key) { return (uint32_t)key; }

/// No candidates yet, in `keys` of `room` entries: at least 4 × keep + 4 (with less, a long
/// run draws no sample; under 2 × keep + 4, the scan takes no row).
mrl_top_rows mrl_top_rows_make(uint64_t *keys, size_t room, size_t keep, int32_t *scores, size_t score_room, const uint64_t *allowed);

/// Scores `count` rows of `dims` unsigned 4-bit codes stored back to back, dims / 2 bytes a
/// row, positions `first`, `first + 1`, ..., against a signed byte query (sum_j code_j * q[j],
/// exact) and adds those above the bar to `top`. dims is a multiple of 64, each 64 components
/// 32 bytes: byte b holds component b in its low nibble and component 32 + b in its high one.
///
/// A filter's rows laid out in one run are read in sequence, so the dots must keep up with
/// memory: half a byte a component, byte multiply-adds, four rows reduced at once, their
/// scores stored. The choice then reads the scores from cache. Until `keep` rows are in, a
/// sample of the scores sets a bar that about twice keep of them beat, and only those are
/// appended (if fewer than keep beat it, the scores are read again without it). A heap of the
/// best instead took 40 ns a step (its branches mispredicted), and a bar taken from a sample
/// of the rows read the sample scattered, as long as reading the run from memory.
void mrl_top_dots_u4_s8(const int8_t *q, const uint8_t *rows, size_t dims, size_t count, uint32_t first, mrl_top_rows *top);

/// Leaves the best min(keep, size) candidates in keys[0..size), in no order.
void mrl_top_rows_finish(mrl_top_rows *top);

/// Name of the variant mrl_top_dots_u4_s8 runs: "avx2+fma" or "generic".
const char *mrl_code_scan_isa(void);

/// Switches mrl_top_dots_u4_s8 to the named variant if this CPU runs it; returns 1 on
/// success, 0 (and changes nothing) otherwise. For tests and benchmarks.
int mrl_code_scan_select(const char *isa);

#endif
