/* CPU feature detection at run time (never the build machine's -march). */
#include "ert_kernels.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(ERT_PORTABLE_ONLY)
uint32_t ert_cpu_features(void)
{
    uint32_t f = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        f |= ERT_CPU_AVX2;
    /* the VNNI path also uses AVX-512 BW/VL masked byte loads */
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        f |= ERT_CPU_AVX512VNNI;
    return f;
}
#elif defined(__GNUC__) && defined(__aarch64__) && !defined(ERT_PORTABLE_ONLY)
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif
uint32_t ert_cpu_features(void)
{
    uint32_t f = ERT_CPU_NEON; /* Advanced SIMD is part of the aarch64 baseline */
#if defined(__linux__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP)
        f |= ERT_CPU_DOTPROD;
#endif
    return f;
}
#else
uint32_t ert_cpu_features(void) { return 0; }
#endif

const char *ert_simd_path(uint32_t f)
{
#if defined(__GNUC__) && defined(__x86_64__) && !defined(ERT_PORTABLE_ONLY)
    if (f & ERT_CPU_AVX512VNNI) return "avx512vnni";
    if (f & ERT_CPU_AVX2) return "avx2";
#elif defined(__GNUC__) && defined(__aarch64__) && !defined(ERT_PORTABLE_ONLY)
    if (f & ERT_CPU_DOTPROD) return "neon-dotprod";
    if (f & ERT_CPU_NEON) return "neon";
#endif
    (void)f;
    return "portable";
}
