"""Shared helpers for the per-op prepare functions (host side)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, Tensor
from ...kernels.np._exact import mbqm64_operands
from ..quant import activation_range, quantize_multipliers


class OpProblem(Exception):
    """Raised by a prepare function: the op cannot run bit-exactly; message says why."""


def need(cond: bool, msg: str) -> None:
    if not cond:
        raise OpProblem(msg)


def tensor(g: Graph, tid: int) -> Tensor:
    return g.tensors[tid]


def need_dtype(g: Graph, tid: int, role: str, *dtypes: str) -> Tensor:
    t = g.tensors[tid]
    need(t.dtype in dtypes, f"{role} tensor {tid} ({t.name}) is {t.dtype}; supported: {', '.join(dtypes)}")
    return t


def need_quant(t: Tensor, role: str, per_channel_ok: bool = False) -> None:
    need(t.scale is not None and len(t.scale) > 0, f"{role} tensor ({t.name}) has no quantization")
    if not per_channel_ok:
        need(len(t.scale) == 1, f"{role} tensor ({t.name}) is per-channel quantized; "
                                "only per-tensor is supported here")


def need_const(g: Graph, tid: int, role: str) -> np.ndarray:
    need(tid >= 0 and g.tensors[tid].is_const, f"{role} must be a constant tensor")
    return g.tensors[tid].data


def act_range(op: Op, out: Tensor) -> tuple[int, int]:
    s, z = out.qparams()
    qmin, qmax = (-32768, 32767) if out.dtype == "int16" else (-128, 127)  # the output dtype's range
    try:
        return activation_range(op.options.get("activation", "NONE"), s, z, qmin, qmax)
    except ValueError as e:
        raise OpProblem(str(e)) from None


def add_const(g: Graph, op: Op, suffix: str, data: np.ndarray) -> int:
    """Store a prepared constant (multipliers, folded bias, table) and return its id."""
    base = g.tensors[op.outputs[0]].name
    return g.add_const(f"{base}/{suffix}", np.ascontiguousarray(data))


def np_constants(g: Graph, op: Op, data: np.ndarray) -> int:
    """Append a constant only the numpy kernel set reads (precomputed bind-time work: requant
    constants, lookup tables) after the op's kernel inputs; the ref kernels read their inputs
    by position and ignore it."""
    tid = add_const(g, op, f"np{len(op.kernel_inputs)}", data)
    op.kernel_inputs = op.kernel_inputs + [tid]
    return tid


def requant_values(g: Graph, op: Op):
    """(multiplier, shift) arrays of a weighted op prepared by weighted_op."""
    return g.tensors[op.kernel_inputs[3]].data, g.tensors[op.kernel_inputs[4]].data


def wrap_int32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.int64).astype(np.uint32).astype(np.int64).astype(np.int32)


def channel_requant(g: Graph, op: Op, in_scale: float, w: Tensor, out_scale: float, n: int):
    """Per-output-channel (multiplier, shift) constants: in_scale * w_scale[c] / out_scale in
    double precision from the float32 scales, as PopulateConvolutionQuantizationParams."""
    ws = w.scale.astype(np.float64)
    if len(ws) == 1:
        ws = np.repeat(ws, n)
    need(len(ws) == n, f"filter ({w.name}) has {len(ws)} scales for {n} output channels")
    reals = [float(np.float64(np.float32(in_scale)) * s / np.float64(np.float32(out_scale))) for s in ws]
    mult, shift = quantize_multipliers(reals)
    return add_const(g, op, "multiplier", mult), add_const(g, op, "shift", shift)


def same_or_valid(padding: str, in_size: int, filt: int, stride: int, dilation: int) -> tuple[int, int]:
    """(output size, leading pad) as TFLite computes them; the trailing pad is implicit."""
    eff = (filt - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    elif padding == "VALID":
        out = (in_size - eff + stride) // stride
    else:
        raise OpProblem(f"padding {padding} not supported; supported: SAME, VALID")
    total = max(0, (out - 1) * stride + eff - in_size)
    return out, total // 2


def weighted_op(g: Graph, op: Op, x: Tensor, w: Tensor, y: Tensor, w_sums: np.ndarray):
    """Shared tail of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED prepare.

    Folds the input zero point into the bias: sum((x + in_off) * w) + bias
    = sum(x * w) + (bias + in_off * sum(w)), with w_sums the per-output-channel filter sums
    (for convolutions padded taps hold the input zero point, where x + in_off = 0, exactly
    the reference's skipped taps). Adds the folded bias and the per-channel requantization
    constants, sets op.kernel_inputs = [input, filter, folded_bias, multiplier, shift] and
    returns (in_zp, out_zp, act_min, act_max, folded_bias)."""
    n = len(w_sums)
    bias = np.zeros(n, np.int64)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        need_dtype(g, op.inputs[2], "bias", "int32")
        bias = need_const(g, op.inputs[2], "bias").astype(np.int64).reshape(-1)
        need(bias.size == n, f"bias has {bias.size} values for {n} output channels")
    need(not np.any(w.zero_point), "filter zero point must be 0 (symmetric int8)")
    in_scale, in_zp = x.qparams()
    out_scale, out_zp = y.qparams()
    folded = wrap_int32(bias + (-in_zp) * w_sums.astype(np.int64))
    mult, shift = channel_requant(g, op, in_scale, w, out_scale, n)
    lo, hi = act_range(op, y)
    op.kernel_inputs = [op.inputs[0], op.inputs[1], add_const(g, op, "folded_bias", folded), mult, shift]
    return in_zp, out_zp, lo, hi, folded


def c_packing(w2: np.ndarray) -> np.ndarray:
    """The C set's packing of an (oc, K) int8 weight matrix for the AVX-512 VNNI product
    (kernels/c/ert_gemm.h): [ceil(oc/16)][ceil(K/4)][16][4] int8, zero padded."""
    oc, k = w2.shape
    ocb, k4 = -(-oc // 16), -(-k // 4)
    pad = np.zeros((ocb * 16, k4 * 4), np.int8)
    pad[:oc, :k] = w2
    return pad.reshape(ocb, 16, k4, 4).transpose(0, 2, 1, 3)


def c_wsum(oc: int, w2: np.ndarray) -> np.ndarray:
    """wsum = 128 * the row sums of an (oc, K) int8 weight matrix (int32, oc padded to 16), which
    removes the +128 the VNNI product adds to each input byte."""
    wsum = np.zeros(-(-oc // 16) * 16, np.int32)
    wsum[:oc] = 128 * w2.astype(np.int64).sum(axis=1)
    return wsum


def c_constants(g: Graph, op: Op, w2: np.ndarray) -> None:
    """Append the C set's packing of an (oc, K) int8 weight matrix (c_packing) and its wsum to the
    kernel inputs (the convolutions: their other paths read the original filter)."""
    op.kernel_inputs = op.kernel_inputs + [add_const(g, op, "c_wp", c_packing(w2)),
                                           add_const(g, op, "c_wsum", c_wsum(w2.shape[0], w2))]


def c_gemm_rows(oc: int) -> int:
    """Rows the C set's product takes at once for oc channels (kernels/c/ert_gemm.h ERT_GEMM_ROWS)."""
    return 16 if oc <= 16 else (8 if oc <= 32 else 4)


WIN_MAX = 16384  # kernels/c/ert_conv.h ERT_WIN_MAX


def c_win_bytes(op_params: list, xshape, yshape, kh: int, kw: int, r: int) -> int:
    """Bytes of the C set's VNNI input window for r output rows (ert_conv.h ert_win_bytes)."""
    sh, sw, dh, _, _, _ = op_params[:6]
    ic, ow = xshape[3], yshape[2]
    rows, cols = (r - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + kw
    if rows > WIN_MAX or cols * ic > WIN_MAX:
        return WIN_MAX + 1
    return rows * cols * ic + 4  # a segment's last 4-byte group may read 3 bytes past the last row


def c_conv_weights(op_params: list, xshape, yshape, wd) -> np.ndarray:
    """The (oc, K) matrix the C set packs for a CONV_2D filter wd (OHWI): with the VNNI input window
    (c_win_rows), each of the kh filter rows padded with zeros to a multiple of 4 bytes (the
    window's segments are read in whole 4-byte groups: ert_conv.h ert_win_k)."""
    oc, kh, kw, ic = wd.shape
    if not c_win_rows(op_params, xshape, yshape, kh, kw, oc) or (kw * ic) % 4 == 0:
        return wd.reshape(oc, -1)
    rows = np.zeros((oc, kh, -(-kw * ic // 4) * 4), np.int8)
    rows[:, :, :kw * ic] = wd.reshape(oc, kh, kw * ic)
    return rows.reshape(oc, -1)


def c_win_rows(op_params: list, xshape, yshape, kh: int, kw: int, oc: int) -> int:
    """Output rows per VNNI input window, 0 for none (ert_conv.h ert_win_rows)."""
    import math
    sh, sw, _, dw, pt, pl = op_params[:6]
    _, h, w, ic = xshape
    _, oh, ow, _ = yshape
    if _direct_1x1(op_params, xshape, yshape, kh, kw) or dw != 1:
        return 0
    t = c_gemm_rows(oc)
    r = min(t // math.gcd(t, ow), oh)
    if c_win_bytes(op_params, xshape, yshape, kh, kw, r) <= WIN_MAX:
        return r
    return 1 if c_win_bytes(op_params, xshape, yshape, kh, kw, 1) <= WIN_MAX else 0


def _direct_1x1(op_params, xshape, yshape, kh, kw) -> bool:
    sh, sw, _, _, pt, pl = op_params[:6]
    _, h, w, _ = xshape
    _, oh, ow, _ = yshape
    return kh == kw == 1 and pt == pl == 0 and (oh - 1) * sh < h and (ow - 1) * sw < w


def c_patch_scratch(op_params: list, xshape, yshape, kh: int, kw: int, oc: int) -> int:
    """Scratch of the C set's convolutions (kernels/c/ert_conv.h ert_conv_scratch): c_gemm_rows(oc)
    patches of K = kh*kw*ic bytes (16-aligned), none for a 1x1 convolution whose every tap lies
    inside the input (read in place); or the VNNI input window (c_win_rows) when that is larger.
    op_params: CONV_2D's (strides, dilations, pads first)."""
    ic = xshape[3]
    patches = 0 if _direct_1x1(op_params, xshape, yshape, kh, kw) else c_gemm_rows(oc) * ((kh * kw * ic + 15) // 16 * 16)
    r = c_win_rows(op_params, xshape, yshape, kh, kw, oc)
    return max(patches, c_win_bytes(op_params, xshape, yshape, kh, kw, r) if r else 0)


DS_BAND_MAX = 16384  # kernels/c/ds_conv.c DS_BAND_MAX


def c_ds_band_rows(poc: int, ow: int, oh: int, c: int) -> int:
    """Depthwise rows per band of the C set's DS_CONV_2D (ds_conv.c ds_band_rows): enough that
    the rows' pixels fill the pointwise product's tiles, 1 if that band is over DS_BAND_MAX."""
    import math
    t = c_gemm_rows(poc)
    r = min(t // math.gcd(t, ow), oh)
    return r if r * ow * c <= DS_BAND_MAX else 1


# -- int16x8 (int16 activations, int8 weights) ------------------------------------------------
I16_MIN, I16_MAX = -32768, 32767
_BIAS_TYPES = {2: "int32", 4: "int64"}  # the options' quantized_bias_type (TensorType) for no bias


def int16_tail(g: Graph, op: Op, x: Tensor, w: Tensor, y: Tensor, w_abs: np.ndarray,
               int32_bias: bool = True) -> tuple[int, int]:
    """Shared tail of the int16x8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED prepare.

    TFLite Micro's int16 kernels add no offsets (the scheme is symmetric: zero points 0,
    required here) and pick the accumulator by the bias type: int64 (or no bias) means an int64
    sum requantized by the int64 MultiplyByQuantizedMultiplier (kernels/quant.mbqm64), int32
    an int32 sum and the usual double rounding (`int32_bias`: whether the op has that path;
    DEPTHWISE_CONV_2D has not). The bias is not folded: the kernels read the op's own bias
    (its dtype selects the path) or a zero constant. w_abs: per-output-channel sums of |w|,
    for the bound below. The multipliers are channel_requant's, also for a per-tensor
    FULLY_CONNECTED: the tflite_micro wheel takes the scale product in double there too (its
    source at HEAD multiplies in float32; we follow the wheel). Sets op.kernel_inputs =
    [input, filter, bias, multiplier, shift]; returns (act_min, act_max) on the int16 grid."""
    for t, role in ((x, "input"), (y, "output")):
        need(not np.any(t.zero_point), f"int16 {role} tensor ({t.name}) has zero point "
                                       f"{int(t.zero_point[0])}; the int16x8 scheme needs 0")
    need(not np.any(w.zero_point), "filter zero point must be 0 (symmetric int8)")
    n = len(w_abs)
    types = ("int64", "int32") if int32_bias else ("int64",)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bt = need_dtype(g, op.inputs[2], "bias", *types)
        bias = need_const(g, op.inputs[2], "bias").astype(np.int64).reshape(-1)
        need(bias.size == n, f"bias has {bias.size} values for {n} output channels")
        kind, bias_id = bt.dtype, op.inputs[2]
    else:
        kind = _BIAS_TYPES.get(op.options.get("quantized_bias_type", 0), "int64") if int32_bias else "int64"
        bias = np.zeros(n, np.int64)
        bias_id = add_const(g, op, "bias", bias.astype(kind))
    in_scale, _ = x.qparams()
    out_scale, _ = y.qparams()
    mult_id, shift_id = channel_requant(g, op, in_scale, w, out_scale, n)
    mult, shift = g.tensors[mult_id].data, g.tensors[shift_id].data
    # |sum| bound: every product is at most 2**15 * |w|; the numpy kernels sum in float64,
    # exact below 2**53
    bound = np.abs(bias) + (1 << 15) * w_abs.astype(np.int64)
    need(int(((1 << 15) * w_abs.astype(np.int64)).max(initial=0)) < 1 << 53,
         "filter too large for an exact int16 accumulation")
    if kind == "int64":  # keep mbqm64's arithmetic defined (int64 product, positive shift)
        need(int(shift.max(initial=0)) <= 14, f"output scale multiplier 2**{int(shift.max())} too "
                                              "large for the int16x8 requantization (shift <= 14)")
        rm, _ = mbqm64_operands(mult, shift)
        worst = [int(b) * int(r) + (1 << (14 - int(s))) for b, r, s in zip(bound, rm, shift)]
        need(max(worst, default=0) < 1 << 63, "bias or accumulator too large: TFLite's int64 "
                                              "requantization would overflow int64")
    lo, hi = activation_range_16(op, y)
    op.kernel_inputs = [op.inputs[0], op.inputs[1], bias_id, mult_id, shift_id]
    return lo, hi


def activation_range_16(op: Op, y: Tensor) -> tuple[int, int]:
    s, z = y.qparams()
    try:
        return activation_range(op.options.get("activation", "NONE"), s, z, I16_MIN, I16_MAX)
    except ValueError as e:
        raise OpProblem(str(e).replace("int8", "int16")) from None


def resize_operands(g: Graph, op: Op, dtypes) -> tuple[Tensor, int, int, int, int, int, int, bool, bool]:
    """Shared validation of RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR: input (NHWC, one of dtypes),
    output of its type, a constant int32 size (height, width) matching the output shape. Returns
    (input, N, H, W, C, OH, OW, align_corners, half_pixel_centers)."""
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs (input, size) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *dtypes)
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    need_dtype(g, op.inputs[1], "size", "int32")
    size = need_const(g, op.inputs[1], "size (dynamic output shapes are not supported)").reshape(-1)
    need(len(x.shape) == 4, f"input has {len(x.shape)} dimensions; supported: 4 (NHWC)")
    need(size.size == 2, f"size has {size.size} values; expected 2 (height, width)")
    n, h, w, c = (int(d) for d in x.shape)
    oh, ow = int(size[0]), int(size[1])
    need(oh > 0 and ow > 0, f"size {[oh, ow]} must be positive")
    need(tuple(y.shape) == (n, oh, ow, c), f"output shape {tuple(y.shape)} != {(n, oh, ow, c)}")
    ac = bool(op.options.get("align_corners", False))
    hp = bool(op.options.get("half_pixel_centers", False))
    return x, n, h, w, c, oh, ow, ac, hp
