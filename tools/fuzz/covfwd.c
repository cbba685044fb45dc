/* Coverage forwarder for atheris under gcc's ASan runtime (tools/fuzz/run.sh preloads it before
 * libasan.so). gcc's libasan.so defines weak no-op __sanitizer_cov_* callbacks; preloaded first,
 * they would take the calls atheris makes to report Python coverage to its built-in libFuzzer,
 * and the fuzzer would run blind. These definitions come first in the lookup order and forward
 * each call to atheris' libFuzzer (the module named by ATHERIS_CORE, looked up once). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>

static void *core(void)
{
    static void *h;
    if (!h) {
        const char *p = getenv("ATHERIS_CORE");
        h = p ? dlopen(p, RTLD_NOW | RTLD_NOLOAD) : NULL;
        if (!h) {
            fprintf(stderr, "covfwd: atheris core %s not loaded\n", p ? p : "(ATHERIS_CORE unset)");
            abort();
        }
    }
    return h;
}

#define FWD(name, params, args)                                      \
    void name params                                                 \
    {                                                                \
        static void (*f) params;                                     \
        if (!f) *(void **)&f = dlsym(core(), #name);                 \
        if (f) f args;                                               \
    }

FWD(__sanitizer_cov_8bit_counters_init, (uint8_t *a, uint8_t *b), (a, b))
FWD(__sanitizer_cov_pcs_init, (const uintptr_t *a, const uintptr_t *b), (a, b))
FWD(__sanitizer_cov_trace_cmp1, (uint8_t a, uint8_t b), (a, b))
FWD(__sanitizer_cov_trace_cmp2, (uint16_t a, uint16_t b), (a, b))
FWD(__sanitizer_cov_trace_cmp4, (uint32_t a, uint32_t b), (a, b))
FWD(__sanitizer_cov_trace_cmp8, (uint64_t a, uint64_t b), (a, b))
FWD(__sanitizer_cov_trace_const_cmp1, (uint8_t a, uint8_t b), (a, b))
FWD(__sanitizer_cov_trace_const_cmp2, (uint16_t a, uint16_t b), (a, b))
FWD(__sanitizer_cov_trace_const_cmp4, (uint32_t a, uint32_t b), (a, b))
FWD(__sanitizer_cov_trace_const_cmp8, (uint64_t a, uint64_t b), (a, b))
FWD(__sanitizer_cov_trace_switch, (uint64_t a, uint64_t *b), (a, b))
FWD(__sanitizer_cov_trace_div4, (uint32_t a), (a))
FWD(__sanitizer_cov_trace_div8, (uint64_t a), (a))
FWD(__sanitizer_cov_trace_gep, (uintptr_t a), (a))
FWD(__sanitizer_cov_trace_pc_indir, (uintptr_t a), (a))
