/* The file's CRC-32 folded with carry-less multiplies (crc_fold), included by _ert.c: load time of a
 * large file (edge_rt/reader.py _crc32). */
#ifndef ERT_CRC_H
#define ERT_CRC_H

#include <string.h>

/* crc_fold(buf): load time of a large file. Folds buf with carry-less multiplies (x86-64 PCLMULQDQ,
 * checked at run time) into 16 bytes with the same CRC-32 remainder: returns (head, used) such that
 * binascii.crc32(buf[used:], binascii.crc32(head, 0xFFFFFFFF)) == binascii.crc32(buf), or None
 * (fewer than 64 bytes, or no PCLMULQDQ: the caller takes binascii.crc32 alone). The folding
 * constants are x^e mod P of the CRC-32 polynomial, bit-reflected: e = 512 +- 32 to fold four
 * 16-byte lanes by 64 bytes, 128 +- 32 to fold one lane onto the next 16 bytes. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define ERT_HAVE_CRC_FOLD 1

__attribute__((target("pclmul,sse2"))) static __m128i crc_fold16(__m128i x, __m128i d, __m128i k)
{
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), d);
}

__attribute__((target("pclmul,sse2"))) static Py_ssize_t crc_fold_pclmul(const unsigned char *p, Py_ssize_t n,
                                                                         unsigned char *out)
{
    const __m128i k4 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL), k1 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);
    __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128(-1)); /* the initial ~0 */
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16)), x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    Py_ssize_t pos = 64;
    for (; n - pos >= 64; pos += 64) {
        x0 = crc_fold16(x0, _mm_loadu_si128((const __m128i *)(p + pos)), k4);
        x1 = crc_fold16(x1, _mm_loadu_si128((const __m128i *)(p + pos + 16)), k4);
        x2 = crc_fold16(x2, _mm_loadu_si128((const __m128i *)(p + pos + 32)), k4);
        x3 = crc_fold16(x3, _mm_loadu_si128((const __m128i *)(p + pos + 48)), k4);
    }
    x0 = crc_fold16(crc_fold16(crc_fold16(x0, x1, k1), x2, k1), x3, k1);
    for (; n - pos >= 16; pos += 16) x0 = crc_fold16(x0, _mm_loadu_si128((const __m128i *)(p + pos)), k1);
    _mm_storeu_si128((__m128i *)out, x0);
    return pos;
}

#if defined(__clang__) || __GNUC__ >= 8 /* compilers that know the vpclmulqdq target */
#define ERT_HAVE_CRC_WIDE 1
/* The same fold 256 bytes at a time in four 512-bit lanes (AVX-512 VPCLMULQDQ, checked at run
 * time): e = 2048 +- 32 folds each 16-byte lane by 256 bytes; the four registers then fold into
 * one by 64 bytes (e = 512 +- 32), then into 16 bytes as above. n >= 256. */
__attribute__((target("avx512f,avx512bw,vpclmulqdq,pclmul,sse2"))) static __m512i crc_fold64(__m512i x, __m512i d,
                                                                                            __m512i k)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), d,
                                     0x96);
}

__attribute__((target("avx512f,avx512bw,vpclmulqdq,pclmul,sse2"))) static Py_ssize_t crc_fold_vpclmul(
    const unsigned char *p, Py_ssize_t n, unsigned char *out)
{
    const __m512i k256 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1322d1430LL, 0x11542778aLL));
    const __m512i k64 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL));
    const __m128i k1 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);
    __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512((const void *)p), _mm512_castsi128_si512(_mm_cvtsi32_si128(-1)));
    __m512i x1 = _mm512_loadu_si512((const void *)(p + 64)), x2 = _mm512_loadu_si512((const void *)(p + 128));
    __m512i x3 = _mm512_loadu_si512((const void *)(p + 192));
    Py_ssize_t pos = 256;
    for (; n - pos >= 256; pos += 256) {
        x0 = crc_fold64(x0, _mm512_loadu_si512((const void *)(p + pos)), k256);
        x1 = crc_fold64(x1, _mm512_loadu_si512((const void *)(p + pos + 64)), k256);
        x2 = crc_fold64(x2, _mm512_loadu_si512((const void *)(p + pos + 128)), k256);
        x3 = crc_fold64(x3, _mm512_loadu_si512((const void *)(p + pos + 192)), k256);
    }
    x0 = crc_fold64(crc_fold64(crc_fold64(x0, x1, k64), x2, k64), x3, k64);
    for (; n - pos >= 64; pos += 64) x0 = crc_fold64(x0, _mm512_loadu_si512((const void *)(p + pos)), k64);
    __m128i a = crc_fold16(crc_fold16(crc_fold16(_mm512_extracti32x4_epi32(x0, 0), _mm512_extracti32x4_epi32(x0, 1), k1),
                                      _mm512_extracti32x4_epi32(x0, 2), k1),
                           _mm512_extracti32x4_epi32(x0, 3), k1);
    for (; n - pos >= 16; pos += 16) a = crc_fold16(a, _mm_loadu_si128((const __m128i *)(p + pos)), k1);
    _mm_storeu_si128((__m128i *)out, a);
    return pos;
}
#endif
/* 1: PCLMULQDQ, 2: also AVX-512 VPCLMULQDQ (detected once: CPUID is slow in a VM) */
static int crc_level = -1;
#endif

static PyObject *mod_crc_fold(PyObject *m, PyObject *args)
{
    (void)m;
    Py_buffer b;
    int wide = 1;
    if (!PyArg_ParseTuple(args, "y*|p", &b, &wide)) return NULL;
    PyObject *out = NULL;
    (void)wide;
#ifdef ERT_HAVE_CRC_FOLD
    if (crc_level < 0) {
        unsigned int a, bx, c, d;
        __builtin_cpu_init();
        crc_level = (__get_cpuid(1, &a, &bx, &c, &d) && (c & bit_PCLMUL)) ? 1 : 0;
#ifdef ERT_HAVE_CRC_WIDE
        if (crc_level && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("avx512f") &&
            __builtin_cpu_supports("avx512bw"))
            crc_level = 2;
#endif
    }
    if (b.len >= 64 && crc_level > 0) {
        unsigned char head[16];
        Py_ssize_t used;
        int w = wide && crc_level > 1 && b.len >= 256;
        Py_BEGIN_ALLOW_THREADS
#ifdef ERT_HAVE_CRC_WIDE
        used = w ? crc_fold_vpclmul((const unsigned char *)b.buf, b.len, head)
                 : crc_fold_pclmul((const unsigned char *)b.buf, b.len, head);
#else
        (void)w;
        used = crc_fold_pclmul((const unsigned char *)b.buf, b.len, head);
#endif
        Py_END_ALLOW_THREADS
        out = Py_BuildValue("(y#n)", (const char *)head, (Py_ssize_t)16, used);
    }
#endif
    PyBuffer_Release(&b);
    if (!out && !PyErr_Occurred()) {
        out = Py_None;
        Py_INCREF(out);
    }
    return out;
}

#endif
