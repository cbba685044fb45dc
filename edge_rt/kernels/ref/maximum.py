# MAXIMUM, pure Python: y = a if a > b else b per output element, the inputs broadcast by the
# plan in params (kernels/broadcast.py); TFLite's ternary, so with equal values (or a NaN) b
# is the one kept. Raw values, no rescaling. int8/int16 values are small ints; int32 beyond
# 2**30 and float32 values are boxed on MicroPython (not the int8 path).
from ..broadcast import run_binary, unpack_params


def _max(a, b):
    return a if a > b else b


def bind(op, m, v, arena, fn=_max):
    dims, sa, sb = unpack_params(op.params, 0)
    a, b, y = v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]]

    def run(dims=dims, sa=sa, sb=sb, a=a, b=b, y=y, fn=fn):
        run_binary(dims, sa, sb, a, b, y, fn)
    return run
