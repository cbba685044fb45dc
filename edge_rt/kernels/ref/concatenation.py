# CONCATENATION, pure Python: the readable specification.
# Row-major, the output is `outer` blocks; block b holds chunk_0 elements of input 0 (its
# block b), then chunk_1 elements of input 1, and so on. Each piece is one slice copy.


def bind(op, m, v, arena):
    xs = [v[tid] for tid in op.inputs]
    y = v[op.outputs[0]]
    outer = op.params[0]
    chunks = op.params[1:]
    total = sum(chunks)

    def run():
        for b in range(outer):
            yo = b * total
            for x, chunk in zip(xs, chunks):
                xo = b * chunk
                y[yo:yo + chunk] = x[xo:xo + chunk]
                yo += chunk
    return run
