# RESHAPE, pure Python: the output holds the input's elements in the same row-major order,
# so the flat views are copied as they are. Aliased tensors (same bytes) need no copy.


def bind(op, m, v, arena):
    ti, to = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    if ti.kind == to.kind and ti.offset == to.offset:
        return lambda: None
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]

    def run():
        y[:] = x
    return run
