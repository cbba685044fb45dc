# Pure-Python kernel set: the readable specification of every op; runs on MicroPython.
# Views are flat typed sequences (memoryview / array) indexed in row-major order.
from ... import format as F
from . import conv_add, ds_conv, fc_add, lookup
from . import log_softmax, prelu, resize_bilinear, transpose_conv
from . import broadcast_to
from . import gather
from . import unpack
from . import pack
from . import slice
from . import minimum
from . import maximum
from . import reduce_max
from . import resize_nearest_neighbor
from . import transpose
from . import expand_dims
from . import svdf, unidirectional_sequence_lstm
from . import split, split_v, strided_slice
from . import assign_variable, read_variable, split, split_v, strided_slice
from . import conv_add, ds_conv, fc_add, lookup, patch_stream
from . import (conv_2d, depthwise_conv_2d, fully_connected, average_pool_2d, max_pool_2d, add, sub, mul, reshape, squeeze, softmax, logistic, tanh, relu, relu6, leaky_relu, hard_swish, pad, concatenation, mean, quantize, dequantize)

NAME = "ref"
KERNELS = {
    F.OP_CONV_2D: conv_2d.bind,
    F.OP_DEPTHWISE_CONV_2D: depthwise_conv_2d.bind,
    F.OP_FULLY_CONNECTED: fully_connected.bind,
    F.OP_AVERAGE_POOL_2D: average_pool_2d.bind,
    F.OP_MAX_POOL_2D: max_pool_2d.bind,
    F.OP_ADD: add.bind,
    F.OP_SUB: sub.bind,
    F.OP_MUL: mul.bind,
    F.OP_RESHAPE: reshape.bind,
    F.OP_SQUEEZE: squeeze.bind,
    F.OP_SOFTMAX: softmax.bind,
    F.OP_LOGISTIC: logistic.bind,
    F.OP_TANH: tanh.bind,
    F.OP_RELU: relu.bind,
    F.OP_RELU6: relu6.bind,
    F.OP_LEAKY_RELU: leaky_relu.bind,
    F.OP_HARD_SWISH: hard_swish.bind,
    F.OP_PAD: pad.bind,
    F.OP_CONCATENATION: concatenation.bind,
    F.OP_MEAN: mean.bind,
    F.OP_QUANTIZE: quantize.bind,
    F.OP_DEQUANTIZE: dequantize.bind,
    F.OP_STRIDED_SLICE: strided_slice.bind,
    F.OP_SPLIT: split.bind,
    F.OP_SPLIT_V: split_v.bind,
    F.OP_READ_VARIABLE: read_variable.bind,
    F.OP_ASSIGN_VARIABLE: assign_variable.bind,
    F.OP_CONV_2D_ADD: conv_add.bind,
    F.OP_DS_CONV_2D: ds_conv.bind,
    F.OP_FULLY_CONNECTED_ADD: fc_add.bind,
    F.OP_LOOKUP: lookup.bind,
    F.OP_BROADCAST_TO: broadcast_to.bind,
    F.OP_GATHER: gather.bind,
    F.OP_UNPACK: unpack.bind,
    F.OP_PACK: pack.bind,
    F.OP_SLICE: slice.bind,
    F.OP_MINIMUM: minimum.bind,
    F.OP_MAXIMUM: maximum.bind,
    F.OP_REDUCE_MAX: reduce_max.bind,
    F.OP_RESIZE_NEAREST_NEIGHBOR: resize_nearest_neighbor.bind,
    F.OP_TRANSPOSE: transpose.bind,
    F.OP_EXPAND_DIMS: expand_dims.bind,
    F.OP_PATCH_STREAM: patch_stream.bind,
    F.OP_PRELU: prelu.bind,
    F.OP_RESIZE_BILINEAR: resize_bilinear.bind,
    F.OP_TRANSPOSE_CONV: transpose_conv.bind,
    F.OP_LOG_SOFTMAX: log_softmax.bind,
    F.OP_UNIDIRECTIONAL_SEQUENCE_LSTM: unidirectional_sequence_lstm.bind,
    F.OP_SVDF: svdf.bind,
}

# Opcodes whose kernel here also runs int16 activations (the int16x8 scheme): the packer sends an
# int16 op to the first set of the fallback chain that lists it (compiler/kernel_sets.resolve).
INT16_OPS = frozenset(F.INT16_GENERIC_OPS + (  # copies and selections: format.py
    # int16 arithmetic (docs/int16.md)
    F.OP_CONV_2D,
    F.OP_DEPTHWISE_CONV_2D,
    F.OP_FULLY_CONNECTED,
    F.OP_ADD,
    F.OP_SUB,
    F.OP_MUL,
    F.OP_AVERAGE_POOL_2D,
    F.OP_MAX_POOL_2D,
    F.OP_QUANTIZE,
    F.OP_DEQUANTIZE,
    F.OP_LOGISTIC,
    F.OP_TANH,
    F.OP_SOFTMAX,
    F.OP_UNIDIRECTIONAL_SEQUENCE_LSTM,
))
