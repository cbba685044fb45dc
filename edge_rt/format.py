# The .ert flat binary format, version 1: the single source of truth shared by the
# host writer (edge_rt.compiler.writer) and the device reader (edge_rt.reader).
# Device-safe: imported under MicroPython, so no typing/dataclasses/enum here.
# The byte-level specification is docs/format.md; keep the two in step.

MAGIC = b"ERT\x01"
VERSION = 1

# Header, 32 bytes, little-endian:
#   0  4s  magic
#   4  H   format version
#   6  H   header size (32)
#   8  I   total length of the file in bytes
#  12  I   CRC32 of bytes [16, total length)  (everything after this field)
#  16  I   number of sections
#  20  I   flags (0)
#  24  8x  reserved
# followed at offset 32 by the section directory: one SECTION record per section.
HEADER_FMT = "<4sHHIIII8x"
HEADER_SIZE = 32
CRC_START = 16
SECTION_FMT = "<III"  # id, offset from file start, length in bytes
SECTION_SIZE = 12
ALIGN = 16  # every section, and every constant inside CONSTS, starts on this boundary
# what the writer gives CONSTS and each constant of 64 bytes or more in it (a reader needs only
# ALIGN): one cache line, so a mapped file's weights meet the C kernels' 64-byte loads unsplit
CONST_ALIGN = 64

SEC_META = 1     # UTF-8 JSON: source sha256, tool version, board, op provenance
SEC_STRINGS = 2  # tensor names, referenced by (offset, length)
SEC_TENSORS = 3  # TENSOR records
SEC_CONSTS = 4   # constant tensor data, each item 16-byte aligned
SEC_OPS = 5      # OP records, variable length
SEC_IO = 6       # n_inputs, n_outputs (u32 each) then the tensor ids (i32)
SEC_PLAN = 7     # PLAN header then PLAN_ENTRY records
SEC_CPROG = 8    # optional: the C binders' records, bound at pack time (load time; docs/format.md)
SECTION_NAMES = {SEC_META: "META", SEC_STRINGS: "STRINGS", SEC_TENSORS: "TENSORS",
                 SEC_CONSTS: "CONSTS", SEC_OPS: "OPS", SEC_IO: "IO", SEC_PLAN: "PLAN", SEC_CPROG: "CPROG"}
REQUIRED_SECTIONS = (SEC_META, SEC_STRINGS, SEC_TENSORS, SEC_CONSTS, SEC_OPS, SEC_IO, SEC_PLAN)

# Tensor record, 52 bytes:
#   dtype u8, ndim u8, kind u8, flags u8, dims 6 x i32 (unused = 1),
#   offset u32 (into the arena for KIND_ARENA, into CONSTS for KIND_CONST),
#   nbytes u32, scale f32, zero_point i32, name offset u32, name length u32
TENSOR_FMT = "<BBBB6iIIfiII"
TENSOR_SIZE = 52
MAX_DIMS = 6
KIND_ARENA = 0
KIND_CONST = 1

# dtype codes and their element sizes / struct / array typecodes
DT_INT8 = 1
DT_UINT8 = 2
DT_INT16 = 3
DT_INT32 = 4
DT_FLOAT32 = 5
DT_INT64 = 6  # the int16x8 scheme's biases (constants only)
DTYPE_NAMES = {DT_INT8: "int8", DT_UINT8: "uint8", DT_INT16: "int16",
               DT_INT32: "int32", DT_FLOAT32: "float32", DT_INT64: "int64"}
DTYPE_SIZES = {DT_INT8: 1, DT_UINT8: 1, DT_INT16: 2, DT_INT32: 4, DT_FLOAT32: 4, DT_INT64: 8}
DTYPE_CODES = {DT_INT8: "b", DT_UINT8: "B", DT_INT16: "h", DT_INT32: "i", DT_FLOAT32: "f", DT_INT64: "q"}

