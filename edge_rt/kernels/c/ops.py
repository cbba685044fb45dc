# What the C kernel set implements, importable without the compiled extension (the host packs
# for the C set on any machine: compiler/kernel_sets.py reads OPS from here).
from edge_rt import format as F  # absolute: kernel_sets may load this file alone

# Opcodes with a C kernel (runner.c's table must list the same ones; a test checks it).
OPS = (F.OP_CONV_2D, F.OP_DEPTHWISE_CONV_2D, F.OP_FULLY_CONNECTED, F.OP_CONV_2D_ADD, F.OP_DS_CONV_2D,
       F.OP_FULLY_CONNECTED_ADD)

# The C kernels' contract with the packer beyond the format: the scratch each op plans
# (compiler/prepare/*: ks == "c"). pack records it in META c_layout; a file with another value
# would hand the kernels other scratch geometry, so the Interpreter refuses it. Bump on change.
LAYOUT = 3
