# Binders of the C kernels for the element-wise, pooling and data-movement ops (bind.py holds
# the weighted ops'; the record layouts are in ert_kernels.h). Geometry comes from the tensor
# records, the rest from the op's prepared params; the C validator checks every extent.
import struct

from ... import format as F
from .bind import _ARENA, _CONSTS, _operand, _shape4, _size


def _any(m, tid):
    """Operand of any dtype (the data-movement ops copy bytes)."""
    if tid < 0:
        raise ValueError("required operand missing")
    t = m.tensors[tid]
    if t.kind == F.KIND_CONST:
        if m.consts is None:
            raise ValueError("the c kernels need the constants mapped (stream=False)")
        return (_CONSTS, t.offset, t.nbytes)
    return (_ARENA, t.offset, t.nbytes)


def _io(m, op):
    return _operand(m, op.inputs[0], F.DT_INT8), _operand(m, op.outputs[0], F.DT_INT8)


def _n(m, op):
    n = _size(m.tensors[op.outputs[0]].shape)
    if _size(m.tensors[op.inputs[0]].shape) != n:
        raise ValueError("input and output sizes differ")
    return n


def _f32_bits(v):
    return struct.unpack("<i", struct.pack("<f", v))[0]


def _esize(m, tids):
    sizes = {F.DTYPE_SIZES.get(m.tensors[t].dtype) for t in tids}
    if len(sizes) != 1 or None in sizes:
        raise ValueError("operands of different or unknown dtypes")
    return sizes.pop()


def pool(op, m, v, arena):
    nb, h, w, c = _shape4(m, op.inputs[0], "input")
    nby, oh, ow, cy = _shape4(m, op.outputs[0], "output")
    if (nby, cy) != (nb, c):
        raise ValueError("output shape %s does not match the input's batch and channels" % (
            m.tensors[op.outputs[0]].shape,))
    x, y = _io(m, op)
    return (op.opcode, [nb, h, w, c, oh, ow] + list(op.params[:8]), [x, y])


def binary(op, m, v, arena):
    a = _operand(m, op.inputs[0], F.DT_INT8)
    b = _operand(m, op.inputs[1], F.DT_INT8)
    y = _operand(m, op.outputs[0], F.DT_INT8)
    at = 7 if op.opcode == F.OP_MUL else 12
    nd = op.params[at] if len(op.params) > at else 0
    n = 1
    for d in op.params[at + 1:at + 1 + nd]:
        n *= d
    if n != _size(m.tensors[op.outputs[0]].shape):
        raise ValueError("broadcast plan does not cover the output")
    return (op.opcode, list(op.params), [a, b, y])