# Op record: header "<HBBHHII" (16 bytes):
#   opcode u16, n_inputs u8, n_outputs u8, n_params u16, reserved u16,
#   scratch offset u32 (into the arena), scratch bytes u32
# then n_inputs i32 tensor ids (-1 = absent optional input), n_outputs i32 tensor ids,
# n_params i32 parameters. Each op's meaning of inputs/params is documented in its
# kernel file (edge_rt/kernels/ref/<op>.py) and docs/format.md.
OP_FMT = "<HBBHHII"
OP_SIZE = 16

# PLAN: header "<IIII": arena bytes, activation lower bound, number of entries, state bytes
# (the persistent state region [0, state bytes) of streaming models; 0 = none; META "state");
# entry "<iIIii": tensor id (-1 = op scratch), arena offset, bytes, first op, last op.
PLAN_FMT = "<IIII"
PLAN_SIZE = 16
PLAN_ENTRY_FMT = "<iIIii"
PLAN_ENTRY_SIZE = 20

# CPROG (optional; readers that do not know it skip it): header "<IIIIII": C kernel layout
# (META c_layout), C ABI version, CRC-32 of the binders' sources, CRC-32 of the TENSORS then OPS
# sections, number of records, reserved (0); then one record per op run on the C set, in op
# order: "<IHHHH" op index, opcode, n_params, n_operands, reserved, then n_params i32, then
# n_operands x "<III" (region 0 = CONSTS / 1 = arena, offset, room). A runtime uses the records
# only when the whole header matches its own (kernels/c/__init__.py records()), else binds.
CPROG_FMT = "<IIIIII"
CPROG_SIZE = 24
CPROG_REC_FMT = "<IHHHH"
CPROG_REC_SIZE = 12

# Opcodes. Our own numbering (not TFLite's builtin codes): the format stays stable if
# the importer changes. Fused ops produced by compiler passes get numbers >= 100.
OP_CONV_2D = 1
OP_DEPTHWISE_CONV_2D = 2
OP_FULLY_CONNECTED = 3
OP_AVERAGE_POOL_2D = 4
OP_MAX_POOL_2D = 5
OP_ADD = 6
OP_SUB = 7
OP_MUL = 8
OP_RESHAPE = 9
OP_SQUEEZE = 10
OP_SOFTMAX = 11
OP_LOGISTIC = 12
OP_TANH = 13
OP_RELU = 14
OP_RELU6 = 15
OP_LEAKY_RELU = 16
OP_HARD_SWISH = 17
OP_PAD = 18
OP_CONCATENATION = 19
OP_MEAN = 20
OP_QUANTIZE = 21
OP_DEQUANTIZE = 22
# shape and data-movement ops (issue 13); 23..39 is this group's range
OP_EXPAND_DIMS = 23
OP_TRANSPOSE = 24
OP_RESIZE_NEAREST_NEIGHBOR = 25
OP_REDUCE_MAX = 26
OP_MAXIMUM = 27
OP_MINIMUM = 28
OP_SLICE = 29
OP_PACK = 30
OP_UNPACK = 31
OP_GATHER = 32
OP_BROADCAST_TO = 33
OP_STRIDED_SLICE = 40
OP_SPLIT = 41
OP_SPLIT_V = 42
OP_READ_VARIABLE = 43    # streaming state (compiler/importers/variables.py)
OP_ASSIGN_VARIABLE = 44
# neural-network ops of issue 13 item 5; 50..59 is this group's range
OP_PRELU = 50
OP_RESIZE_BILINEAR = 51
OP_TRANSPOSE_CONV = 52
OP_LOG_SOFTMAX = 53
# recurrent ops (issue 13); 60..69 is this group's range
OP_UNIDIRECTIONAL_SEQUENCE_LSTM = 60
OP_SVDF = 61
# fused ops (compiler/passes): see compiler/prepare/fused.py for their operands
OP_CONV_2D_ADD = 100
OP_DS_CONV_2D = 101
OP_FULLY_CONNECTED_ADD = 102
OP_LOOKUP = 103
OP_PATCH_STREAM = 104  # compiler/prepare/patch_stream.py

