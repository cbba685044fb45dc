# CONV_2D, numpy: banded im2col + float GEMM + vectorized requantization, all in planned
# scratch (see _conv_common.py for the algorithm and the exactness bound).
# int16 activations (int16x8): _wide.py.
import numpy as np

from . import _conv_common as cc
from . import _wide
from .requant import run_steps


def scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2, bias):
    return cc.scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2, bias)


def constants(w4, bias, mult, shift, params):
    """The np-only extra input (pack time): requantization constants for filter (OC,KH,KW,IC)."""
    return cc.constants(w4.reshape(w4.shape[0], -1), bias, mult, shift, *params[7:10])


def bind(op, m, v, arena):
    # inputs: x, filter, bias, multiplier, shift [, constants() (packed for this kernel set)]
    x, w, bias, mult, shift = [v[i] for i in op.inputs[:5]]
    y = v[op.outputs[0]]
    if x.dtype == np.int16:  # the bias dtype picks TFLite's accumulator (int64 or int32)
        return run_steps(_wide.conv_steps(x, w, bias, mult, shift, y, op.params, arena, op.scratch_offset,
                                          bias.dtype == np.int64))
    packed = v[op.inputs[5]] if len(op.inputs) > 5 else None
    return run_steps(cc.conv_steps(x, w, bias, mult, shift, y, op.params, arena, op.scratch_offset, packed))
