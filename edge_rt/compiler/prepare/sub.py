"""SUB (int8 and int16, numpy broadcasting): ADD's algorithm with the second input subtracted.
Kernel inputs and params: as ADD (see add.py).

The multipliers use ADD's double-precision steps. The mirrored TFLite Micro source at HEAD
divides the scales in float32 here (a precision fix, PR #1501, was reverted), but the
`tflite_micro` wheel we verify against behaves like the double version: on all 65536 int8
input pairs at scales where the two versions' multipliers differ, only the double version
matches it (tests/test_ops_elementwise.py pins such a case)."""
from ..ir import Graph, Op
from .add import DTYPES, np_int16_scratch, prepare_add_sub  # noqa: F401 (DTYPES: the op table)
from .common import np_constants


def prepare(g: Graph, op: Op, ks: str) -> None:
    prepare_add_sub(g, op)
    if ks == "np" and not np_int16_scratch(g, op, 12):
        from ...kernels.np.add import table
        from ...kernels.np.broadcast import scratch_bytes
        op.scratch_bytes = scratch_bytes(op.params, 12)
        np_constants(g, op, table(op.params, -1))
