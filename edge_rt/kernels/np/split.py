# SPLIT (and SPLIT_V), numpy: the input seen as (outer, in_chunk); output i is the column band
# of its chunk, copied from a view made once at bind.
import numpy as np


def bind(op, m, v, arena):
    outer, block = op.params[0], op.params[1]
    x2 = v[op.inputs[0]].reshape(outer, block)
    pairs = []
    start = 0
    for tid, c in zip(op.outputs, op.params[2:]):
        pairs.append((v[tid].reshape(outer, c), x2[:, start:start + c]))
        start += c
    copyto = np.copyto

    def run():
        for dst, src in pairs:
            copyto(dst, src)
    return run
