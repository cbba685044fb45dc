/* CPython glue of the C kernel set: the only file that includes Python.h.
 *
 * Program(consts, arena, ops, features=-1): validates and binds a table of op records once
 * (ert_op_init); ops is a sequence of (opcode, params, operands), operands a sequence of
 * (region, offset, room) with region 0 = consts (read-only, the mapped file) and 1 = arena.
 * The program holds buffer exports of both regions for its lifetime (the arena cannot be
 * resized or freed under it). Program.run() runs the whole table in one call with the GIL
 * released and allocates nothing. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>
#include "ert_kernels.h"

typedef struct {
    PyObject_HEAD
    Py_buffer consts, arena;
    int have_consts, have_arena;
    ert_op *ops;
    int32_t nops;
    int32_t *prm;
    ert_ctx ctx;
} Program;

static void program_dealloc(Program *self)
{
    if (self->have_consts) PyBuffer_Release(&self->consts);
    if (self->have_arena) PyBuffer_Release(&self->arena);
    free(self->ops);
    free(self->prm);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int fail_op(Py_ssize_t i, int code, int bad, const char *what)
{
    PyObject *v = Py_BuildValue("(nis)", i, bad, what);
    if (v) {
        PyErr_SetObject(PyExc_ValueError, v);
        Py_DECREF(v);
    }
    (void)code;
    return -1;
}

static const char *code_text(int code)
{
    switch (code) {
    case ERT_E_OPCODE: return "no C kernel for this opcode";
    case ERT_E_PARAMS: return "parameters inconsistent or out of bounds";
    case ERT_E_NPTR: return "wrong number of operands";
    case ERT_E_ROOM: return "operand would be accessed past the end of its tensor";
    case ERT_E_WRITE: return "output or scratch operand is not in the arena";
    case ERT_E_ALIGN: return "int32 operand is not 4-byte aligned";
    case ERT_E_VALUE: return "requantization multiplier or shift out of range";
    default: return "invalid";
    }
}

static int bind_op(Program *self, Py_ssize_t i, PyObject *item, int32_t *prm)
{
    long opcode;
    PyObject *params, *operands;
    if (!PyArg_ParseTuple(item, "lOO", &opcode, &params, &operands)) return -1;
    PyObject *ps = PySequence_Fast(params, "params must be a sequence");
    if (!ps) return -1;
    Py_ssize_t np_ = PySequence_Fast_GET_SIZE(ps);
    for (Py_ssize_t j = 0; j < np_ && j < ERT_MAX_PRMS; j++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(ps, j));
        if ((v == -1 && PyErr_Occurred()) || v < INT32_MIN || v > INT32_MAX) {
            Py_DECREF(ps);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_OverflowError, "param outside int32");
            return -1;
        }
        prm[j] = (int32_t)v;
    }
    Py_DECREF(ps);
    if (np_ > ERT_MAX_PRMS) return fail_op(i, ERT_E_PARAMS, -1, "too many parameters");
    PyObject *os = PySequence_Fast(operands, "operands must be a sequence");
    if (!os) return -1;
    Py_ssize_t nptr = PySequence_Fast_GET_SIZE(os);
    if (nptr > ERT_MAX_PTRS) {
        Py_DECREF(os);
        return fail_op(i, ERT_E_NPTR, -1, code_text(ERT_E_NPTR));
    }
    ert_operand opd[ERT_MAX_PTRS];
    for (Py_ssize_t j = 0; j < nptr; j++) {
        int region;
        long long off, room;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(os, j), "iLL", &region, &off, &room)) {
            Py_DECREF(os);
            return -1;
        }
        Py_buffer *b = region == 0 ? &self->consts : &self->arena;
        int have = region == 0 ? self->have_consts : self->have_arena;
        if ((region != 0 && region != 1) || !have || off < 0 || room < 0 || off > (long long)b->len ||
            room > (long long)b->len - off) {
            Py_DECREF(os);
            return fail_op(i, ERT_E_ROOM, (int)j, "operand lies outside its region");
        }
        opd[j].ptr = (char *)b->buf + off;
        opd[j].room = room;
        opd[j].writable = region == 1;
    }
    Py_DECREF(os);
    int32_t bad = -1;
    int rc = ert_op_init(&self->ops[i], (int32_t)opcode, prm, (int32_t)np_, opd, (int32_t)nptr, &bad);
    if (rc != ERT_OK) return fail_op(i, rc, bad, code_text(rc));
    return 0;
}

static int program_init(Program *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"consts", "arena", "ops", "features", NULL};
    PyObject *consts, *arena, *ops;
    long long features = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|L", kwlist, &consts, &arena, &ops, &features))
        return -1;
    if (self->ops) {
        PyErr_SetString(PyExc_RuntimeError, "Program already initialised");
        return -1;
    }
    if (consts != Py_None) {
        if (PyObject_GetBuffer(consts, &self->consts, PyBUF_SIMPLE) < 0) return -1;
        self->have_consts = 1;
    }
    if (PyObject_GetBuffer(arena, &self->arena, PyBUF_WRITABLE) < 0) return -1;
    self->have_arena = 1;
    PyObject *seq = PySequence_Fast(ops, "ops must be a sequence");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > INT32_MAX / ERT_MAX_PRMS) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "too many ops");
        return -1;
    }
    self->ops = (ert_op *)calloc((size_t)(n ? n : 1), sizeof(ert_op));
    self->prm = (int32_t *)calloc((size_t)(n ? n : 1) * ERT_MAX_PRMS, sizeof(int32_t));
    if (!self->ops || !self->prm) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (bind_op(self, i, PySequence_Fast_GET_ITEM(seq, i), self->prm + i * ERT_MAX_PRMS) < 0) {
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    self->nops = (int32_t)n;
    uint32_t have = ert_cpu_features();
    self->ctx.features = features < 0 ? have : (have & (uint32_t)features);
    return 0;
}

static PyObject *program_run(Program *self, PyObject *unused)
{
    (void)unused;
    if (!self->ops) {
        PyErr_SetString(PyExc_RuntimeError, "Program not initialised");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    ert_run(self->ops, self->nops, &self->ctx);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *program_simd(Program *self, void *unused)
{
    (void)unused;
    return PyUnicode_FromString(ert_simd_path(self->ctx.features));
}

static PyMethodDef program_methods[] = {
    {"run", (PyCFunction)program_run, METH_NOARGS, "Run every bound op, GIL released."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef program_getset[] = {
    {"simd", (getter)program_simd, NULL, "SIMD path this program runs", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "edge_rt.kernels.c._ert.Program",
    .tp_basicsize = sizeof(Program),
    .tp_dealloc = (destructor)program_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A validated, bound table of C op records.",
    .tp_methods = program_methods,
    .tp_getset = program_getset,
    .tp_init = (initproc)program_init,
    .tp_new = PyType_GenericNew,
};

static PyObject *mod_features(PyObject *m, PyObject *unused)
{
    (void)m; (void)unused;
    return PyLong_FromUnsignedLong(ert_cpu_features());
}

static PyObject *mod_simd_path(PyObject *m, PyObject *arg)
{
    (void)m;
    unsigned long f = PyLong_AsUnsignedLong(arg);
    if (f == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    return PyUnicode_FromString(ert_simd_path((uint32_t)f));
}

static PyObject *mod_kernels(PyObject *m, PyObject *unused)
{
    (void)m; (void)unused;
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (int i = 0; i < ert_kernel_count(); i++) {
        const ert_kernel *k = ert_kernel_at(i);
        PyObject *key = PyLong_FromLong(k->opcode);
        PyObject *val = Py_BuildValue("(ss)", k->name, k->sig);
        if (!key || !val || PyDict_SetItem(d, key, val) < 0) {
            Py_XDECREF(key); Py_XDECREF(val); Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(key); Py_DECREF(val);
    }
    return d;
}


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

static PyMethodDef mod_methods[] = {
    {"features", mod_features, METH_NOARGS, "CPU feature bits detected at run time."},
    {"simd_path", mod_simd_path, METH_O, "Name of the SIMD path a feature mask selects."},
    {"kernels", mod_kernels, METH_NOARGS, "{opcode: (name, operand signature)}"},
    {"crc_fold", mod_crc_fold, METH_O, "The buffer folded to 16 bytes of equal CRC-32 remainder, or None."},
    {"op_table", mod_op_table, METH_VARARGS, "The reader's op records as objects (None: let the reader say why not)."},
    {"tensor_table", mod_tensor_table, METH_VARARGS, "The reader's tensor records as objects (None: let the reader say why not)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_ert", "edge_rt C kernels", -1, mod_methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__ert(void)
{
    if (PyType_Ready(&ProgramType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    Py_INCREF(&ProgramType);
    if (PyModule_AddObject(m, "Program", (PyObject *)&ProgramType) < 0 ||
        PyModule_AddIntConstant(m, "ABI_VERSION", ERT_ABI_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "MAX_PRMS", ERT_MAX_PRMS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
