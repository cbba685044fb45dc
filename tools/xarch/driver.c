/* Test driver of the C kernels without Python (the cross-architecture check: built natively
 * and with the aarch64 / armv7 cross compilers, run under qemu-user; tools/xarch_check.sh).
 *
 * usage: driver [-f MASK] [-p PATH] [-l LABEL] FILE.ertv...
 *   -f MASK   feature mask (as EDGE_RT_C_FEATURES: 0 = portable C); default: all the CPU has
 *   -p PATH   the SIMD path the run must take (e.g. neon-dotprod); exit 3 if it takes another
 *   -l LABEL  prefix of the summary line
 * Each file (tools/xarch/make_vectors.py writes them) holds a model's constants, its C op
 * records as the Interpreter binds them, and cases: arena spans to set, a range of records to
 * run, arena spans that must then hold the reference's bytes exactly. Every record is bound
 * through ert_op_init, the validator the Python extension uses. Prints one line: the path,
 * the C ops covered, vectors (cases) run and mismatches; exit 1 on any mismatch, 2 on a bad
 * file or a record the validator refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ert_kernels.h"

typedef struct {
    const unsigned char *p, *end;
    int bad;
} rd;

static const void *take(rd *r, uint64_t n)
{
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        return NULL;
    }
    const void *q = r->p;
    r->p += n;
    return q;
}

static uint64_t u(rd *r, int bytes)
{
    const unsigned char *q = take(r, (uint64_t)bytes);
    uint64_t v = 0;
    if (!q) return 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | q[i];
    return v;
}

static void *aligned(uint64_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (size_t)(n ? n : 1))) return NULL;
    return p;
}

#define MAX_OPCODE 256
static long g_vectors, g_mismatch, g_per_op[MAX_OPCODE];

/* Run one file; 0 ok, 1 mismatches, 2 bad file. */
static int run_file(const char *path, uint32_t features)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "%s: cannot open\n", path); return 2; }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)(len > 0 ? len : 1));
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) { fclose(f); fprintf(stderr, "%s: read error\n", path); return 2; }
    fclose(f);
    rd r = {buf, buf + len, 0};
    int rc = 0;
    const char *magic = take(&r, 8);
    if (!magic || memcmp(magic, "ERTV0001", 8)) { fprintf(stderr, "%s: not a vector file\n", path); free(buf); return 2; }
    uint32_t nl = (uint32_t)u(&r, 4);
    take(&r, nl);
    uint64_t nconsts = u(&r, 8);
    const void *csrc = take(&r, nconsts);
    uint64_t narena = u(&r, 8);
    uint32_t nops = (uint32_t)u(&r, 4);
    if (r.bad || narena > ((uint64_t)1 << 32) || nops > 100000) { fprintf(stderr, "%s: bad header\n", path); free(buf); return 2; }
    unsigned char *consts = aligned(nconsts), *arena = aligned(narena);
    ert_op *ops = calloc(nops ? nops : 1, sizeof(ert_op));
    int32_t *prms = calloc((size_t)(nops ? nops : 1) * ERT_MAX_PRMS, sizeof(int32_t));
    if (!consts || !arena || !ops || !prms) { fprintf(stderr, "%s: out of memory\n", path); exit(2); }
    memcpy(consts, csrc, (size_t)nconsts);
    for (uint32_t i = 0; i < nops && !r.bad; i++) {
        int32_t opcode = (int32_t)u(&r, 4), nprm = (int32_t)u(&r, 4);
        if (nprm < 0 || nprm > ERT_MAX_PRMS) { r.bad = 1; break; }
        int32_t *prm = prms + (size_t)i * ERT_MAX_PRMS;
        for (int32_t j = 0; j < nprm; j++) prm[j] = (int32_t)u(&r, 4);
        int32_t nopd = (int32_t)u(&r, 4);
        if (nopd < 0 || nopd > ERT_MAX_PTRS) { r.bad = 1; break; }
        ert_operand opd[ERT_MAX_PTRS];
        for (int32_t j = 0; j < nopd; j++) {
            int32_t region = (int32_t)u(&r, 4);
            uint64_t off = u(&r, 8), room = u(&r, 8), size = region == 0 ? nconsts : narena;
            if ((region != 0 && region != 1) || off > size || room > size - off) { r.bad = 1; break; }
            opd[j].ptr = (region == 0 ? consts : arena) + off;
            opd[j].room = (int64_t)room;
            opd[j].writable = region == 1;
        }
        int32_t bad = -1;
        int e = r.bad ? 0 : ert_op_init(&ops[i], opcode, prm, nprm, opd, nopd, &bad);
        if (e != ERT_OK) {
            fprintf(stderr, "%s: record %u (opcode %d) refused by ert_op_init: %d (operand %d)\n", path, i, opcode, e, bad);
            rc = 2;
            goto done;
        }
    }
    uint32_t ncases = (uint32_t)u(&r, 4);
    ert_ctx ctx = {features};
    for (uint32_t c = 0; c < ncases && !r.bad; c++) {
        uint32_t cl = (uint32_t)u(&r, 4);
        const char *cname = take(&r, cl);
        uint32_t first = (uint32_t)u(&r, 4), n = (uint32_t)u(&r, 4);
        if (r.bad || first > nops || n > nops - first) { r.bad = 1; break; }
        for (uint64_t i = 0; i < narena; i++) arena[i] = (unsigned char)(i * 131u + 17u); /* not zeros */
        uint32_t nin = (uint32_t)u(&r, 4);
        for (uint32_t k = 0; k < nin && !r.bad; k++) {
            uint64_t off = u(&r, 8), sz = u(&r, 8);
            const void *src = take(&r, sz);
            if (!src || off > narena || sz > narena - off) { r.bad = 1; break; }
            memcpy(arena + off, src, (size_t)sz);
        }
        if (r.bad) break;
        ert_run(ops + first, (int32_t)n, &ctx);
        uint32_t nchk = (uint32_t)u(&r, 4);
        int bad_case = 0;
        for (uint32_t k = 0; k < nchk && !r.bad; k++) {
            uint64_t off = u(&r, 8), sz = u(&r, 8);
            const signed char *want = take(&r, sz);
            if (!want || off > narena || sz > narena - off) { r.bad = 1; break; }
            const signed char *got = (const signed char *)arena + off;
            long diff = 0, first_at = -1, nd = 0;
            for (uint64_t q = 0; q < sz; q++) {
                long d = (long)got[q] - (long)want[q];
                if (d) {
                    nd++;
                    if (first_at < 0) first_at = (long)q;
                    if (labs(d) > diff) diff = labs(d);
                }
            }
            if (nd) {
                bad_case = 1;
                fprintf(stderr, "MISMATCH %s: %.*s check %u: %ld of %llu bytes differ (first at %ld, max %ld LSB)\n",
                        path, (int)cl, cname, k, nd, (unsigned long long)sz, first_at, diff);
            }
        }
        g_vectors++;
        g_mismatch += bad_case;
        if (bad_case) rc = rc ? rc : 1;
        for (uint32_t i = first; i < first + n; i++)
            if (ops[i].opcode >= 0 && ops[i].opcode < MAX_OPCODE) g_per_op[ops[i].opcode]++;
    }
    if (r.bad) { fprintf(stderr, "%s: truncated or inconsistent vector file\n", path); rc = 2; }
