"""Pack-time arithmetic of TFLite Micro's int16 activations (the int16x8 scheme), replayed with
the reference's own float/double steps so the kernels get bit-identical constants:

- LOGISTIC / TANH Prepare (logistic_common.cc, tanh.cc): the input rescale to the sigmoid
  table's Q3.12 x 3 grid, a power-of-two shortcut or a 15-bit multiplier with a left shift;
- SOFTMAX Prepare (softmax_common.cc): the exp and 1/(1+x) tables of LUTPopulate<int16_t>
  (513 entries, built in float32) and the diff rescale (QuantizeMultiplier in double)."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .prepare.common import need
from .quant import quantize_multiplier

f32 = np.float32


def tflite_round32(x: np.float32) -> np.float32:
    """std::round on a float: halves away from zero (exact: |x| + 0.5 is exact in double)."""
    v = float(x)
    return f32(math.copysign(math.floor(abs(v) + 0.5), v))


def checked_log2(x: float) -> tuple[bool, int]:
    """CheckedLog2: (whether x is within 1e-3 of a power of two in log2, the rounded log2),
    in float32 as the reference, with logf correctly rounded. A libm's logf can be one ulp off
    (glibc's: on about 0.1 % of inputs), which could flip the decision only for a scale within
    about 1e-6 (relative) of 2**(k +- 0.001): no scale a quantizer picks."""
    need(float(f32(x)) > 0.0, f"quantization scale {float(x):g} is not positive")
    inv_ln2 = f32(1.0) / f32(math.log(2.0))
    x_log2 = f32(f32(math.log(float(f32(x)))) * inv_ln2)
    rounded = tflite_round32(x_log2)
    frac = f32(x_log2 - rounded)
    return bool(abs(frac) < f32(1e-3)), int(rounded)


def sigmoid_input_params(scale: float, pot_shifts: tuple[int, ...]) -> tuple[int, int]:
    """(multiplier, right shift) taking an int16 input of `scale` to the sigmoid table's grid
    (1/(3*4096) per step), as reference_integer_ops::Logistic/Tanh apply them. A scale within
    CheckedLog2's tolerance of 2**(s - 12) for s in pot_shifts (LOGISTIC: 0; TANH: 0, 1) takes
    the power-of-two case (multiplier 3 << s, no shift: the kernel's substitution done here);
    any other scale gets a multiplier doubled with the shift until above 32767 / 2."""
    pot, log2 = checked_log2(scale)
    left = 12 + log2  # (15 - kInputIntegerBits) + log2, kInputIntegerBits = 3
    if pot and left in pot_shifts:
        return 3 << left, 0
    mult, shift = float(f32(scale)) * 4096.0 * 3.0, 0
    while mult <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        mult *= 2.0
    need(int(mult) <= 32767, f"input scale {float(scale):g} is too large; supported: below 2.6666 "
                             f"(TFLite Micro's input multiplier must fit 15 bits)")
    need(int(mult) > 0, f"input scale {float(scale):g} is too small")
    return int(mult), shift


def need_q015_output(scale: float, zero_point: int) -> None:
    ok, log2 = checked_log2(scale)
    need(zero_point == 0 and ok and log2 == -15,
         f"output quantization must be scale 2^-15, zero point 0 (TFLite Micro's int16 output "
         f"format); got scale {float(scale):g}, zero point {zero_point}")


def lut_populate_int16(fn, input_scale: np.float32, input_zp: int, output_scale: np.float32,
                       output_zp: int) -> np.ndarray:
    """LUTPopulate<int16_t> (the float32 overload): 512 samples of fn over the input range, each
    biased by half the error of linear interpolation at the segment's midpoint, plus the last
    point; every step in float32 (std::exp is expf, correctly rounded here via double)."""
    in_min = f32(input_scale * f32(-32768 - input_zp))
    in_max = f32(input_scale * f32(32767 - input_zp))
    out_min = f32(output_scale * f32(-32768 - output_zp))
    out_max = f32(output_scale * f32(32767 - output_zp))
    step = f32(f32(in_max - in_min) / f32(512))
    half = f32(step / f32(2))
    inv = f32(f32(65536) / f32(out_max - out_min))
    lut = np.empty(513, np.int16)

    def clamp(v):
        return int(min(max(v, f32(-32768)), f32(32767)))
    for i in range(512):
        x0 = f32(in_min + f32(f32(i) * step))
        val = fn(x0)
        mid = fn(f32(x0 + half))
        nxt = fn(f32(in_min + f32(f32(i + 1) * step)))
        sample = tflite_round32(f32(val * inv))
        interp = tflite_round32(f32(f32(f32(nxt * inv) + sample) / f32(2)))
        err = f32(interp - tflite_round32(f32(mid * inv)))
        bias = tflite_round32(f32(err / f32(2)))
        lut[i] = clamp(f32(sample - bias))
    lut[512] = clamp(tflite_round32(f32(fn(in_max) * inv)))
    return lut


def _expf(v: np.float32) -> np.float32:
    return f32(math.exp(float(v)))


def _one_over_one_plus(v: np.float32) -> np.float32:
    return f32(f32(1.0) / f32(f32(1.0) + v))


@lru_cache(maxsize=None)
def _softmax_luts() -> tuple[bytes, bytes]:
    span = f32(65535)  # int16 max - min, as an int converted to float
    exp_lut = lut_populate_int16(_expf, f32(f32(10.0) / span), 32767, f32(f32(2.0) / span), 0)
    rec_lut = lut_populate_int16(_one_over_one_plus, f32(f32(1.0) / span), -32768, f32(f32(2.0) / span), 0)
    return exp_lut.tobytes(), rec_lut.tobytes()


def softmax_luts() -> tuple[np.ndarray, np.ndarray]:
    """SOFTMAX int16's exp table (exp over [-10, 0]) and 1/(1+x) table (x in [0, 1]), both with
    outputs in Q0.15; they depend on no tensor parameter."""
    e, r = _softmax_luts()
    return np.frombuffer(e, np.int16).copy(), np.frombuffer(r, np.int16).copy()


def softmax16_diff_params(in_scale: float, beta: float) -> tuple[int, int]:
    """(multiplier, shift) rescaling an int16 difference x - max so that [-65535, 0] spans
    [-10, 0] of the exp table: QuantizeMultiplier(scale * beta / (10 / 65535)) in double."""
    real = float(f32(in_scale)) * float(f32(beta)) / (10.0 / 65535.0)
    need(real > 0.0, f"input scale x beta = {float(f32(in_scale)) * float(f32(beta)):g} is not positive")
    mult, shift = quantize_multiplier(real)
    # the reference shifts the int32 difference left before the high multiply: beyond 15 bits
    # of shift a difference of -65535 overflows int32 (undefined behaviour in C)
    need(shift <= 15, f"input scale x beta = {float(f32(in_scale)) * float(f32(beta)):g} is too large; "
                      f"supported: below 5.0 (TFLite Micro's rescale overflows int32 there)")
    need(mult > 0, f"input scale x beta = {float(f32(in_scale)) * float(f32(beta)):g} is too small")
    return mult, shift


def softmax16_lowest_diff(mult: int, shift: int) -> int:
    """The lowest difference x - max the kernels need to rescale: every d at or below it gives
    mbqm(d) <= -65535, so the exp table is read at -32768 (mbqm is monotonic in d). Clamping d
    there changes nothing and keeps |d << shift| within 2**18 (small ints on MicroPython)."""
    from ..kernels.quant import mbqm
    lo, hi = -65535, 0  # find the largest d with mbqm(d) <= -65535 (lo when there is none)
    if mbqm(lo, mult, shift) > -65535:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mbqm(mid, mult, shift) <= -65535:
            lo = mid
        else:
            hi = mid
    return lo
