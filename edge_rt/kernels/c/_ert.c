/* CPython glue of the C kernel set: the only file that includes Python.h.
 *
 * Program(consts, arena, ops, features=-1): validates and binds a table of op records once
 * (ert_op_init); ops is a sequence of (opcode, params, operands), operands a sequence of
 * (region, offset, room) with region 0 = consts (read-only, the mapped file) and 1 = arena.
 * Program(consts, arena, opcodes, features, records=CPROG, first=i): the same records read from
 * a file's CPROG section (the binders' output stored at pack time) for ops i, i + 1, ...
 * The program holds buffer exports of both regions for its lifetime (the arena cannot be
 * resized or freed under it). Program.run() runs the whole table in one call with the GIL
 * released and allocates nothing. The reader's load-time helpers are in _ert_load.h. */
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
    case ERT_E_OVERLAP: return "scratch operand overlaps another operand";
    default: return "invalid";
    }
}

/* Record i of the program: opcode, its params (already in prm) and nptr operands as (region,
 * offset, room), region 0 = consts, 1 = arena; every operand must lie inside its region, then
 * ert_op_init checks the record against the kernel's own extents. */
static int init_record(Program *self, Py_ssize_t i, long opcode, int32_t *prm, Py_ssize_t np_,
                       const int *region, const long long *off, const long long *room, Py_ssize_t nptr)
{
    if (np_ > ERT_MAX_PRMS) return fail_op(i, ERT_E_PARAMS, -1, "too many parameters");
    if (nptr > ERT_MAX_PTRS) return fail_op(i, ERT_E_NPTR, -1, code_text(ERT_E_NPTR));
    ert_operand opd[ERT_MAX_PTRS];
    for (Py_ssize_t j = 0; j < nptr; j++) {
        Py_buffer *b = region[j] == 0 ? &self->consts : &self->arena;
        int have = region[j] == 0 ? self->have_consts : self->have_arena;
        if ((region[j] != 0 && region[j] != 1) || !have || off[j] < 0 || room[j] < 0 || off[j] > (long long)b->len ||
            room[j] > (long long)b->len - off[j])
            return fail_op(i, ERT_E_ROOM, (int)j, "operand lies outside its region");
        opd[j].ptr = (char *)b->buf + off[j];
        opd[j].room = room[j];
        opd[j].writable = region[j] == 1;
    }
    if (opcode < INT32_MIN || opcode > INT32_MAX) return fail_op(i, ERT_E_OPCODE, -1, code_text(ERT_E_OPCODE));
    int32_t bad = -1;
    int rc = ert_op_init(&self->ops[i], (int32_t)opcode, prm, (int32_t)np_, opd, (int32_t)nptr, &bad);
    if (rc != ERT_OK) return fail_op(i, rc, bad, code_text(rc));
    return 0;
}

/* Record i from a binder's spec (opcode, params, operands). */
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
    int region[ERT_MAX_PTRS];
    long long off[ERT_MAX_PTRS], room[ERT_MAX_PTRS];
    for (Py_ssize_t j = 0; j < nptr; j++) {
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(os, j), "iLL", &region[j], &off[j], &room[j])) {
            Py_DECREF(os);
            return -1;
        }
    }
    Py_DECREF(os);
    return init_record(self, i, opcode, prm, np_, region, off, room, nptr);
}

/* The records of ops [first, first + n) from a CPROG section (docs/format.md): a 24-byte header,
 * then per C op: u32 op index, u16 opcode, u16 n_params, u16 n_operands, u16 reserved,
 * n_params i32, n_operands x (u32 region, u32 offset, u32 room); records in increasing op
 * index. opcodes[k] is the opcode op first + k has in the file: a record for another opcode, a
 * missing record or one running past the section is refused naming the op (its position k). */
static uint16_t le16_(const unsigned char *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t le32_(const unsigned char *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

static int bind_records(Program *self, PyObject *seq, Py_buffer *rb, long long first)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const unsigned char *b = (const unsigned char *)rb->buf;
    Py_ssize_t end = rb->len, pos = 24;
    if (end < 24) return fail_op(0, ERT_E_PARAMS, -1, "its CPROG section is shorter than its header");
    uint32_t nrec = le32_(b + 16);
    Py_ssize_t k = 0;
    long long prev = -1;
    for (uint32_t r = 0; r < nrec && k < n; r++) {
        if (end - pos < 12) return fail_op(k, ERT_E_PARAMS, -1, "its CPROG record runs past the section");
        const unsigned char *h = b + pos;
        long long idx = le32_(h);
        long opcode = le16_(h + 4);
        Py_ssize_t np_ = le16_(h + 6), nptr = le16_(h + 8);
        pos += 12;
        if (idx <= prev) return fail_op(k, ERT_E_PARAMS, -1, "CPROG records are not in op order");
        prev = idx;
        if ((end - pos) / 4 < np_ + 3 * nptr)
            return fail_op(k, ERT_E_PARAMS, -1, "its CPROG record runs past the section");
        const unsigned char *v = b + pos;
        pos += 4 * (np_ + 3 * nptr);
        if (idx < first) continue;
        if (idx > first + k) break;  /* op first + k has no record */
        long want = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, k));
        if (want == -1 && PyErr_Occurred()) return -1;
        if (want != opcode) return fail_op(k, ERT_E_OPCODE, -1, "its CPROG record is for another opcode");
        if (np_ > ERT_MAX_PRMS) return fail_op(k, ERT_E_PARAMS, -1, "too many parameters");
        if (nptr > ERT_MAX_PTRS) return fail_op(k, ERT_E_NPTR, -1, code_text(ERT_E_NPTR));
        int32_t *prm = self->prm + k * ERT_MAX_PRMS;
        for (Py_ssize_t j = 0; j < np_; j++) prm[j] = (int32_t)le32_(v + 4 * j);
        int region[ERT_MAX_PTRS];
        long long off[ERT_MAX_PTRS], room[ERT_MAX_PTRS];
        for (Py_ssize_t j = 0; j < nptr; j++) {
            const unsigned char *o = v + 4 * np_ + 12 * j;
            uint32_t reg = le32_(o);
            region[j] = reg > 1 ? 2 : (int)reg;
            off[j] = le32_(o + 4);
            room[j] = le32_(o + 8);
        }
        if (init_record(self, k, opcode, prm, np_, region, off, room, nptr) < 0) return -1;
        k++;
    }
    if (k < n) return fail_op(k, ERT_E_PARAMS, -1, "its CPROG section has no record for it");
    return 0;
}

