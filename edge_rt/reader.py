# Device-side reader of the .ert format: validates the whole file once and exposes the
# tables as plain objects. Constants are not copied: Model.consts is a memoryview into
# the caller's buffer (an mmap on CPython), or, with parse_file(), they stay in the file
# and the interpreter streams each op's constants in just before it runs (weight_plan). Every inconsistency raises ModelFormatError
# naming the field; nothing here may raise IndexError/struct.error/KeyError to a user.
import struct
import binascii

from . import format as F
from .errors import ModelFormatError

try:  # CPython with the C kernels built: tensor and op tables are read in C (load time); same checks
    from .kernels.c._ert import crc_fold as _c_crc_fold, op_table as _c_op_table, tensor_table as _c_tensor_table
    from .kernels.c._ert import op_at as _c_op_at, tensor_at as _c_tensor_at
    from .kernels.c._ert import parse_model as _c_parse_model
    import json as _json
    _json_scan = _json.JSONDecoder().scan_once  # json.loads without its Python layers (load time)
except ImportError:
    _c_tensor_table = _c_op_table = _c_crc_fold = _c_tensor_at = _c_op_at = _c_parse_model = None
# the C reader hard-codes the record layouts (checked here once, not at every load)
if (F.TENSOR_SIZE, F.ALIGN, F.KIND_CONST, F.KIND_ARENA, F.OP_FMT, F.PLAN_ENTRY_FMT, F.HEADER_FMT, F.MAGIC) != (
        52, 16, 1, 0, "<HBBHHII", "<iIIii", "<4sHHIIII8x", b"ERT\x01"):
    _c_parse_model = None
_SIZES = tuple(F.DTYPE_SIZES.get(i, 0) for i in range(max(F.DTYPE_SIZES) + 1))


class TensorInfo:
    def __init__(self, index, rec, name):
        dtype, ndim, kind, flags = rec[0], rec[1], rec[2], rec[3]
        self.index = index
        self.dtype = dtype
        self.shape = tuple(rec[4:4 + ndim])
        self.kind = kind
        self.flags = flags
        self.offset = rec[10]
        self.nbytes = rec[11]
        self.scale = rec[12]
        self.zero_point = rec[13]
        self.name = name

    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


class Lazy:
    """Model.tensors / Model.ops when the C reader checked every record (load time: a C-packed
    file's load makes the objects of its IO tensors only): a read-only sequence whose item i is
    made by make(i) the first time it is asked for, then kept."""

    def __init__(self, n, make):
        self._make = make
        self._made = [None] * n

    def __len__(self):
        return len(self._made)

    def __getitem__(self, i):
        made = self._made
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(made)))]
        t = made[i]  # IndexError past the end, as a list
        if t is None:
            t = made[i] = self._make(i % len(made))
        return t

    def __iter__(self):
        for i in range(len(self._made)):
            yield self[i]

    def __eq__(self, other):
        return list(self) == list(other)


def _tensors(recs, names, n):
    return Lazy(n, lambda i: _c_tensor_at(recs, names, i, TensorInfo))


def _ops(raw, at, n):
    return Lazy(n, lambda i: _c_op_at(raw, at, i, OpInfo, F.OP_NAMES))


class OpInfo:
    def __init__(self, index, opcode, inputs, outputs, params, scratch_offset, scratch_bytes):
        self.index = index
        self.opcode = opcode
        self.name = F.OP_NAMES.get(opcode, "OP_%d" % opcode)
        self.inputs = inputs
        self.outputs = outputs
        self.params = params
        self.scratch_offset = scratch_offset
        self.scratch_bytes = scratch_bytes


