/* Load-time helpers of the CPython glue (included by _ert.c only; Python.h before it): the reader's
 * tensor and op tables and the file's CRC-32, in C because their Python loops were most of a small
 * model's file-to-ready time (edge_rt/reader.py calls them when the extension is built and keeps
 * its own loops for MicroPython and for naming a bad record). */
#ifndef ERT_LOAD_H
#define ERT_LOAD_H

#include <string.h>

/* tensor_table(tens, strings, consts_len, arena_len, sizes, max_dims, cls): the reader's tensor
 * records (format.TENSOR_FMT, 52 bytes each, little-endian) as a list of cls instances with the
 * attributes reader.TensorInfo sets, plus the constants' byte total: (list, const_bytes). Returns
 * None when any record fails a check (the reader then runs its own loop, which names the
 * problem), so this is only ever as permissive as the reader: sizes[dtype] = element bytes (0 =
 * unknown dtype), dims >= 0, nbytes = elements * size, name inside strings and UTF-8, a constant
 * 16-byte aligned inside CONSTS, an arena tensor inside the arena. Load time: the Python loop
 * is most of a small model's file-to-ready time. */
static uint32_t le32(const unsigned char *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

static const char *const TENSOR_ATTRS[10] = {"index", "dtype", "shape", "kind", "flags", "offset", "nbytes",
                                              "scale", "zero_point", "name"};

static int set_attr(PyObject *o, PyObject *name, PyObject *v)
{
    if (!v) return -1;
    int rc = PyObject_SetAttr(o, name, v);
    Py_DECREF(v);
    return rc;
}

static PyObject *mod_tensor_table(PyObject *m, PyObject *args)
{
    (void)m;
    Py_buffer tb, sb;
    long long c_len, arena_len;
    PyObject *sizes, *cls;
    int max_dims;
    if (!PyArg_ParseTuple(args, "y*y*LLOiO", &tb, &sb, &c_len, &arena_len, &sizes, &max_dims, &cls)) return NULL;
    PyObject *out = NULL, *list = NULL, *empty = PyTuple_New(0);
    Py_ssize_t n = tb.len / 52, nsz = PySequence_Size(sizes);
    long long cbytes = 0;
    PyObject *key[10] = {NULL};
    if (!empty) goto done;
    for (int k = 0; k < 10; k++)
        if (!(key[k] = PyUnicode_InternFromString(TENSOR_ATTRS[k]))) goto done;
    if (tb.len % 52 || nsz < 0 || !PyType_Check(cls) || max_dims > 6) goto reject;
    list = PyList_New(n);
    if (!list) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char *r = (const unsigned char *)tb.buf + 52 * i;
        int dtype = r[0], ndim = r[1], kind = r[2];
        if (dtype >= nsz || ndim > max_dims) goto reject;
        PyObject *szo = PySequence_GetItem(sizes, dtype);
        long es = szo ? PyLong_AsLong(szo) : -1;
        Py_XDECREF(szo);
        if (es <= 0) { PyErr_Clear(); goto reject; }
        uint64_t elems = 1;
        int32_t dims[6];
        for (int d = 0; d < ndim; d++) {
            dims[d] = (int32_t)le32(r + 4 + 4 * d);
            if (dims[d] < 0) goto reject;
            if (dims[d] && elems > ((uint64_t)1 << 40) / (uint64_t)dims[d]) goto reject;  /* nbytes is 32-bit */
            elems *= (uint64_t)dims[d];
        }
        uint64_t off = le32(r + 28), nb = le32(r + 32), name_off = le32(r + 44), name_len = le32(r + 48);
        float scale;
        uint32_t sbits = le32(r + 36);
        memcpy(&scale, &sbits, 4);
        if (elems * (uint64_t)es != nb || name_off + name_len > (uint64_t)sb.len) goto reject;
        if (kind == 1) {
            if (off % 16 || off + nb > (uint64_t)c_len) goto reject;
            cbytes += (long long)nb;
        } else if (kind != 0 || off + nb > (uint64_t)arena_len) {
            goto reject;
        }
        PyObject *name = PyUnicode_DecodeUTF8((const char *)sb.buf + name_off, (Py_ssize_t)name_len, "strict");
        if (!name) { PyErr_Clear(); goto reject; }
        PyObject *shape = PyTuple_New(ndim);
        /* object.__new__(cls): the instance without running __init__ (its attributes are set here) */
        PyObject *o = shape ? ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, empty, NULL) : NULL;
        if (!o) { Py_DECREF(name); Py_XDECREF(shape); goto done; }
        PyList_SET_ITEM(list, i, o);
        for (int d = 0; d < ndim; d++) {
            PyObject *v = PyLong_FromLong(dims[d]);
            if (!v) { Py_DECREF(name); Py_DECREF(shape); goto done; }
            PyTuple_SET_ITEM(shape, d, v);
        }
        if (set_attr(o, key[0], PyLong_FromSsize_t(i)) < 0 || set_attr(o, key[1], PyLong_FromLong(dtype)) < 0 ||
            set_attr(o, key[2], shape) < 0 || set_attr(o, key[3], PyLong_FromLong(kind)) < 0 ||
            set_attr(o, key[4], PyLong_FromLong(r[3])) < 0 ||
            set_attr(o, key[5], PyLong_FromUnsignedLongLong(off)) < 0 ||
            set_attr(o, key[6], PyLong_FromUnsignedLongLong(nb)) < 0 ||
            set_attr(o, key[7], PyFloat_FromDouble((double)scale)) < 0 ||
            set_attr(o, key[8], PyLong_FromLong((int32_t)le32(r + 40))) < 0 || set_attr(o, key[9], name) < 0)
            goto done;
    }
    out = Py_BuildValue("(OL)", list, cbytes);
    goto done;