done:
    free(consts); free(arena); free(ops); free(prms); free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    uint32_t features = ert_cpu_features();
    const char *want_path = NULL, *label = "";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc) break;
        if (!strcmp(argv[i], "-f")) features &= (uint32_t)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "-p")) want_path = argv[i + 1];
        else if (!strcmp(argv[i], "-l")) label = argv[i + 1];
        else break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: driver [-f MASK] [-p PATH] [-l LABEL] FILE.ertv...\n");
        return 2;
    }
    const char *path = ert_simd_path(features);
    if (want_path && strcmp(path, want_path)) {
        fprintf(stderr, "%s: the kernels take the %s path, not %s (CPU features 0x%x)\n", label, path, want_path,
                ert_cpu_features());
        return 3;
    }
    int rc = 0;
    for (; i < argc; i++) {
        int e = run_file(argv[i], features);
        if (e > rc) rc = e;
    }
    int nop = 0;
    char ops[512] = "";
    for (int k = 0; k < MAX_OPCODE; k++)
        if (g_per_op[k]) {
            const ert_kernel *kern = ert_kernel_for(k);
            size_t at = strlen(ops);
            snprintf(ops + at, sizeof(ops) - at, "%s%s %ld", nop ? ", " : "", kern ? kern->name : "?", g_per_op[k]);
            nop++;
        }
    printf("%s%s: ops=%d vectors=%ld mismatches=%ld (op runs: %s)%s\n", label, path, nop, g_vectors, g_mismatch, ops,
           rc == 2 ? " BAD FILE" : "");
    return rc;
}
