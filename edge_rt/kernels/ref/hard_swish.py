# HARD_SWISH (int8), pure Python: y = table[x + 128]; the table is TFLite Micro's int16
# hard swish evaluated on all 256 inputs at pack time (compiler/prepare/hard_swish.py).


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    table = v[op.inputs[1]]
    y = v[op.outputs[0]]
    n = len(y)

    def run():
        for i in range(n):
            y[i] = table[x[i] + 128]
    return run
