"""Host-side quantization arithmetic, computed once at pack time with the same
float/double steps as TFLite's Prepare functions (the reference we must match)."""
from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def tflite_round(x: float) -> float:
    """std::round: halves away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Real multiplier -> (int32 Q0.31 multiplier, power-of-two shift), as QuantizeMultiplier.

    1. frexp splits real = q * 2**shift with q in [0.5, 1).
    2. q is rounded to 31 fractional bits (half away from zero); 2**31 renormalizes.
    3. shifts below -31 would shift every bit out: flushed to (0, 0) as the reference does."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(tflite_round(q * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in reals]
    return (np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32))


def quantize_float(f: float, scale: float, zero_point: int) -> int:
    """zero_point + round(f / scale) with the division in float32, as TFLite's Quantize lambda."""
    return zero_point + int(tflite_round(float(np.float32(f) / np.float32(scale))))


def activation_range(activation: str, scale: float, zero_point: int,
                     qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int]:
    """Clamp bounds of a fused activation on the output's int8 grid
    (CalculateActivationRangeQuantized). Raises ValueError for activations int8 lacks."""
    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize_float(0.0, scale, zero_point)), qmax
    if activation == "RELU6":
        return (max(qmin, quantize_float(0.0, scale, zero_point)),
                min(qmax, quantize_float(6.0, scale, zero_point)))
    if activation == "RELU_N1_TO_1":
        return (max(qmin, quantize_float(-1.0, scale, zero_point)),
                min(qmax, quantize_float(1.0, scale, zero_point)))
    raise ValueError(f"fused activation {activation} not supported for int8; "
                     "supported: NONE, RELU, RELU6, RELU_N1_TO_1")
