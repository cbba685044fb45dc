# What the C kernel set implements, importable without the compiled extension (the host packs
# for the C set on any machine: compiler/kernel_sets.py reads OPS from here).
from edge_rt import format as F  # absolute: kernel_sets may load this file alone

# Opcodes with a C kernel (runner.c's table must list the same ones; a test checks it).
OPS = (F.OP_CONV_2D, F.OP_DEPTHWISE_CONV_2D, F.OP_FULLY_CONNECTED, F.OP_CONV_2D_ADD, F.OP_DS_CONV_2D,
       F.OP_FULLY_CONNECTED_ADD)
OPS += (F.OP_AVERAGE_POOL_2D, F.OP_MAX_POOL_2D, F.OP_ADD, F.OP_SUB, F.OP_MUL, F.OP_SOFTMAX, F.OP_LOGISTIC,
        F.OP_TANH, F.OP_HARD_SWISH, F.OP_LOOKUP, F.OP_RELU, F.OP_RELU6, F.OP_LEAKY_RELU, F.OP_QUANTIZE,
        F.OP_DEQUANTIZE, F.OP_MEAN, F.OP_PAD, F.OP_CONCATENATION, F.OP_RESHAPE, F.OP_SQUEEZE,
        F.OP_STRIDED_SLICE, F.OP_SPLIT, F.OP_SPLIT_V)

# Opcodes whose C kernel also runs int16 activations (compiler/kernel_sets.resolve sends other int16
# ops on to np): byte copies whose element size is a parameter.
INT16_OPS = frozenset((
    F.OP_RESHAPE,
    F.OP_SQUEEZE,
    F.OP_PAD,
    F.OP_CONCATENATION,
    F.OP_STRIDED_SLICE,
    F.OP_SPLIT,
    F.OP_SPLIT_V,
))

# The C kernels' contract with the packer beyond the format: the scratch each op plans
# (compiler/prepare/*: ks == "c"). pack records it in META c_layout; a file with another value
# would hand the kernels other scratch geometry, so the Interpreter refuses it. Bump on change.
# 4: the VNNI convolution window; 5: DS_CONV_2D bands of several rows and the window's
# row-padded weight packing; 6: a DS_CONV_2D ring only when planned with equal shapes (its
# output may overlap its input by rows otherwise); 7: DEPTHWISE_CONV_2D's packed filter with
# each filter row padded to whole 4-tap groups (the one-input-channel VNNI kernel, ert_dw1.h);
# 8: FULLY_CONNECTED[_ADD]'s weights only in their VNNI packing (kernel input 1;
# prepare/fully_connected.py), no row-major copy.
LAYOUT = 8
