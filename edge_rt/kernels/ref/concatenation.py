# CONCATENATION, pure Python: the readable specification.
# Row-major, the output is `outer` blocks; block b holds chunk_0 elements of input 0 (its
# block b), then chunk_1 elements of input 1, and so on. Copies go element by element (bytes
# for wider types): on MicroPython a slice of a view, or a float read, would allocate.
from ...compat import retype


def bind(op, m, v, arena):
    ty = m.tensors[op.outputs[0]]
    size = ty.nbytes // ty.size() if ty.size() else 1   # bytes per element
    if size == 1:
        xs = [v[tid] for tid in op.inputs]
        y = v[op.outputs[0]]
    else:
        xs = [retype(v[tid], m.tensors[tid].nbytes, "B") for tid in op.inputs]
        y = retype(v[op.outputs[0]], ty.nbytes, "B")
    outer = op.params[0]
    chunks = [c * size for c in op.params[1:]]
    total = sum(chunks)

    def run(xs=xs, chunks=chunks, y=y, outer=outer, total=total, k=len(xs)):
        for b in range(outer):
            yo = b * total
            for j in range(k):
                x = xs[j]
                chunk = chunks[j]
                xo = b * chunk
                for i in range(chunk):
                    y[yo + i] = x[xo + i]
                yo += chunk
    return run
