# PAD, pure Python: the readable specification.
# 1. Every output element gets the pad value.
# 2. Each innermost row of the input (all dims but the last fixed) is copied to the output
#    row at index + before (per dimension), shifted by before[-1] along the row.
# Views wider than int8 are handled as bytes (on MicroPython a float read would allocate);
# copies go element by element (a slice of a view would allocate).
from ...compat import retype


def bind(op, m, v, arena):
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    size = ty.nbytes // ty.size() if ty.size() else 1  # bytes per element
    x = retype(v[op.inputs[0]], tx.nbytes, "B") if size > 1 else v[op.inputs[0]]
    y = retype(v[op.outputs[0]], ty.nbytes, "B") if size > 1 else v[op.outputs[0]]
    pv = retype(v[op.inputs[1]], size, "B") if size > 1 else v[op.inputs[1]]
    value = [pv[j] for j in range(size)]  # the pad value's bytes (its one element if int8)
    rank = op.params[0]
    before = op.params[1:1 + rank]
    xs = tx.shape
    ys = ty.shape
    row = xs[-1] if rank else 1
    rows = tx.size() // row if row else 0
    idx = [0] * rank  # bind-time odometer over the leading dimensions

    def run(x=x, y=y, value=value, size=size, ny=ty.size(), rank=rank, before=before, xs=xs, ys=ys,
            row=row * size, rows=rows, idx=idx):
        for i in range(ny):
            for j in range(size):
                y[i * size + j] = value[j]
        for d in range(rank):
            idx[d] = 0
        for r in range(rows):
            # output element offset of this row: row-major over ys, each index shifted by before
            yo = 0
            for d in range(rank - 1):
                yo = (yo + idx[d] + before[d]) * ys[d + 1]
            if rank:
                yo += before[rank - 1]
            yo *= size
            xo = r * row
            for j in range(row):
                y[yo + j] = x[xo + j]
            d = rank - 2
            while d >= 0:
                idx[d] += 1
                if idx[d] < xs[d]:
                    break
                idx[d] = 0
                d -= 1
    return run
