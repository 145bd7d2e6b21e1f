// Choosing a kernel variant by instruction set, shared by every kernel family (private to
// CKernels). The binary is built for baseline x86-64; variants are picked at run time.
#ifndef MRL_ISA_CHOICE_H
#define MRL_ISA_CHOICE_H
#include <pthread.h>

/// 1 when this CPU runs `isa`: "avx512f", "avx2+fma" (AVX2 and FMA) or "generic" (any CPU).
int mrl_cpu_runs(const char *isa);

/// Calls `install` with the variants best first ("avx512f", "avx2+fma", "generic"), from the
/// one `$MRL_ISA` names down when it is set, until one installs; a family's `install`
/// returns 1 when it took the variant. So one environment variable rules a kernel out everywhere.
void mrl_install_best(int (*install)(const char *isa));

/// What every kernel family repeats, given its static `install(isa)` and a static `kernels`
/// struct with a `const char *isa` field: `ensure_kernels()` (the choice, made once, on first
/// use; call it at the top of each public function), and the family's public `select_name`
/// (switch to a variant, for tests and benchmarks) and `isa_name` (the variant in use).
#define MRL_KERNEL_FAMILY(select_name, isa_name)                                   \
    static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;                       \
    static void choose_kernels(void) { mrl_install_best(install); }               \
    static void ensure_kernels(void) { pthread_once(&kernels_once, choose_kernels); } \
    int select_name(const char *isa) {                                            \
        ensure_kernels();                                                         \
        return install(isa);                                                      \
    }                                                                             \
    const char *isa_name(void) {                                                  \
        ensure_kernels();                                                         \
        return kernels.isa;                                                       \
    }

#endif