reject:
    out = Py_None;
    Py_INCREF(out);
done:
    Py_XDECREF(list);
    Py_XDECREF(empty);
    for (int k = 0; k < 10; k++) Py_XDECREF(key[k]);
    PyBuffer_Release(&tb);
    PyBuffer_Release(&sb);
    return out;
}

/* op_table(ops, ntensors, arena_len, cls, names): the reader's op records (format.OP_FMT header
 * of 16 bytes, then nin + nout + npar int32, little-endian) as a list of cls instances with the
 * attributes reader.OpInfo sets (name: names.get(opcode, "OP_<n>")). None when a record runs past
 * the section, names a tensor id outside [-1, ntensors) or its scratch lies outside the arena:
 * the reader's own loop then names the problem. */
static const char *const OP_ATTRS[8] = {"index", "opcode", "name", "inputs", "outputs", "params",
                                        "scratch_offset", "scratch_bytes"};

static PyObject *int32_tuple(const unsigned char *b, Py_ssize_t n)
{
    PyObject *t = PyTuple_New(n);
    for (Py_ssize_t i = 0; t && i < n; i++) {
        PyObject *v = PyLong_FromLong((int32_t)le32(b + 4 * i));
        if (!v) { Py_DECREF(t); return NULL; }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

static PyObject *mod_op_table(PyObject *m, PyObject *args)
{
    (void)m;
    Py_buffer ob;
    long long nt, arena_len;
    PyObject *cls, *names;
    if (!PyArg_ParseTuple(args, "y*LLOO", &ob, &nt, &arena_len, &cls, &names)) return NULL;
    PyObject *out = NULL, *list = PyList_New(0), *empty = PyTuple_New(0);
    PyObject *key[8] = {NULL};
    const unsigned char *b = (const unsigned char *)ob.buf;
    Py_ssize_t pos = 0, end = ob.len;
    if (!list || !empty) goto done;
    for (int k = 0; k < 8; k++)
        if (!(key[k] = PyUnicode_InternFromString(OP_ATTRS[k]))) goto done;
    if (!PyType_Check(cls) || !PyDict_Check(names)) goto reject;
    while (pos < end) {
        if (end - pos < 16) goto reject;
        const unsigned char *h = b + pos;
        int opcode = h[0] | h[1] << 8, nin = h[2], nout = h[3], npar = h[4] | h[5] << 8;
        uint64_t sc_off = le32(h + 8), sc_bytes = le32(h + 12);
        Py_ssize_t cnt = nin + nout + npar;
        pos += 16;
        if (end - pos < 4 * cnt || sc_off + sc_bytes > (uint64_t)arena_len) goto reject;
        for (Py_ssize_t i = 0; i < nin + nout; i++) {
            int32_t tid = (int32_t)le32(b + pos + 4 * i);
            if (tid < -1 || tid >= nt) goto reject;
        }
        Py_ssize_t index = PyList_GET_SIZE(list);
        PyObject *o = ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, empty, NULL);
        if (!o) goto done;
        if (PyList_Append(list, o) < 0) { Py_DECREF(o); goto done; }
        Py_DECREF(o);
        PyObject *code = PyLong_FromLong(opcode);
        if (!code) goto done;
        PyObject *name = PyDict_GetItemWithError(names, code);   /* borrowed */
        if (name) Py_INCREF(name);
        else if (!PyErr_Occurred()) name = PyUnicode_FromFormat("OP_%d", opcode);
        if (set_attr(o, key[0], PyLong_FromSsize_t(index)) < 0 || set_attr(o, key[1], code) < 0 ||
            set_attr(o, key[2], name) < 0 || set_attr(o, key[3], int32_tuple(b + pos, nin)) < 0 ||
            set_attr(o, key[4], int32_tuple(b + pos + 4 * nin, nout)) < 0 ||
            set_attr(o, key[5], int32_tuple(b + pos + 4 * (nin + nout), npar)) < 0 ||
            set_attr(o, key[6], PyLong_FromUnsignedLongLong(sc_off)) < 0 ||
            set_attr(o, key[7], PyLong_FromUnsignedLongLong(sc_bytes)) < 0)
            goto done;
        pos += 4 * cnt;
    }
    out = list;
    Py_INCREF(out);
    goto done;
reject:
    out = Py_None;
    Py_INCREF(out);
done:
    Py_XDECREF(list);
    Py_XDECREF(empty);
    for (int k = 0; k < 8; k++) Py_XDECREF(key[k]);
    PyBuffer_Release(&ob);
    return out;
}

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
#endif

static PyObject *mod_crc_fold(PyObject *m, PyObject *arg)
{
    (void)m;
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *out = NULL;
#ifdef ERT_HAVE_CRC_FOLD
    unsigned int a, bx, c, d;
    if (b.len >= 64 && __get_cpuid(1, &a, &bx, &c, &d) && (c & bit_PCLMUL)) {
        unsigned char head[16];
        Py_ssize_t used;
        Py_BEGIN_ALLOW_THREADS
        used = crc_fold_pclmul((const unsigned char *)b.buf, b.len, head);
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
