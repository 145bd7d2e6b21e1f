#ifndef MRL_GRAPH_KERNELS_H
#define MRL_GRAPH_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Dot product of a float query with a row of n int8 components: sum q[j] * x[j].
/// The graph stores int8 rows and folds the per-dimension scales into the query once, so
/// one call is one asymmetric similarity.
float mrl_dot_f32_i8(const float *q, const int8_t *x, size_t n);

/// Name of the variant mrl_dot_f32_i8 runs: "avx512f", "avx2+fma" or "generic".
const char *mrl_graph_kernels_isa(void);

/// Switches mrl_dot_f32_i8 to the named variant if this CPU runs it; returns 1 on success,
/// 0 (and changes nothing) otherwise. For tests and benchmarks; call it between searches.
int mrl_graph_kernels_select(const char *isa);

/// Asks for the cache line at p ahead of use: the graph walk jumps to rows the hardware
/// prefetchers cannot predict. Inline so it costs one instruction, not a call.
static inline void mrl_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// A byte flag that build threads share (one per node): stored with release and loaded with
/// acquire, so a node seen as finished is seen with all its links.
static inline uint8_t mrl_flag_load(const uint8_t *flags, size_t i) { return __atomic_load_n(flags + i, __ATOMIC_ACQUIRE); }
static inline void mrl_flag_store(uint8_t *flags, size_t i, uint8_t value) { __atomic_store_n(flags + i, value, __ATOMIC_RELEASE); }

#endif