def softmax(op, m, v, arena):
    shape = m.tensors[op.inputs[0]].shape
    depth = shape[-1] if shape else 1
    n = _n(m, op)
    x, y = _io(m, op)
    return (F.OP_SOFTMAX, [n // depth if depth else 0, depth],
            [x, _operand(m, op.inputs[1], F.DT_INT32), _operand(m, op.inputs[2], F.DT_INT32), y])


def table(op, m, v, arena):
    x, y = _io(m, op)
    return (op.opcode, [_n(m, op)], [x, _operand(m, op.inputs[1], F.DT_INT8), y])


def unary(op, m, v, arena):
    """RELU, RELU6, LEAKY_RELU: n, then the prepared params."""
    x, y = _io(m, op)
    return (op.opcode, [_n(m, op)] + list(op.params), [x, y])


def quantize(op, m, v, arena):
    n = _n(m, op)
    y = _operand(m, op.outputs[0], F.DT_INT8)
    if op.params[0] == 0:
        scale = m.tensors[op.outputs[0]].scale
        return (F.OP_QUANTIZE, [n, 0, op.params[1], _f32_bits(scale)],
                [_operand(m, op.inputs[0], F.DT_FLOAT32), y])
    return (F.OP_QUANTIZE, [n] + list(op.params), [_operand(m, op.inputs[0], F.DT_INT8), y])


def dequantize(op, m, v, arena):
    n = _n(m, op)
    scale = m.tensors[op.inputs[0]].scale
    return (F.OP_DEQUANTIZE, [n, op.params[0], _f32_bits(scale)],
            [_operand(m, op.inputs[0], F.DT_INT8), _operand(m, op.outputs[0], F.DT_FLOAT32)])


def mean(op, m, v, arena):
    nd = op.params[4]
    kept = 1
    for d, f in zip(op.params[5:5 + nd], op.params[5 + nd:5 + 2 * nd]):
        kept *= 1 if f else d
    if kept != _size(m.tensors[op.outputs[0]].shape):
        raise ValueError("kept dims do not match the output")
    x, y = _io(m, op)
    return (F.OP_MEAN, list(op.params), [x, y])


def pad(op, m, v, arena):
    es = _esize(m, [op.inputs[0], op.inputs[1], op.outputs[0]])
    xs = list(m.tensors[op.inputs[0]].shape)
    r = op.params[0]
    if r != len(xs):
        raise ValueError("paddings for %d dims, input has %d" % (r, len(xs)))
    before, after = op.params[1:1 + r], op.params[1 + r:1 + 2 * r]
    ys = [s + b + a for s, b, a in zip(xs, before, after)]
    if _size(ys) != _size(m.tensors[op.outputs[0]].shape):
        raise ValueError("padded shape %s does not match the output" % (ys,))
    return (F.OP_PAD, [es, r] + xs + list(before) + list(after),
            [_any(m, op.inputs[0]), _any(m, op.inputs[1]), _any(m, op.outputs[0])])


def concatenation(op, m, v, arena):
    es = _esize(m, list(op.inputs) + [op.outputs[0]])
    n = len(op.inputs)
    if not 1 <= n <= 10:
        raise ValueError("%d inputs; the c kernel takes 1 to 10" % n)
    y = _any(m, op.outputs[0])
    ins = [_any(m, t) for t in op.inputs] + [(_ARENA, y[1], 0)] * (10 - n)  # unused: no extent
    return (F.OP_CONCATENATION, [es] + list(op.params), ins + [y])


def reshape(op, m, v, arena):
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    if tx.nbytes != ty.nbytes:
        raise ValueError("input of %d bytes, output of %d" % (tx.nbytes, ty.nbytes))
    return (op.opcode, [ty.nbytes], [_any(m, op.inputs[0]), _any(m, op.outputs[0])])


def strided_slice(op, m, v, arena):
    es = _esize(m, [op.inputs[0], op.outputs[0]])
    n = 1
    for a in range(5):
        n *= op.params[5 + 3 * a + 2]
    if n != _size(m.tensors[op.outputs[0]].shape):
        raise ValueError("slice of %d elements, output has %d" % (n, _size(m.tensors[op.outputs[0]].shape)))
    return (F.OP_STRIDED_SLICE, [es] + list(op.params), [_any(m, op.inputs[0]), _any(m, op.outputs[0])])


def split(op, m, v, arena):
    """SPLIT and SPLIT_V (prepared alike: outer, in_chunk, chunks)."""
    es = _esize(m, [op.inputs[0]] + list(op.outputs))
    n = len(op.outputs)
    if not 1 <= n <= 15:
        raise ValueError("%d outputs; the c kernel takes 1 to 15" % n)
    ys = [_any(m, t) for t in op.outputs]
    ys += [(_ARENA, ys[0][1], 0)] * (15 - n)  # unused: no extent
    return (op.opcode, [es] + list(op.params), [_any(m, op.inputs[0])] + ys)


BINDERS_ELEM = {
    F.OP_AVERAGE_POOL_2D: pool,
    F.OP_MAX_POOL_2D: pool,
    F.OP_ADD: binary,
    F.OP_SUB: binary,
    F.OP_MUL: binary,
    F.OP_SOFTMAX: softmax,
    F.OP_LOGISTIC: table,
    F.OP_TANH: table,
    F.OP_HARD_SWISH: table,
    F.OP_LOOKUP: table,
    F.OP_RELU: unary,
    F.OP_RELU6: unary,
    F.OP_LEAKY_RELU: unary,
    F.OP_QUANTIZE: quantize,
    F.OP_DEQUANTIZE: dequantize,
    F.OP_MEAN: mean,
    F.OP_PAD: pad,
    F.OP_CONCATENATION: concatenation,
    F.OP_RESHAPE: reshape,
    F.OP_SQUEEZE: reshape,
    F.OP_STRIDED_SLICE: strided_slice,
    F.OP_SPLIT: split,
    F.OP_SPLIT_V: split,
}
