// Choosing a kernel variant by instruction set, shared by every kernel family (private to
// CKernels). The binary is built for baseline x86-64; variants are picked at run time.
#ifndef MRL_ISA_CHOICE_H
#define MRL_ISA_CHOICE_H

/// 1 when this CPU runs `isa`: "avx512f", "avx2+fma" (AVX2 and FMA) or "generic" (any CPU).
int mrl_cpu_runs(const char *isa);

/// Calls `install` with the variants best first ("avx512f", "avx2+fma", "generic"), from the
/// one `$MRL_ISA` names down when it is set, until one installs; a family's `install`
/// returns 1 when it took the variant. So one environment variable rules a kernel out everywhere.
void mrl_install_best(int (*install)(const char *isa));

#endif
