# READ_VARIABLE (and ASSIGN_VARIABLE), pure Python: copy the source's bytes to the destination,
# byte by byte (a slice of a view would allocate on MicroPython).
from ...compat import retype


def bind(op, m, v, arena):
    n = m.tensors[op.outputs[0]].nbytes
    x = retype(v[op.inputs[0]], n, "B")
    y = retype(v[op.outputs[0]], n, "B")

    def run(x=x, y=y, n=n):
        for i in range(n):
            y[i] = x[i]
    return run
