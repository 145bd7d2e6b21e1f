#include "isa_choice.h"
#include <stdlib.h>
#include <string.h>

int mrl_cpu_runs(const char *isa) {
    if (strcmp(isa, "generic") == 0) return 1;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (strcmp(isa, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
    if (strcmp(isa, "avx2+fma") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return 0;
}

void mrl_install_best(int (*install)(const char *isa)) {
    const char *cap = getenv("MRL_ISA");
    const char *order[] = {"avx512f", "avx2+fma", "generic"};
    int allowed = cap == NULL || cap[0] == 0;  // empty counts as unset, as for mrl's other variables
    for (int i = 0; i < 3; i++) {
        if (!allowed && strcmp(cap, order[i]) == 0) allowed = 1;
        if (allowed && mrl_cpu_runs(order[i]) && install(order[i])) return;
    }
    install("generic");
}