class Model:
    """A parsed, validated .ert file. The scalar fields default at class level (the C reader's
    load sets only what it reads, _from_c); the tables are set per instance."""
    version = 0
    total_length = 0
    crc32 = 0
    opcodes = None         # each op's opcode (load time: no op object needed for it)
    consumed = None        # consumed_inputs(), when the C reader computed it
    arena_bytes = 0
    lower_bound = 0
    state_bytes = 0        # persistent state region [0, state_bytes) of the arena
    state_init = None      # TensorInfo of the init image copied into it (META "state")
    consts = None          # memoryview of CONSTS; None when streamed (parse_file)
    consts_offset = 0      # file offset of CONSTS (streamed constants)
    constant_bytes = 0
    cprog = None           # memoryview of the optional CPROG section (parse() only)
    table_crc = None       # with it: CRC-32 of TENSORS then OPS (what its records came from)

    def __init__(self):
        self.sections = {}
        self.meta = {}
        self.tensors = []
        self.ops = []
        self.inputs = []
        self.outputs = []
        self.plan = []


def _fail(msg):
    raise ModelFormatError(msg)


def _unpack(fmt, buf, off, end, what):
    if off < 0 or off + struct.calcsize(fmt) > end:
        _fail("%s at byte %d runs past the end of its section (byte %d)" % (what, off, end))
    return struct.unpack_from(fmt, buf, off)


def _header(hdr, n):
    """Check the 32-byte header against a file of n bytes; (version, total, crc, nsec)."""
    if n < F.HEADER_SIZE:
        _fail("file is %d bytes, shorter than the %d-byte header (truncated?)" % (n, F.HEADER_SIZE))
    magic, version, hsize, total, crc, nsec, flags = struct.unpack_from(F.HEADER_FMT, hdr, 0)
    if magic != F.MAGIC:
        if bytes(hdr[4:8]) == b"TFL3":  # the TFLite flatbuffer file identifier
            _fail("this is a TFLite model, not an .ert: pack it first on the host with "
                  "`edge-rt pack MODEL.tflite -o MODEL.ert [--board NAME]`")
        _fail("bad magic %r at byte 0: not an edge_rt .ert file (expected %r)" % (bytes(magic), F.MAGIC))
    if version != F.VERSION:
        _fail("format version %d is not supported by this runtime (supports %d); repack the model"
              % (version, F.VERSION))
    if hsize != F.HEADER_SIZE:
        _fail("header size field is %d, expected %d" % (hsize, F.HEADER_SIZE))
    if total != n:
        if total > n:
            _fail("file is truncated: header says %d bytes, have %d" % (total, n))
        _fail("file has %d bytes but header says %d (trailing data or corrupted length)" % (n, total))
    return version, total, crc, nsec


def _check_crc(crc, actual):
    if actual & 0xFFFFFFFF != crc:
        _fail("CRC32 mismatch: header 0x%08x, payload 0x%08x (file corrupted)" % (crc, actual & 0xFFFFFFFF))


def _directory(m, dirbuf, nsec, n):
    dir_end = F.HEADER_SIZE + nsec * F.SECTION_SIZE
    if nsec > 64 or dir_end > n:
        _fail("section directory (%d sections) runs past the end of the file" % nsec)
    for i in range(nsec):
        sid, off, length = struct.unpack_from(F.SECTION_FMT, dirbuf, F.HEADER_SIZE + i * F.SECTION_SIZE)
        name = F.SECTION_NAMES.get(sid, "id %d" % sid)
        if off < dir_end or off + length > n:
            _fail("section %s [%d, %d) lies outside the file's %d bytes" % (name, off, off + length, n))
        if off % F.ALIGN:
            _fail("section %s at byte %d is not %d-byte aligned" % (name, off, F.ALIGN))
        m.sections[sid] = (off, length)
    for sid in F.REQUIRED_SECTIONS:
        if sid not in m.sections:
            _fail("required section %s is missing" % F.SECTION_NAMES[sid])


def _crc32(mv):
    """binascii.crc32(mv); on x86-64 with the C extension the bulk is folded with carry-less
    multiplies first (_ert.crc_fold: about 5x zlib's speed, 15x with AVX-512 VPCLMULQDQ; load time of a
    large file)."""
    if _c_crc_fold is not None:
        r = _c_crc_fold(mv)
        if r is not None:
            return binascii.crc32(mv[r[1]:], binascii.crc32(r[0], 0xFFFFFFFF))
    return binascii.crc32(mv)


