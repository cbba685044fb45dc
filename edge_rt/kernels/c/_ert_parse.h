/* The reader's whole-file structural parse in one call (parse_model), included by _ert.c after
 * _ert_load.h, whose record checks it reuses: load time (edge_rt/reader.py _from_c). */
#ifndef ERT_PARSE_H
#define ERT_PARSE_H

/* parse_model(buf, version, sizes, max_dims, op_cls, names, required): every structural check of
 * reader.parse (header, section directory, PLAN, TENSORS, OPS, IO; not the CRC and META, which the
 * reader does itself) in one call, load time. Returns (version, header crc, {id: (offset, length)},
 * (arena, lower bound, state bytes), PLAN bytes, plan entries, consumed inputs (the positions
 * reader.consumed_inputs returns), tensor records bytes, strings bytes,
 * constant bytes, op records bytes, their offsets (uint32 bytes), opcodes [int], inputs [int],
 * outputs [int]); None when anything fails a check: the reader's own path then names the
 * problem. Tensor and op objects are made on first use (reader.Lazy: tensor_at, op_at). */
static PyObject *mod_parse_model(PyObject *m, PyObject *args)
{
    (void)m;
    Py_buffer fb;
    long version;
    int max_dims;
    PyObject *sizes, *cls, *names, *required;
    if (!PyArg_ParseTuple(args, "y*lOiOOO", &fb, &version, &sizes, &max_dims, &cls, &names, &required)) return NULL;
    const unsigned char *b = (const unsigned char *)fb.buf;
    Py_ssize_t n = fb.len;
    PyObject *out = NULL, *secs = NULL, *plan = NULL, *ops = NULL, *ins = NULL, *outs = NULL;
    uint64_t off_of[9] = {0}, len_of[9] = {0};
    int have[9] = {0};
    long sz[256];
    Py_ssize_t nsz = PySequence_Size(sizes);
    if (nsz < 0) goto done;
    if (nsz > 256 || max_dims > 6) goto reject;
    for (Py_ssize_t d = 0; d < nsz; d++) {
        PyObject *szo = PySequence_GetItem(sizes, d);
        sz[d] = szo ? PyLong_AsLong(szo) : -1;
        Py_XDECREF(szo);
        if (sz[d] == -1 && PyErr_Occurred()) goto done;
    }
    /* header (format.HEADER_FMT) */
    if (n < 32 || memcmp(b, "ERT\x01", 4) || (b[4] | b[5] << 8) != version || (b[6] | b[7] << 8) != 32 ||
        le32(b + 8) != (uint64_t)n)
        goto reject;
    uint32_t crc = le32(b + 12), nsec = le32(b + 16);
    uint64_t dir_end = 32 + 12 * (uint64_t)nsec;
    if (nsec > 64 || dir_end > (uint64_t)n) goto reject;
    if (!(secs = PyDict_New())) goto done;
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *r = b + 32 + 12 * i;
        uint64_t sid = le32(r), off = le32(r + 4), len = le32(r + 8);
        if (off < dir_end || off + len > (uint64_t)n || off % 16) goto reject;
        PyObject *k = PyLong_FromUnsignedLongLong(sid), *v = PyTuple_New(2);
        if (v) {
            PyTuple_SET_ITEM(v, 0, PyLong_FromUnsignedLongLong(off));
            PyTuple_SET_ITEM(v, 1, PyLong_FromUnsignedLongLong(len));
        }
        if (!k || !v || !PyTuple_GET_ITEM(v, 0) || !PyTuple_GET_ITEM(v, 1) || PyDict_SetItem(secs, k, v) < 0) {
            Py_XDECREF(k);
            Py_XDECREF(v);
            goto done;
        }
        Py_DECREF(k);
        Py_DECREF(v);
        if (sid < 9) { have[sid] = 1; off_of[sid] = off; len_of[sid] = len; }
    }
    Py_ssize_t nreq = PySequence_Size(required);
    if (nreq < 0) goto done;
    for (Py_ssize_t i = 0; i < nreq; i++) {
        PyObject *o = PySequence_GetItem(required, i);
        long sid = o ? PyLong_AsLong(o) : -1;
        Py_XDECREF(o);
        if (sid == -1 && PyErr_Occurred()) goto done;
        if (sid < 1 || sid > 7 || !have[sid]) goto reject;
    }
    /* PLAN (format.PLAN_FMT, PLAN_ENTRY_FMT) */
    const unsigned char *pl = b + off_of[7];
    uint64_t p_len = len_of[7];
    if (p_len < 16) goto reject;
    uint64_t arena = le32(pl), lower = le32(pl + 4), nplan = le32(pl + 8), state = le32(pl + 12);
    if (state > arena || 16 + 20 * nplan > p_len) goto reject;
    /* TENSORS, checked against STRINGS, CONSTS and the arena */
    const unsigned char *tb = b + off_of[3];
    uint64_t t_len = len_of[3];
    long long cbytes = 0;
    Py_buffer sb;
    sb.buf = (void *)(b + off_of[2]);
    sb.len = (Py_ssize_t)len_of[2];
    if (t_len % 52) goto reject;
    Py_ssize_t nt = (Py_ssize_t)(t_len / 52);
    int ascii = all_ascii((const unsigned char *)sb.buf, sb.len);
    for (Py_ssize_t i = 0; i < nt; i++)
        if (check_tensor(tb + 52 * i, &sb, (long long)len_of[4], (long long)arena, sz, nsz, max_dims, &cbytes, ascii))
            goto reject;
    /* OPS: checked; objects made on first use (op_at) */
    ops = op_check(b + off_of[5], (Py_ssize_t)len_of[5], nt, (long long)arena);
    if (!ops) goto done;
    if (ops == Py_None) goto reject;
    /* IO: ids of arena tensors */
    const unsigned char *io = b + off_of[6];
    uint64_t io_len = len_of[6];
    if (io_len < 8) goto reject;
    uint64_t nin = le32(io), nout = le32(io + 4);
    if (8 + 4 * (nin + nout) > io_len) goto reject;
    if (!(ins = PyList_New((Py_ssize_t)nin)) || !(outs = PyList_New((Py_ssize_t)nout)) || !(plan = PyList_New(0)))
        goto done;
    for (uint64_t i = 0; i < nin + nout; i++) {
        int32_t tid = (int32_t)le32(io + 8 + 4 * i);
        if (tid < 0 || tid >= nt || tb[52 * tid + 2] != 0) goto reject;
        PyObject *v = PyLong_FromLong(tid);
        if (!v) goto done;
        if (i < nin) PyList_SET_ITEM(ins, (Py_ssize_t)i, v);
        else PyList_SET_ITEM(outs, (Py_ssize_t)(i - nin), v);
    }
    /* reader.consumed_inputs: the inputs whose bytes another plan entry overlaps in address */
    for (uint64_t i = 0; i < nin; i++) {
        int32_t tid = (int32_t)le32(io + 8 + 4 * i);
        uint64_t lo = le32(tb + 52 * tid + 28), hi = lo + le32(tb + 52 * tid + 32);
        for (uint64_t j = 0; j < nplan; j++) {
            const unsigned char *e = pl + 16 + 20 * j;
            uint64_t eo = le32(e + 4);
            if ((int32_t)le32(e) != tid && eo < hi && lo < eo + le32(e + 8)) {
                PyObject *v = PyLong_FromUnsignedLongLong(i);
                if (!v || PyList_Append(plan, v) < 0) { Py_XDECREF(v); goto done; }
                Py_DECREF(v);
                break;
            }
        }
    }
    out = Py_BuildValue("(lI O (KKK) y# K N y# y# L y# O O O O)", version, crc, secs, arena, lower, state,
                        (const char *)pl, (Py_ssize_t)p_len, nplan, PyList_AsTuple(plan), (const char *)tb, (Py_ssize_t)t_len, (const char *)sb.buf, sb.len, cbytes,
                        (const char *)(b + off_of[5]), (Py_ssize_t)len_of[5], PyTuple_GET_ITEM(ops, 0),
                        PyTuple_GET_ITEM(ops, 1), ins, outs);
    goto done;
reject:
    out = Py_None;
    Py_INCREF(out);
done:
    Py_XDECREF(secs);
    Py_XDECREF(plan);
    Py_XDECREF(ops);
    Py_XDECREF(ins);
    Py_XDECREF(outs);
    PyBuffer_Release(&fb);
    return out;
}

#endif
