# Compiled C kernel set (C99 sources beside this file, built into the _ert extension by
# setup.py). Each KERNELS entry binds one op into a record spec (opcode, params, operands);
# the Interpreter hands each run of consecutive C ops to program(), which validates every
# record in C (runner.c: ert_op_init) and returns one callable running them all with the GIL
# released. Importing this package raises ImportError when the extension is not built.
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


def program(m, arena, bound, features=-1):
    """One C program for bound = [(op, spec)], spec as returned by a KERNELS binder; returns its
    run method. A record the C validator refuses is reported naming the op."""
    try:
        prog = _ert.Program(m.consts, arena, [spec for _, spec in bound], features)
    except ValueError as e:
        if len(e.args) == 3 and isinstance(e.args[0], int):
            op = bound[e.args[0]][0]
            where = "" if e.args[1] < 0 else " (operand %d)" % e.args[1]
            raise ModelFormatError("op %d (%s): the c kernel refuses it: %s%s; the file is damaged or "
                                   "from another edge_rt version (packed by %s), repack it" % (
                                       op.index, op.name, e.args[2], where, m.meta.get("tool_version", "?")))
        raise
    return prog