static int program_init(Program *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"consts", "arena", "ops", "features", "records", "first", NULL};
    PyObject *consts, *arena, *ops, *records = Py_None;
    long long features = -1, first = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|LOL", kwlist, &consts, &arena, &ops, &features, &records,
                                     &first))
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
    if (records != Py_None) {  /* ops: the opcode of each op first, first + 1, ... */
        Py_buffer rb;
        if (PyObject_GetBuffer(records, &rb, PyBUF_SIMPLE) < 0) {
            Py_DECREF(seq);
            return -1;
        }
        int rc = bind_records(self, seq, &rb, first);
        PyBuffer_Release(&rb);
        Py_DECREF(seq);
        if (rc < 0) return -1;
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            if (bind_op(self, i, PySequence_Fast_GET_ITEM(seq, i), self->prm + i * ERT_MAX_PRMS) < 0) {
                Py_DECREF(seq);
                return -1;
            }
        }
        Py_DECREF(seq);
    }
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


#include "_ert_load.h"  /* tensor_table, op_table, tensor_at, op_at */
#include "_ert_parse.h" /* parse_model */
#include "_ert_crc.h"   /* crc_fold */

/* aligned(buf): buf when it starts on a 64-byte boundary, else a copy that does (a read-only
 * memoryview of a private bytearray). The writer puts every weight tensor on a 64-byte boundary of CONSTS; a
 * mapped file keeps it, a bytes object does not (its data sits 32 bytes into the object), and the
 * kernels' 64-byte loads of weights then split across two cache lines (~1.5x the time of a
 * weight-bound op). The interpreter makes one copy for all of a model's C programs. */
static PyObject *mod_aligned(PyObject *m, PyObject *arg)
{
    (void)m;
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
    if (!((uintptr_t)b.buf & 63u) || b.len == 0) {
        PyBuffer_Release(&b);
        Py_INCREF(arg);
        return arg;
    }
    Py_ssize_t n = b.len;
    PyObject *ba = PyByteArray_FromStringAndSize(NULL, n + 63);
    if (!ba) {
        PyBuffer_Release(&b);
        return NULL;
    }
    char *p = PyByteArray_AS_STRING(ba);
    Py_ssize_t off = (Py_ssize_t)((64u - ((uintptr_t)p & 63u)) & 63u);
    memcpy(p + off, b.buf, (size_t)n);
    PyBuffer_Release(&b);
    PyObject *mv = PyMemoryView_FromObject(ba); /* the export keeps the bytearray from moving */
    Py_DECREF(ba);
    if (!mv) return NULL;
    PyObject *sl = PySequence_GetSlice(mv, off, off + n);
    Py_DECREF(mv);
    if (!sl) return NULL;
    PyObject *ro = PyObject_CallMethod(sl, "toreadonly", NULL); /* constants, as the mapped file's */
    Py_DECREF(sl);
    return ro;
}

static PyMethodDef mod_methods[] = {
    {"features", mod_features, METH_NOARGS, "CPU feature bits detected at run time."},
    {"simd_path", mod_simd_path, METH_O, "Name of the SIMD path a feature mask selects."},
    {"kernels", mod_kernels, METH_NOARGS, "{opcode: (name, operand signature)}"},
    {"crc_fold", mod_crc_fold, METH_VARARGS, "The buffer folded to 16 bytes of equal CRC-32 remainder, or None."},
    {"op_table", mod_op_table, METH_VARARGS, "The reader's op records as objects (None: let the reader say why not)."},
    {"tensor_table", mod_tensor_table, METH_VARARGS, "The reader's tensor records as objects (None: let the reader say why not)."},
    {"aligned", mod_aligned, METH_O, "The buffer, or a copy of it, starting on a 64-byte boundary."},
    {"parse_model", mod_parse_model, METH_VARARGS, "The reader's structural checks and tables in one call (None: let the reader say why not)."},
    {"op_at", mod_op_at, METH_VARARGS, "One checked op record as an object (the reader's lazy table)."},
    {"tensor_at", mod_tensor_at, METH_VARARGS, "One checked tensor record as an object (the reader's lazy table)."},
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
