# AVERAGE_POOL_2D, viper: kernels/ref/average_pool_2d.py's arithmetic in native code (_pool.py).
from ._pool import geometry, pool


def bind(op, m, v, arena):
    def run(x=v[op.inputs[0]], y=v[op.outputs[0]], g=geometry(op, m), lo=op.params[6], hi=op.params[7]):
        pool(x, y, g, 1, lo, hi)
    return run
