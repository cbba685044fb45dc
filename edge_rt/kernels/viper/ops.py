# The opcodes the viper kernel set implements: pure Python, so the host (which cannot import
# viper code) plans with it (compiler/kernel_sets.py); kernels/viper/__init__.py's KERNELS
# must have exactly these keys (tests/test_viper.py checks it on MicroPython). Any other op of
# a file packed for viper runs on the ref kernel (format.KERNEL_CHAINS).
from edge_rt import format as F  # absolute: the host loads this file by path

OPS = (F.OP_CONV_2D, F.OP_DEPTHWISE_CONV_2D, F.OP_FULLY_CONNECTED, F.OP_CONV_2D_ADD, F.OP_DS_CONV_2D,
       F.OP_FULLY_CONNECTED_ADD, F.OP_AVERAGE_POOL_2D, F.OP_MAX_POOL_2D, F.OP_ADD, F.OP_SUB, F.OP_MUL,
       F.OP_LOGISTIC, F.OP_TANH, F.OP_HARD_SWISH, F.OP_RELU, F.OP_LEAKY_RELU, F.OP_LOOKUP, F.OP_PAD,
       F.OP_CONCATENATION, F.OP_SOFTMAX, F.OP_MEAN)

# Opcodes whose viper kernel also runs int16 activations (compiler/kernel_sets.resolve sends other
# int16 ops to ref): byte copies whose element size comes from the tensor records.
INT16_OPS = frozenset((
    F.OP_PAD,
    F.OP_CONCATENATION,
))
