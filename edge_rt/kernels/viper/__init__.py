# Viper kernel set: MicroPython's native code emitter (@micropython.viper, typed pointers,
# machine integers) for the ops where time goes; bit-exact with the ref set, allocation-free
# in run(), and written to compute the same on 32-bit boards as on the 64-bit test host
# (rules in _core.py and docs/micropython.md). Imports only on MicroPython with the native
# emitter; ops.py lists the opcodes for the host. Ops not here run on the ref set.
from ... import format as F
from . import (add, average_pool_2d, concatenation, conv_2d, conv_add, depthwise_conv_2d, ds_conv, fc_add,
               fully_connected, hard_swish, leaky_relu, logistic, lookup, max_pool_2d, mean, mul, pad, relu, softmax, sub, tanh)

NAME = "viper"
KERNELS = {
    F.OP_CONV_2D: conv_2d.bind,
    F.OP_DEPTHWISE_CONV_2D: depthwise_conv_2d.bind,
    F.OP_FULLY_CONNECTED: fully_connected.bind,
    F.OP_CONV_2D_ADD: conv_add.bind,
    F.OP_DS_CONV_2D: ds_conv.bind,
    F.OP_FULLY_CONNECTED_ADD: fc_add.bind,
    F.OP_AVERAGE_POOL_2D: average_pool_2d.bind,
    F.OP_MAX_POOL_2D: max_pool_2d.bind,
    F.OP_ADD: add.bind,
    F.OP_SUB: sub.bind,
    F.OP_MUL: mul.bind,
    F.OP_LOGISTIC: logistic.bind,
    F.OP_TANH: tanh.bind,
    F.OP_HARD_SWISH: hard_swish.bind,
    F.OP_RELU: relu.bind,
    F.OP_LEAKY_RELU: leaky_relu.bind,
    F.OP_LOOKUP: lookup.bind,
    F.OP_PAD: pad.bind,
    F.OP_CONCATENATION: concatenation.bind,
    F.OP_SOFTMAX: softmax.bind,
    F.OP_MEAN: mean.bind,
}
