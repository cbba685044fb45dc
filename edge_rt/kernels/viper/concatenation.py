# CONCATENATION, viper: kernels/ref/concatenation.py's block copy with the byte loops in native
# code: output block b holds chunk_0 bytes of input 0's block b, then chunk_1 of input 1, ...
from ._conv import copy8


def bind(op, m, v, arena):
    ty = m.tensors[op.outputs[0]]
    size = ty.nbytes // ty.size() if ty.size() else 1   # bytes per element
    outer = op.params[0]
    chunks = [c * size for c in op.params[1:]]
    total = sum(chunks)

    def run(xs=[v[tid] for tid in op.inputs], chunks=chunks, y=v[op.outputs[0]], outer=outer, total=total,
            k=len(op.inputs)):
        for b in range(outer):
            yo = b * total
            for j in range(k):
                chunk = chunks[j]
                copy8(xs[j], b * chunk, y, yo, chunk)
                yo += chunk
    return run