def parse(buf, check_crc=True):
    """Parse and validate an .ert image held in any buffer (bytes, bytearray, mmap)."""
    mv = memoryview(buf)
    if _c_parse_model is not None:
        got = _c_parse_model(mv, F.VERSION, _SIZES, F.MAX_DIMS, OpInfo, F.OP_NAMES, F.REQUIRED_SECTIONS)
        if got is not None:
            return _from_c(mv, got, check_crc)
    n = len(mv)
    m = Model()
    m.version, m.total_length, m.crc32, nsec = _header(mv, n)
    if check_crc:
        _check_crc(m.crc32, _crc32(mv[F.CRC_START:]))
    _directory(m, mv, nsec, n)
    c_off, c_len = m.sections[F.SEC_CONSTS]
    m.consts = mv[c_off:c_off + c_len]
    section = lambda sid: mv[m.sections[sid][0]:m.sections[sid][0] + m.sections[sid][1]]  # noqa: E731
    _tables(m, section)
    if F.SEC_CPROG in m.sections:
        m.cprog = section(F.SEC_CPROG)
        m.table_crc = binascii.crc32(section(F.SEC_OPS), binascii.crc32(section(F.SEC_TENSORS)))
    return m


def _from_c(mv, got, check_crc):
    """The Model of a file the C reader found structurally sound (parse_model): its tables, then
    what the reader checks in Python (CRC, META, state)."""
    m = Model.__new__(Model)  # every table is set here
    (m.version, m.crc32, m.sections, (m.arena_bytes, m.lower_bound, m.state_bytes), plan, nplan, m.consumed, recs,
     names, m.constant_bytes, ops, at, m.opcodes, m.inputs, m.outputs) = got
    m.plan = Lazy(nplan, lambda i: struct.unpack_from(F.PLAN_ENTRY_FMT, plan, F.PLAN_SIZE + i * F.PLAN_ENTRY_SIZE))
    m.total_length = len(mv)
    if check_crc:
        _check_crc(m.crc32, _crc32(mv[F.CRC_START:]))
    sec = m.sections
    off, n = sec[F.SEC_META]
    try:
        text = bytes(mv[off:off + n]).decode()
        try:  # as the writer writes it: one JSON value, nothing around it
            m.meta, end = _json_scan(text, 0)
        except Exception:
            end = -1
        if end != len(text):
            m.meta = _json.loads(text)
    except Exception:
        _fail("META section is not valid UTF-8 JSON")
    m.tensors = _tensors(recs, names, len(recs) // F.TENSOR_SIZE)
    m.ops = _ops(ops, at, len(m.opcodes))
    off, n = sec[F.SEC_CONSTS]
    m.consts = mv[off:off + n]
    _state(m)
    if F.SEC_CPROG in sec:
        off, n = sec[F.SEC_CPROG]
        m.cprog = mv[off:off + n]
        m.table_crc = binascii.crc32(ops, _crc32(memoryview(recs)))  # = crc32(ops, crc32(recs)), folded
    return m


def parse_file(f, check_crc=True, chunk=512):
    """Parse an .ert file open for binary reading without loading CONSTS (streamed
    constants): only the tables are read; Model.consts is None and Model.consts_offset is
    the file offset of CONSTS. The CRC is computed over `chunk`-byte reads."""
    n = f.seek(0, 2)
    f.seek(0)
    head = f.read(F.HEADER_SIZE)
    m = Model()
    m.version, m.total_length, m.crc32, nsec = _header(head, n)
    if check_crc:
        buf = bytearray(chunk)
        mvb = memoryview(buf)
        f.seek(F.CRC_START)
        crc = 0
        while True:
            k = f.readinto(buf)
            if not k:
                break
            crc = binascii.crc32(mvb[:k] if k < chunk else buf, crc)
        _check_crc(m.crc32, crc)
    dir_end = F.HEADER_SIZE + nsec * F.SECTION_SIZE
    f.seek(0)
    _directory(m, f.read(min(dir_end, n)) if nsec <= 64 else b"", nsec, n)
    m.consts_offset = m.sections[F.SEC_CONSTS][0]

    def section(sid):
        off, length = m.sections[sid]
        f.seek(off)
        return f.read(length)
    _tables(m, section)
    return m


def weight_plan(m):
    """Streamed constants: per op, [(tensor id, offset in the weight buffer)] for each
    distinct constant input, packed in input order, each 16-byte aligned; plus the buffer's size
    (the largest op's total). A file whose META says resident_consts (pack: small constants of a
    viper file) keeps all of them: each its own slot, the size their total, read once at load.
    Deterministic, so the host reports the same figure."""
    per_op = []
    size = 0
    if m.meta.get("resident_consts"):
        # the whole of the constants stays in the buffer (read once at load): one slot per
        # distinct constant, in order of first use
        at = {}
        for op in m.ops:
            slots = []
            for tid in op.inputs:
                t = m.tensors[tid] if tid >= 0 else None
                if t is None or t.kind != F.KIND_CONST or t.nbytes == 0:
                    continue
                if tid not in at:
                    at[tid] = size
                    size += F.align(t.nbytes)
                if (tid, at[tid]) not in slots:
                    slots.append((tid, at[tid]))
            per_op.append(slots)
        return per_op, size
    for op in m.ops:
        pos = 0
        slots = []
        seen = []
        for tid in op.inputs:
            if tid < 0:
                continue
            t = m.tensors[tid]
            if t.kind != F.KIND_CONST or t.nbytes == 0 or tid in seen:
                continue
            seen.append(tid)
            slots.append((tid, pos))
            pos += F.align(t.nbytes)
        per_op.append(slots)
        if pos > size:
            size = pos
    return per_op, size


def _tables(m, section):
    """Parse every table section; section(sid) returns that section's bytes."""
    try:
        import json
        m.meta = json.loads(bytes(section(F.SEC_META)).decode())
    except Exception:
        _fail("META section is not valid UTF-8 JSON")

    strings = section(F.SEC_STRINGS)
    s_len = len(strings)
    c_len = m.sections[F.SEC_CONSTS][1]

    plan = section(F.SEC_PLAN)
    p_len = len(plan)
    arena, lower, nplan, state = _unpack(F.PLAN_FMT, plan, 0, p_len, "PLAN header")
    m.arena_bytes = arena
    m.lower_bound = lower
    m.state_bytes = state
    if state > arena:
        _fail("PLAN: state region of %d bytes is larger than the %d-byte arena" % (state, arena))
    if F.PLAN_SIZE + nplan * F.PLAN_ENTRY_SIZE > p_len:
        _unpack(F.PLAN_ENTRY_FMT, plan, F.PLAN_SIZE + (p_len - F.PLAN_SIZE) // F.PLAN_ENTRY_SIZE * F.PLAN_ENTRY_SIZE,
                p_len, "PLAN entry %d" % ((p_len - F.PLAN_SIZE) // F.PLAN_ENTRY_SIZE))  # raises
    unpack_from = struct.unpack_from
    fmt, size = F.PLAN_ENTRY_FMT, F.PLAN_ENTRY_SIZE
    m.plan = [unpack_from(fmt, plan, F.PLAN_SIZE + i * size) for i in range(nplan)]
    plan = None

    tens = section(F.SEC_TENSORS)
    t_len = len(tens)
    if t_len % F.TENSOR_SIZE:
        _fail("TENSORS section length %d is not a multiple of %d" % (t_len, F.TENSOR_SIZE))
    # Load time matters (file to ready-to-invoke): the C reader when built (None when a record
    # fails a check), else one pass with every check folded into a few comparisons;
    # _tensor_problem() names what is wrong only when one fails.
    got = None
    if _c_tensor_table is not None and F.TENSOR_SIZE == 52 and F.ALIGN == 16 and F.KIND_CONST == 1 and not F.KIND_ARENA:
        got = _c_tensor_table(tens, strings, c_len, arena, _SIZES, F.MAX_DIMS, TensorInfo, _c_tensor_at is not None)
    if got is not None:
        m.tensors, m.constant_bytes = got
        if m.tensors is None:  # checked, objects made on first use
            m.tensors = _tensors(bytes(tens), bytes(strings), t_len // F.TENSOR_SIZE)
    else:
        _tensor_loop(m, tens, t_len, strings, s_len, c_len, arena)
    tens = strings = None
    nt = len(m.tensors)
    unpack_from = struct.unpack_from

    ops = section(F.SEC_OPS)
    got = None
    if _c_op_table is not None and F.OP_FMT == "<HBBHHII":
        got = _c_op_table(ops, nt, arena, OpInfo, F.OP_NAMES)
    if got is not None:
        m.ops = got
        ops = ()  # nothing left for the Python loop, which otherwise reads (and names a bad record)
    end = len(ops)
    pos = 0
    op_fmt, op_size, names = F.OP_FMT, F.OP_SIZE, F.OP_NAMES
    while pos < end:
        i = len(m.ops)
        if pos + op_size > end:
            _unpack(op_fmt, ops, pos, end, "op %d" % i)  # raises
        opcode, nin, nout, npar, _, sc_off, sc_bytes = unpack_from(op_fmt, ops, pos)
        pos += op_size
        cnt = nin + nout + npar
        if pos + 4 * cnt > end:
            _unpack("<%di" % cnt, ops, pos, end, "op %d operands" % i)  # raises
        vals = unpack_from("<%di" % cnt, ops, pos)
        pos += 4 * cnt
        ids = vals[:nin + nout]
        if (ids and (min(ids) < -1 or max(ids) >= nt)) or sc_off + sc_bytes > arena:
            name = names.get(opcode, "opcode %d" % opcode)
            for tid in ids:
                if tid < -1 or tid >= nt:
                    _fail("op %d (%s): tensor id %d out of range (model has %d tensors)" % (i, name, tid, nt))
            _fail("op %d (%s): scratch [%d, %d) lies outside the %d-byte arena" % (
                i, name, sc_off, sc_off + sc_bytes, arena))
        m.ops.append(OpInfo(i, opcode, vals[:nin], vals[nin:nin + nout], vals[nin + nout:],
                            sc_off, sc_bytes))
    ops = None

    io = section(F.SEC_IO)
    io_len = len(io)
    nin, nout = _unpack("<II", io, 0, io_len, "IO header")
    ids = _unpack("<%di" % (nin + nout), io, 8, io_len, "IO tensor ids")
    for tid in ids:
        if tid < 0 or tid >= nt:
            _fail("IO: tensor id %d out of range (model has %d tensors)" % (tid, nt))
        if m.tensors[tid].kind != F.KIND_ARENA:  # set_input/get_output address the arena
            _fail("IO: tensor %d (%s) is not in the arena" % (tid, m.tensors[tid].name))
    m.inputs = list(ids[:nin])
    m.outputs = list(ids[nin:])
    m.opcodes = [op.opcode for op in m.ops]
    _state(m)


def _tensor_loop(m, tens, t_len, strings, s_len, c_len, arena):
    """The tensor table in Python (MicroPython, or no C extension): m.tensors, m.constant_bytes."""
    unpack_from = struct.unpack_from
    names = bytes(strings)
    dsz = F.DTYPE_SIZES
    maxd = F.MAX_DIMS
    const, in_arena = F.KIND_CONST, F.KIND_ARENA
    fmt, size = F.TENSOR_FMT, F.TENSOR_SIZE
    tensors = m.tensors
    cbytes = 0
    for i in range(t_len // size):
        rec = unpack_from(fmt, tens, i * size)
        name_off, name_len = rec[14], rec[15]
        try:
            name = names[name_off:name_off + name_len].decode()
        except UnicodeError:
            name = None
        t = TensorInfo(i, rec, name)
        ndim, kind, off, nb = rec[1], rec[2], rec[10], rec[11]
        n = 1
        for d in t.shape:
            if d < 0:
                n = -1
                break
            n *= d
        es = dsz.get(rec[0], 0)
        ok = (name is not None and name_off + name_len <= s_len and es and ndim <= maxd and n >= 0
              and nb == n * es and off + nb <= (c_len if kind == const else arena))
        if kind == const:
            ok = ok and not off % F.ALIGN
            cbytes += nb
        elif kind != in_arena:
            ok = False
        if not ok:
            _tensor_problem(i, rec, t, names, s_len, c_len, arena)
        tensors.append(t)
    m.constant_bytes = cbytes


def _tensor_problem(i, rec, t, names, s_len, c_len, arena):
    """Raise the ModelFormatError naming what is wrong with tensor record i (its fast check failed)."""
    name_off, name_len = rec[14], rec[15]
    if name_off + name_len > s_len:
        _fail("tensor %d: name [%d, %d) lies outside STRINGS" % (i, name_off, name_off + name_len))
    if t.name is None:
        _fail("tensor %d: name is not valid UTF-8" % i)
    where = "tensor %d (%s)" % (i, t.name)
    if t.dtype not in F.DTYPE_SIZES:
        _fail("%s: unknown dtype code %d" % (where, t.dtype))
    if rec[1] > F.MAX_DIMS:
        _fail("%s: %d dimensions, at most %d" % (where, rec[1], F.MAX_DIMS))
    for d in t.shape:
        if d < 0:
            _fail("%s: negative dimension in shape %s" % (where, t.shape))
    if t.nbytes != t.size() * F.DTYPE_SIZES[t.dtype]:
        _fail("%s: %d bytes does not match shape %s of %s" % (
            where, t.nbytes, t.shape, F.DTYPE_NAMES[t.dtype]))
    if t.kind == F.KIND_CONST:
        limit, region = c_len, "CONSTS"
        if t.offset % F.ALIGN:
            _fail("%s: constant at %d is not %d-byte aligned" % (where, t.offset, F.ALIGN))
    elif t.kind == F.KIND_ARENA:
        limit, region = arena, "the arena"
    else:
        _fail("%s: unknown kind %d" % (where, t.kind))
    _fail("%s: bytes [%d, %d) lie outside %s (%d bytes)" % (
        where, t.offset, t.offset + t.nbytes, region, limit))


def consumed_inputs(m):
    """Positions of the graph inputs whose bytes the plan gives to another buffer (a tensor or
    an op's scratch) once the op reading them has run: after an invoke() such an input holds
    garbage until it is set again. Every buffer overlapping an input in address is disjoint
    from it in time, so any address overlap means the input is overwritten."""
    if m.consumed is not None:
        return m.consumed
    out = []
    for i in range(len(m.inputs)):
        tid = m.inputs[i]
        t = m.tensors[tid]
        lo, hi = t.offset, t.offset + t.nbytes
        for e in m.plan:
            if e[0] != tid and e[1] < hi and lo < e[1] + e[2]:
                out.append(i)
                break
    return tuple(out)


def _state(m):
    """Check META "state" against the PLAN's state region: the init image is a uint8 constant
    of exactly state_bytes bytes."""
    st = m.meta.get("state")
    if not m.state_bytes and not st:
        return
    if not isinstance(st, dict) or st.get("bytes") != m.state_bytes or st.get("offset", 0) != 0:
        _fail("META state does not describe the PLAN's %d-byte state region" % m.state_bytes)
    tid = st.get("init")
    if not isinstance(tid, int) or not 0 <= tid < len(m.tensors):
        _fail("META state: init image tensor %r out of range" % (tid,))
    t = m.tensors[tid]
    if t.kind != F.KIND_CONST or t.dtype != F.DT_UINT8 or t.nbytes != m.state_bytes:
        _fail("META state: tensor %d is not a %d-byte uint8 constant init image" % (tid, m.state_bytes))
    m.state_init = t