OP_NAMES = {
    OP_CONV_2D: "CONV_2D", OP_DEPTHWISE_CONV_2D: "DEPTHWISE_CONV_2D",
    OP_FULLY_CONNECTED: "FULLY_CONNECTED", OP_AVERAGE_POOL_2D: "AVERAGE_POOL_2D",
    OP_MAX_POOL_2D: "MAX_POOL_2D", OP_ADD: "ADD", OP_SUB: "SUB", OP_MUL: "MUL",
    OP_RESHAPE: "RESHAPE", OP_SQUEEZE: "SQUEEZE", OP_SOFTMAX: "SOFTMAX",
    OP_LOGISTIC: "LOGISTIC", OP_TANH: "TANH", OP_RELU: "RELU", OP_RELU6: "RELU6",
    OP_LEAKY_RELU: "LEAKY_RELU", OP_HARD_SWISH: "HARD_SWISH", OP_PAD: "PAD",
    OP_CONCATENATION: "CONCATENATION", OP_MEAN: "MEAN", OP_QUANTIZE: "QUANTIZE",
    OP_DEQUANTIZE: "DEQUANTIZE", OP_STRIDED_SLICE: "STRIDED_SLICE", OP_SPLIT: "SPLIT", OP_SPLIT_V: "SPLIT_V",
    OP_READ_VARIABLE: "READ_VARIABLE", OP_ASSIGN_VARIABLE: "ASSIGN_VARIABLE",
    OP_CONV_2D_ADD: "CONV_2D_ADD", OP_DS_CONV_2D: "DS_CONV_2D",
    OP_FULLY_CONNECTED_ADD: "FULLY_CONNECTED_ADD", OP_LOOKUP: "LOOKUP",
    OP_EXPAND_DIMS: "EXPAND_DIMS", OP_TRANSPOSE: "TRANSPOSE",
    OP_RESIZE_NEAREST_NEIGHBOR: "RESIZE_NEAREST_NEIGHBOR", OP_REDUCE_MAX: "REDUCE_MAX",
    OP_MAXIMUM: "MAXIMUM", OP_MINIMUM: "MINIMUM", OP_SLICE: "SLICE", OP_PACK: "PACK",
    OP_UNPACK: "UNPACK", OP_GATHER: "GATHER", OP_BROADCAST_TO: "BROADCAST_TO",
    OP_PATCH_STREAM: "PATCH_STREAM", OP_PRELU: "PRELU", OP_RESIZE_BILINEAR: "RESIZE_BILINEAR",
    OP_TRANSPOSE_CONV: "TRANSPOSE_CONV", OP_LOG_SOFTMAX: "LOG_SOFTMAX",
    OP_UNIDIRECTIONAL_SEQUENCE_LSTM: "UNIDIRECTIONAL_SEQUENCE_LSTM",
    OP_SVDF: "SVDF",
}
# Kernel sets and their per-op fallback order: an op the first set lacks runs on the next one
# that has it (decided at pack time, recorded per op in META "op_kernels", so the plan holds
# the scratch of the kernel that really runs each op). "c": compiled (kernels/c), "np": numpy,
# "ref": pure Python (the specification), "viper": MicroPython's native emitter.
KERNEL_CHAINS = {"c": ("c", "np", "ref"), "np": ("np", "ref"), "ref": ("ref",), "viper": ("viper", "ref")}
KERNEL_SETS = ("c", "np", "ref", "viper")
# Dtype-generic ops (copies and selections of raw values): a kernel set whose kernels for these
# take the element type from the tensor records runs them on int16 too, so the ref and np sets'
# INT16_OPS include this group (kernels/<set>/__init__.py; compiler/kernel_sets.resolve).
INT16_GENERIC_OPS = (OP_RESHAPE, OP_SQUEEZE, OP_EXPAND_DIMS, OP_BROADCAST_TO, OP_CONCATENATION,
                     OP_MAXIMUM, OP_MINIMUM, OP_PACK, OP_UNPACK, OP_PAD, OP_RESIZE_NEAREST_NEIGHBOR,
                     OP_SLICE, OP_SPLIT, OP_SPLIT_V, OP_STRIDED_SLICE, OP_TRANSPOSE)

OP_CODES = {}
for _code in OP_NAMES:
    OP_CODES[OP_NAMES[_code]] = _code


def align(n, a=ALIGN):
    return (n + a - 1) // a * a
