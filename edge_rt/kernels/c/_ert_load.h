/* Load-time helpers of the CPython glue (included by _ert.c only; Python.h before it): the reader's
 * tensor and op tables (the whole-file parse is _ert_parse.h, the CRC-32 _ert_crc.h), in C because
 * their Python loops were most of a small model's file-to-ready time (edge_rt/reader.py calls them when the extension is built and keeps
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

static PyObject *TENSOR_KEYS[10];

/* The interned attribute names (made once per process). */
static int tensor_keys(void)
{
    for (int k = 0; k < 10; k++)
        if (!TENSOR_KEYS[k] && !(TENSOR_KEYS[k] = PyUnicode_InternFromString(TENSOR_ATTRS[k]))) return -1;
    return 0;
}

/* A cls instance for the 52-byte record r (index i) already checked by check_tensor, name decoded
 * from strings; NULL with an exception set on failure. */
static PyObject *make_tensor(const unsigned char *r, Py_ssize_t i, const Py_buffer *sb, PyObject *cls,
                             PyObject *empty)
{
    int ndim = r[1];
    uint32_t name_off = le32(r + 44), name_len = le32(r + 48), sbits = le32(r + 36);
    float scale;
    memcpy(&scale, &sbits, 4);
    PyObject *name = PyUnicode_DecodeUTF8((const char *)sb->buf + name_off, (Py_ssize_t)name_len, "strict");
    if (!name) return NULL;
    PyObject *shape = PyTuple_New(ndim);
    /* object.__new__(cls): the instance without running __init__ (its attributes are set here) */
    PyObject *o = shape ? ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, empty, NULL) : NULL;
    if (!o) { Py_DECREF(name); Py_XDECREF(shape); return NULL; }
    for (int d = 0; d < ndim; d++) {
        PyObject *v = PyLong_FromLong((int32_t)le32(r + 4 + 4 * d));
        if (!v) { Py_DECREF(name); Py_DECREF(shape); Py_DECREF(o); return NULL; }
        PyTuple_SET_ITEM(shape, d, v);
    }
    PyObject **key = TENSOR_KEYS;
    if (set_attr(o, key[0], PyLong_FromSsize_t(i)) < 0 || set_attr(o, key[1], PyLong_FromLong(r[0])) < 0 ||
        set_attr(o, key[2], shape) < 0 || set_attr(o, key[3], PyLong_FromLong(r[2])) < 0 ||
        set_attr(o, key[4], PyLong_FromLong(r[3])) < 0 ||
        set_attr(o, key[5], PyLong_FromUnsignedLong(le32(r + 28))) < 0 ||
        set_attr(o, key[6], PyLong_FromUnsignedLong(le32(r + 32))) < 0 ||
        set_attr(o, key[7], PyFloat_FromDouble((double)scale)) < 0 ||
        set_attr(o, key[8], PyLong_FromLong((int32_t)le32(r + 40))) < 0 || set_attr(o, key[9], name) < 0) {
        Py_DECREF(o);
        return NULL;
    }
    return o;
}

/* 1 when every byte of b[0, n) is ASCII (so any name in it is valid UTF-8), 8 bytes at a time. */
static int all_ascii(const unsigned char *b, Py_ssize_t n)
{
    uint64_t acc = 0;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        acc |= w;
    }
    for (; i < n; i++) acc |= b[i];
    return !(acc & 0x8080808080808080ull);
}

/* 0 when record r passes every check of the reader (adding a constant's bytes to *cbytes), else 1;
 * ascii: the whole of STRINGS is ASCII (no name needs the UTF-8 decoder). */
