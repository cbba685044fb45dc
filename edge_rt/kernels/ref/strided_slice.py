# STRIDED_SLICE, pure Python: the readable specification. Params (compiler/prepare/strided_slice.py):
# the input dims padded to 5, then (start, stride, count) per axis. The output is the row-major
# walk over the 5 axes; elements are copied byte by byte (a float read would allocate on
# MicroPython), and every range() has a constant step so MicroPython allocates no range object.
from ...compat import retype


def byte_walk(m, tx, p):
    """(first byte, byte step, count) per axis and the element size, from the params."""
    es = tx.nbytes // tx.size() if tx.size() else 1
    dims = p[0:5]
    strides = [es] * 5
    for a in range(3, -1, -1):
        strides[a] = strides[a + 1] * dims[a + 1]
    walk = []
    for a in range(5):
        s, st, n = p[5 + 3 * a:8 + 3 * a]
        walk.append((s * strides[a], st * strides[a], n))
    return walk, es


def bind(op, m, v, arena):
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    x = retype(v[op.inputs[0]], tx.nbytes, "B")
    y = retype(v[op.outputs[0]], ty.nbytes, "B")
    walk, es = byte_walk(m, tx, op.params)
    w = walk[0] + walk[1] + walk[2] + walk[3] + walk[4]

    # everything as default arguments: a MicroPython closure over more than a few cells
    # allocates its argument array on every call
    def run(x=x, y=y, es=es, b0=w[0], d0=w[1], n0=w[2], b1=w[3], d1=w[4], n1=w[5], b2=w[6], d2=w[7],
            n2=w[8], b3=w[9], d3=w[10], n3=w[11], b4=w[12], d4=w[13], n4=w[14]):
        o = 0
        for i0 in range(n0):
            a0 = b0 + i0 * d0
            for i1 in range(n1):
                a1 = a0 + b1 + i1 * d1
                for i2 in range(n2):
                    a2 = a1 + b2 + i2 * d2
                    for i3 in range(n3):
                        a3 = a2 + b3 + i3 * d3
                        for i4 in range(n4):
                            a4 = a3 + b4 + i4 * d4
                            for e in range(es):
                                y[o] = x[a4 + e]
                                o += 1
    return run
