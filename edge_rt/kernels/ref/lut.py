# Shared by the int8 -> int8 element-wise ops whose output depends on the input value alone
# (LOGISTIC, TANH, HARD_SWISH with their pack-time tables; RELU, LEAKY_RELU and int8 QUANTIZE
# with a table their bind evaluates from the op's formula): y[i] = table[x[i] + 128].
# Allocation-free on MicroPython (state as default arguments, int8 values only).
from array import array


def new_table(fn):
    """array('b') of fn(q) for q = -128..127 (fn must return values in [-128, 127])."""
    t = array("b", bytes(256))
    for q in range(-128, 128):
        t[q + 128] = fn(q)
    return t


def lookup_run(x, table, y, n):
    """run() for y[i] = table[x[i] + 128], i < n."""
    def run(x=x, table=table, y=y, n=n):
        for i in range(n):
            y[i] = table[x[i] + 128]
    return run