static int check_tensor(const unsigned char *r, const Py_buffer *sb, long long c_len, long long arena_len,
                        const long *sizes, Py_ssize_t nsz, int max_dims, long long *cbytes, int ascii)
{
    int dtype = r[0], ndim = r[1], kind = r[2];
    if (dtype >= nsz || ndim > max_dims) return 1;
    long es = sizes[dtype];
    if (es <= 0) return 1;
    uint64_t elems = 1;
    for (int d = 0; d < ndim; d++) {
        int32_t dim = (int32_t)le32(r + 4 + 4 * d);
        if (dim < 0) return 1;
        elems *= (uint64_t)dim;  /* < 2^32 * 2^31: no wrap */
        if (elems > ((uint64_t)1 << 32)) return 1;  /* nbytes is 32-bit (no division: load time) */
    }
    uint64_t off = le32(r + 28), nb = le32(r + 32), name_off = le32(r + 44), name_len = le32(r + 48);
    if (elems * (uint64_t)es != nb || name_off + name_len > (uint64_t)sb->len) return 1;
    if (kind == 1) {
        if (off % 16 || off + nb > (uint64_t)c_len) return 1;
        *cbytes += (long long)nb;
    } else if (kind != 0 || off + nb > (uint64_t)arena_len) {
        return 1;
    }
    const unsigned char *nm = (const unsigned char *)sb->buf + name_off;
    if (!ascii && !all_ascii(nm, (Py_ssize_t)name_len)) {  /* the UTF-8 decoder decides */
        PyObject *name = PyUnicode_DecodeUTF8((const char *)nm, (Py_ssize_t)name_len, "strict");
        if (!name) { PyErr_Clear(); return 1; }
        Py_DECREF(name);
    }
    return 0;
}

/* tensor_table(..., cls, lazy=False): with lazy, every record is checked but no object is made:
 * (None, const_bytes), and tensor_at() makes record i's object when it is first asked for. */
static PyObject *mod_tensor_table(PyObject *m, PyObject *args)
{
    (void)m;
    Py_buffer tb, sb;
    long long c_len, arena_len;
    PyObject *sizes, *cls;
    int max_dims, lazy = 0;
    if (!PyArg_ParseTuple(args, "y*y*LLOiO|p", &tb, &sb, &c_len, &arena_len, &sizes, &max_dims, &cls, &lazy))
        return NULL;
    PyObject *out = NULL, *list = NULL, *empty = PyTuple_New(0);
    Py_ssize_t n = tb.len / 52, nsz = PySequence_Size(sizes);
    long long cbytes = 0;
    long sz[256];
    if (!empty || tensor_keys() < 0) goto done;
    if (tb.len % 52 || nsz < 0 || nsz > 256 || !PyType_Check(cls) || max_dims > 6) goto reject;
    for (Py_ssize_t d = 0; d < nsz; d++) {
        PyObject *szo = PySequence_GetItem(sizes, d);
        sz[d] = szo ? PyLong_AsLong(szo) : -1;
        Py_XDECREF(szo);
        if (sz[d] == -1 && PyErr_Occurred()) goto done;
    }
    int ascii = all_ascii((const unsigned char *)sb.buf, sb.len);
    for (Py_ssize_t i = 0; i < n; i++)
        if (check_tensor((const unsigned char *)tb.buf + 52 * i, &sb, c_len, arena_len, sz, nsz, max_dims, &cbytes,
                         ascii))
            goto reject;
    if (lazy) {
        out = Py_BuildValue("(OL)", Py_None, cbytes);
        goto done;
    }
    list = PyList_New(n);
    if (!list) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = make_tensor((const unsigned char *)tb.buf + 52 * i, i, &sb, cls, empty);
        if (!o) goto done;
        PyList_SET_ITEM(list, i, o);
    }
    out = Py_BuildValue("(OL)", list, cbytes);
    goto done;
reject:
    out = Py_None;
    Py_INCREF(out);
done:
    Py_XDECREF(list);
    Py_XDECREF(empty);
    PyBuffer_Release(&tb);
    PyBuffer_Release(&sb);
    return out;
}

