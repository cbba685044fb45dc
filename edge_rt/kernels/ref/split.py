# SPLIT (and SPLIT_V, which shares this layout), pure Python: the readable specification.
# Params (compiler/prepare/split.py): [outer, in_chunk, chunk_0, ...]: from each of the `outer`
# input blocks of in_chunk elements, output i takes the chunk_i elements after those of outputs
# 0..i-1. Copies go byte by byte (a float read would allocate on MicroPython).
from ...compat import retype


def bind(op, m, v, arena):
    tx = m.tensors[op.inputs[0]]
    es = tx.nbytes // tx.size() if tx.size() else 1
    x = retype(v[op.inputs[0]], tx.nbytes, "B")
    ys = [retype(v[t], m.tensors[t].nbytes, "B") for t in op.outputs]
    outer, block = op.params[0], op.params[1] * es
    parts = []
    start = 0
    for y, c in zip(ys, op.params[2:]):
        parts.append((y, start, c * es))
        start += c * es
    parts = tuple(parts)

    def run(x=x, parts=parts, outer=outer, block=block):
        for y, start, chunk in parts:
            o = 0
            for b in range(outer):
                xo = b * block + start
                for i in range(chunk):
                    y[o] = x[xo + i]
                    o += 1
    return run
