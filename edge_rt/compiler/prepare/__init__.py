"""Per-op prepare ("lowering") functions: validate an op against what the bit-exact
kernels support and compute its device parameters and constants at pack time.
One file per op, same names as the kernel files; explicit table below."""
from . import (conv_2d, depthwise_conv_2d, fully_connected, average_pool_2d, max_pool_2d, add, sub, mul, reshape, squeeze, softmax, logistic, tanh, relu, relu6, leaky_relu, hard_swish, pad, concatenation, mean, quantize, dequantize)
from .common import OpProblem  # noqa: F401
from . import lookup
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
from . import lookup, split, split_v, strided_slice
from . import assign_variable, lookup, read_variable, split, split_v, strided_slice
from .fused import prepare_conv_add, prepare_ds_conv
from .patch_stream import prepare_patch

FUSED_OPS = ("CONV_2D_ADD", "DS_CONV_2D", "FULLY_CONNECTED_ADD", "LOOKUP", "PATCH_STREAM")

PREPARE = {
    "CONV_2D": conv_2d.prepare,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d.prepare,
    "FULLY_CONNECTED": fully_connected.prepare,
    "AVERAGE_POOL_2D": average_pool_2d.prepare,
    "MAX_POOL_2D": max_pool_2d.prepare,
    "ADD": add.prepare,
    "SUB": sub.prepare,
    "MUL": mul.prepare,
    "RESHAPE": reshape.prepare,
    "SQUEEZE": squeeze.prepare,
    "SOFTMAX": softmax.prepare,
    "LOGISTIC": logistic.prepare,
    "TANH": tanh.prepare,
    "RELU": relu.prepare,
    "RELU6": relu6.prepare,
    "LEAKY_RELU": leaky_relu.prepare,
    "HARD_SWISH": hard_swish.prepare,
    "PAD": pad.prepare,
    "CONCATENATION": concatenation.prepare,
    "MEAN": mean.prepare,
    "QUANTIZE": quantize.prepare,
    "DEQUANTIZE": dequantize.prepare,
    "EXPAND_DIMS": expand_dims.prepare,
    "TRANSPOSE": transpose.prepare,
    "RESIZE_NEAREST_NEIGHBOR": resize_nearest_neighbor.prepare,
    "STRIDED_SLICE": strided_slice.prepare,
    "SPLIT": split.prepare,
    "SPLIT_V": split_v.prepare,
    "REDUCE_MAX": reduce_max.prepare,
    "MAXIMUM": maximum.prepare,
    "MINIMUM": minimum.prepare,
    "SLICE": slice.prepare,
    "PACK": pack.prepare,
    "UNPACK": unpack.prepare,
    "GATHER": gather.prepare,
    "BROADCAST_TO": broadcast_to.prepare,
    "READ_VARIABLE": read_variable.prepare,
    "ASSIGN_VARIABLE": assign_variable.prepare,
    "PRELU": prelu.prepare,
    "RESIZE_BILINEAR": resize_bilinear.prepare,
    "TRANSPOSE_CONV": transpose_conv.prepare,
    "LOG_SOFTMAX": log_softmax.prepare,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": unidirectional_sequence_lstm.prepare,
    "SVDF": svdf.prepare,
    # fused ops made by compiler/passes
    "CONV_2D_ADD": prepare_conv_add,
    "DS_CONV_2D": prepare_ds_conv,
    "FULLY_CONNECTED_ADD": prepare_conv_add,
    "LOOKUP": lookup.prepare,
    "PATCH_STREAM": prepare_patch,
}