/* tensor_at(tens, strings, i, cls): record i's object, of records tensor_table(lazy=True) checked. */
static PyObject *mod_tensor_at(PyObject *m, PyObject *args)
{
    (void)m;
    Py_buffer tb, sb;
    Py_ssize_t i;
    PyObject *cls, *out = NULL, *empty = PyTuple_New(0);
    if (!empty) return NULL;
    if (!PyArg_ParseTuple(args, "y*y*nO", &tb, &sb, &i, &cls)) { Py_DECREF(empty); return NULL; }
    if (tensor_keys() < 0) goto done;
    if (i < 0 || i >= tb.len / 52 || !PyType_Check(cls)) {
        PyErr_SetString(PyExc_IndexError, "tensor index out of range");
        goto done;
    }
    const unsigned char *r = (const unsigned char *)tb.buf + 52 * i;
    if ((uint64_t)le32(r + 44) + le32(r + 48) > (uint64_t)sb.len || r[1] > 6) {
        PyErr_SetString(PyExc_ValueError, "tensor record not checked");
        goto done;
    }
    out = make_tensor(r, i, &sb, cls, empty);
done:
    Py_DECREF(empty);
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

static PyObject *OP_KEYS[8];

/* The op records b[0, end) as a new list of cls instances; Py_None (a new reference) when one fails
 * a check; NULL with an exception set on failure. */
static PyObject *op_list(const unsigned char *b, Py_ssize_t end, long long nt, long long arena_len, PyObject *cls,
                         PyObject *names)
{
    PyObject *list = NULL, *empty = PyTuple_New(0);
    Py_ssize_t pos = 0;
    if (!empty) return NULL;
    for (int k = 0; k < 8; k++)
        if (!OP_KEYS[k] && !(OP_KEYS[k] = PyUnicode_InternFromString(OP_ATTRS[k]))) goto fail;
    if (!PyType_Check(cls) || !PyDict_Check(names)) goto reject;
    if (!(list = PyList_New(0))) goto fail;
    PyObject **key = OP_KEYS;
    while (pos < end) {
        if (end - pos < 16) goto reject;
        const unsigned char *h = b + pos;
        int opcode = h[0] | h[1] << 8, nin = h[2], nout = h[3], npar = h[4] | h[5] << 8;
        uint64_t sc_off = le32(h + 8), sc_bytes = le32(h + 12);
        Py_ssize_t cnt = nin + nout + npar;
        pos += 16;
        if ((end - pos) / 4 < cnt || sc_off + sc_bytes > (uint64_t)arena_len) goto reject;
        for (Py_ssize_t i = 0; i < nin + nout; i++) {
            int32_t tid = (int32_t)le32(b + pos + 4 * i);
            if (tid < -1 || tid >= nt) goto reject;
        }
        Py_ssize_t index = PyList_GET_SIZE(list);
        PyObject *o = ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, empty, NULL);
        if (!o) goto fail;
        if (PyList_Append(list, o) < 0) { Py_DECREF(o); goto fail; }
        Py_DECREF(o);
        PyObject *code = PyLong_FromLong(opcode);
        if (!code) goto fail;
        PyObject *name = PyDict_GetItemWithError(names, code);   /* borrowed */
        if (name) Py_INCREF(name);
        else if (!PyErr_Occurred()) name = PyUnicode_FromFormat("OP_%d", opcode);
        if (set_attr(o, key[0], PyLong_FromSsize_t(index)) < 0 || set_attr(o, key[1], code) < 0 ||
            set_attr(o, key[2], name) < 0 || set_attr(o, key[3], int32_tuple(b + pos, nin)) < 0 ||
            set_attr(o, key[4], int32_tuple(b + pos + 4 * nin, nout)) < 0 ||
            set_attr(o, key[5], int32_tuple(b + pos + 4 * (nin + nout), npar)) < 0 ||
            set_attr(o, key[6], PyLong_FromUnsignedLongLong(sc_off)) < 0 ||
            set_attr(o, key[7], PyLong_FromUnsignedLongLong(sc_bytes)) < 0)
            goto fail;
        pos += 4 * cnt;
    }
    Py_DECREF(empty);
    return list;
reject:
    Py_XDECREF(list);
    Py_DECREF(empty);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(list);
    Py_DECREF(empty);
    return NULL;
}

/* The op records b[0, end) checked as op_list does, without objects: (positions, opcodes) with
 * positions the record offsets as bytes of uint32 and opcodes a list; Py_None when one fails. */
