# PAD, pure Python: the readable specification.
# 1. Every output element gets the pad value.
# 2. Each innermost row of the input (all dims but the last fixed) is copied as one slice to
#    the output row at index + before (per dimension), shifted by before[-1] along the row.


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    value = v[op.inputs[1]][0]
    y = v[op.outputs[0]]
    rank = op.params[0]
    before = op.params[1:1 + rank]
    xs = m.tensors[op.inputs[0]].shape
    ys = m.tensors[op.outputs[0]].shape
    nx = len(x)
    ny = len(y)
    row = xs[-1] if rank else 1
    rows = nx // row if row else 0
    idx = [0] * rank  # bind-time odometer over the leading dimensions

    def run():
        for i in range(ny):
            y[i] = value
        for d in range(rank):
            idx[d] = 0
        for r in range(rows):
            # output offset of this row: row-major over ys with each index shifted by before
            yo = 0
            for d in range(rank - 1):
                yo = (yo + idx[d] + before[d]) * ys[d + 1]
            yo += before[rank - 1] if rank else 0
            xo = r * row
            y[yo:yo + row] = x[xo:xo + row]
            d = rank - 2
            while d >= 0:
                idx[d] += 1
                if idx[d] < xs[d]:
                    break
                idx[d] = 0
                d -= 1
    return run
