"""HARD_SWISH (int8): x * relu6(x + 3) / 6 as TFLite Micro computes it in int16 fixed point,
tabulated over the 256 int8 inputs at pack time (see logistic.py).
Kernel inputs: [input, table(int8, 256) indexed by x + 128]."""
from __future__ import annotations

import numpy as np

from ..fixedpoint import rdbpot16, sat_shl16, sdhm16, srdhm16, wrap16
from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import need
from .logistic import prepare_table_op


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier (round to Q0.15, saturating)."""
    m32, exponent = quantize_multiplier(real)
    m16 = 32767 if m32 >= (1 << 31) - 1 - (1 << 15) else (m32 + (1 << 15)) >> 16
    return m16, exponent


def hswish_params(in_scale: float, out_scale: float) -> tuple[int, int, int, int]:
    """(out_mult16, out_exponent, reluish_mult16, reluish_exponent) with HardSwishPrepare's
    float32 steps: the input is first put on a 'hires' scale (<< 7), 'reluish' maps +-3.0
    to +-32768."""
    f32 = np.float32
    hires = f32(1.0 / 128.0) * f32(in_scale)
    out_m, out_e = _int16_multiplier(float(f32(hires / f32(out_scale))))
    rel_m, rel_e = _int16_multiplier(float(f32(hires / (f32(3.0) / f32(32768.0)))))
    return out_m, out_e, rel_m, rel_e


def hard_swish_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    """Output for every int8 input -128..127 (reference_ops::HardSwish<int8_t>).

    1. v = (x - in_zp) << 7; pre = v * output multiplier (the x >= 3 answer, unshifted).
    2. reluish = v rescaled so that 3.0 -> 32767 (saturating), mapped from [-1, 1] to [0, 1].
    3. out = pre * reluish (truncating high mul), shifted to the output scale, + out_zp."""
    out_m, out_e, rel_m, rel_e = hswish_params(in_scale, out_scale)
    out = np.empty(256, np.int8)
    for i in range(256):
        v = wrap16(wrap16(i - 128 - in_zp) * (1 << 7))
        pre = srdhm16(v, out_m)
        r = v
        if rel_e > 0:
            # all but the last bit of left shift first, so saturation happens only at the end
            r = sat_shl16(r, rel_e - 1)
        r = srdhm16(r, rel_m)
        if rel_e > 0:
            r = sat_shl16(r, 1)
        if rel_e < 0:
            r = rdbpot16(r, -rel_e)
        r = wrap16((r + (1 << 15)) >> 1)
        o = wrap16(rdbpot16(sdhm16(r, pre), -out_e) + out_zp)
        out[i] = min(127, max(-128, o))
    return out


def _build(in_scale, in_zp, out_scale, out_zp):
    out_e = hswish_params(in_scale, out_scale)[1]
    need(out_e <= 0, f"input scale / output scale = {in_scale / out_scale:g} is too large; "
                     "TFLite Micro supports up to 128")
    return hard_swish_table(in_scale, in_zp, out_scale, out_zp)


def prepare(g: Graph, op: Op, ks: str) -> None:
    prepare_table_op(g, op, ks, _build)
