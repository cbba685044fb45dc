# Compiled C kernel set (C99 sources beside this file, built into the _ert extension by
# setup.py). Each KERNELS entry binds one op into a record spec (opcode, params, operands);
# the Interpreter hands each run of consecutive C ops to program(), which validates every
# record in C (runner.c: ert_op_init) and returns one callable running them all with the GIL
# released. Importing this package raises ImportError when the extension is not built.
# Load time: the packer stores the binders' records in the file (CPROG section, compiler/cprog.py);
# records() says whether this file's may stand in for the binders here.
import binascii
import struct

from ... import format as F
from ...errors import ModelFormatError
from . import _ert  # noqa: F401  (ImportError here: the interpreter reports the set missing)
from . import bind as _b
from .ops import LAYOUT, OPS

NAME = "c"
KERNELS = {code: _b.BINDERS[code] for code in OPS}
FEATURES = _ert.features()
aligned = _ert.aligned  # the constants on a 64-byte boundary (a copy only when they are not)


def simd_path(features=None):
    """The SIMD path the kernels take on this CPU (or under a feature mask)."""
    return _ert.simd_path(FEATURES if features is None else features & FEATURES)


def _binders_digest():
    """CRC-32 of the binders' sources (bind*.py): a CPROG section is the binders' output, valid only
    for the binders that wrote it. None (never use a stored section) when the sources are not
    readable (a frozen or .pyc-only install)."""
    try:
        import os
        here = os.path.dirname(os.path.abspath(_b.__file__))
        crc = 0
        for name in sorted(os.listdir(here)):
            if name.startswith("bind") and name.endswith(".py"):
                with open(os.path.join(here, name), "rb") as f:
                    crc = binascii.crc32(f.read(), crc)
        return crc & 0xFFFFFFFF
    except (ImportError, OSError, AttributeError):
        return None


BINDERS_DIGEST = _binders_digest()


def source_crc(m):
    """CRC-32 of the TENSORS then the OPS section: what the binders read (a CPROG section names the
    bytes it was bound from, so a file whose tables changed since is bound again)."""
    return m.table_crc & 0xFFFFFFFF if m.table_crc is not None else None


def stamp(m):
    """The CPROG header this runtime accepts for model m: c_layout, ABI, binders' digest, tables' CRC."""
    return (LAYOUT, _ert.ABI_VERSION, BINDERS_DIGEST, source_crc(m))


def records(m):
    """m's CPROG section when it holds this runtime's binders' records for m's own tables, else None
    (the Interpreter binds those ops in Python: a file from another build, or tables changed since)."""
    rec = m.cprog
    if rec is None or BINDERS_DIGEST is None or len(rec) < F.CPROG_SIZE:
        return None
    if struct.unpack_from(F.CPROG_FMT, rec, 0)[:4] != stamp(m):
        return None
    return rec


def program(m, arena, bound, features=-1, recs=None):
    """One C program for bound = [(op, spec)], spec as returned by a KERNELS binder, or, with recs
    (records(m)) and every spec None, the ops' records in the CPROG section (bound None: every op
    of m); returns the program.
    A record the C validator refuses is reported naming the op."""
    try:
        if bound is None:  # every op of the model, from its stored records
            prog = _ert.Program(m.consts, arena, m.opcodes, features, recs, 0)
        elif recs is not None and bound[0][1] is None:
            prog = _ert.Program(m.consts, arena, [op.opcode for op, _ in bound], features, recs, bound[0][0].index)
        else:
            prog = _ert.Program(m.consts, arena, [spec for _, spec in bound], features)
    except ValueError as e:
        if len(e.args) == 3 and isinstance(e.args[0], int):
            op = m.ops[e.args[0]] if bound is None else bound[e.args[0]][0]
            where = "" if e.args[1] < 0 else " (operand %d)" % e.args[1]
            raise ModelFormatError("op %d (%s): the c kernel refuses it: %s%s; the file is damaged or "
                                   "from another edge_rt version (packed by %s), repack it" % (
                                       op.index, op.name, e.args[2], where, m.meta.get("tool_version", "?")))
        raise
    return prog
