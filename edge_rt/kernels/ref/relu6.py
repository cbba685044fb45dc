# RELU6, pure Python: the readable specification. Params: see compiler/prepare/relu6.py.
#   y = six if x > six else (zero if x < zero else x)      (int8 values, no requantization)
def bind(op, m, v, arena):
    zero, six = op.params

    def run(x=v[op.inputs[0]], y=v[op.outputs[0]], n=m.tensors[op.outputs[0]].size(), zero=zero, six=six):
        for i in range(n):
            r = x[i]
            y[i] = six if r > six else (zero if r < zero else r)
    return run