static PyObject *op_check(const unsigned char *b, Py_ssize_t end, long long nt, long long arena_len)
{
    Py_ssize_t pos = 0, count = 0, cap = 64;
    uint32_t *at = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)cap);
    PyObject *out = NULL, *codes = NULL;
    if (!at) return PyErr_NoMemory();
    while (pos < end) {
        if (end - pos < 16) goto reject;
        const unsigned char *h = b + pos;
        int nin = h[2], nout = h[3], npar = h[4] | h[5] << 8;
        uint64_t sc_off = le32(h + 8), sc_bytes = le32(h + 12);
        Py_ssize_t cnt = nin + nout + npar;
        if ((end - pos - 16) / 4 < cnt || sc_off + sc_bytes > (uint64_t)arena_len || pos > (Py_ssize_t)UINT32_MAX)
            goto reject;
        for (Py_ssize_t i = 0; i < nin + nout; i++) {
            int32_t tid = (int32_t)le32(h + 16 + 4 * i);
            if (tid < -1 || tid >= nt) goto reject;
        }
        if (count == cap) {
            uint32_t *more = (uint32_t *)realloc(at, sizeof(uint32_t) * (size_t)(cap *= 2));
            if (!more) { free(at); return PyErr_NoMemory(); }
            at = more;
        }
        at[count++] = (uint32_t)pos;
        pos += 16 + 4 * cnt;
    }
    if (!(codes = PyList_New(count))) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *v = PyLong_FromLong(b[at[i]] | b[at[i] + 1] << 8);
        if (!v) goto done;
        PyList_SET_ITEM(codes, i, v);
    }
    out = Py_BuildValue("(y#O)", (const char *)at, (Py_ssize_t)(count * sizeof(uint32_t)), codes);
    goto done;
reject:
    out = Py_None;
    Py_INCREF(out);
done:
    Py_XDECREF(codes);
    free(at);
    return out;
}

/* op_at(ops, positions, i, cls, names): op i's object, of records op_check accepted. */
static PyObject *mod_op_at(PyObject *m, PyObject *args)
{
    (void)m;
    Py_buffer ob, pb;
    Py_ssize_t i;
    PyObject *cls, *names, *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*nOO", &ob, &pb, &i, &cls, &names)) return NULL;
    if (i < 0 || i >= pb.len / 4) {
        PyErr_SetString(PyExc_IndexError, "op index out of range");
        goto done;
    }
    uint32_t pos = le32((const unsigned char *)pb.buf + 4 * i);
    const unsigned char *h = (const unsigned char *)ob.buf + pos;
    if ((Py_ssize_t)pos + 16 > ob.len ||
        (ob.len - pos - 16) / 4 < (Py_ssize_t)(h[2] + h[3] + (h[4] | h[5] << 8))) {
        PyErr_SetString(PyExc_ValueError, "op record not checked");
        goto done;
    }
    /* one record through op_list: same objects as the eager table (its index fixed up after) */
    PyObject *one = op_list(h, 16 + 4 * (Py_ssize_t)(h[2] + h[3] + (h[4] | h[5] << 8)), INT32_MAX, (long long)1 << 40,
                            cls, names);
    if (!one) goto done;
    if (one == Py_None || PyList_GET_SIZE(one) != 1) {
        Py_DECREF(one);
        PyErr_SetString(PyExc_ValueError, "op record not checked");
        goto done;
    }
    out = PyList_GET_ITEM(one, 0);
    Py_INCREF(out);
    Py_DECREF(one);
    if (set_attr(out, OP_KEYS[0], PyLong_FromSsize_t(i)) < 0) Py_CLEAR(out);
done:
    PyBuffer_Release(&ob);
    PyBuffer_Release(&pb);
    return out;
}

static PyObject *mod_op_table(PyObject *m, PyObject *args)
{
    (void)m;
    Py_buffer ob;
    long long nt, arena_len;
    PyObject *cls, *names;
    if (!PyArg_ParseTuple(args, "y*LLOO", &ob, &nt, &arena_len, &cls, &names)) return NULL;
    PyObject *out = op_list((const unsigned char *)ob.buf, ob.len, nt, arena_len, cls, names);
    PyBuffer_Release(&ob);
    return out;
}

#endif
