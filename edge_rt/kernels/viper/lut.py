# Shared by the int8 -> int8 element-wise ops whose output depends on the input value alone
# (LOGISTIC, TANH, HARD_SWISH, LOOKUP with their pack-time tables; RELU and LEAKY_RELU with the
# table the ref kernel evaluates at bind): y[i] = table[x[i] + 128], in native code.
import micropython


@micropython.viper
def lookup(x, table, y, n: int):
    xp = ptr8(x)
    tp = ptr8(table)
    yp = ptr8(y)
    for i in range(n):
        yp[i] = tp[(int(xp[i]) ^ 0x80)]  # (x ^ 0x80) is x + 128 for an int8 x


def lookup_run(x, table, y, n):
    """run() for y[i] = table[x[i] + 128], i < n."""
    def run(x=x, table=table, y=y, n=n):
        lookup(x, table, y, n)
    return run


def table_bind(op, m, v, arena):
    """bind() of an op whose second input is its 256-entry int8 table."""
    return lookup_run(v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], m.tensors[op.outputs[0]].size())
