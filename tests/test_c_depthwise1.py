"""DEPTHWISE_CONV_2D with one input channel (output channels = depth multiplier) on the C kernels,
bit-exact against TFLite Micro on every SIMD path this CPU has. On AVX-512 VNNI this is the
pixel-lane kernel (kernels/c/ert_dw1.h): 16 output pixels per vector, one accumulator per channel,
channel chunks of 16/8/4/2/1 (padded past the last channel), row tails of 1-15 pixels, masked
loads at the row ends, each filter row packed in whole 4-tap groups; strides and dilations with
sw + dw > 5 or kw > 64 take the portable loop. The micro_speech first layer is the first case."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.interpreter import Interpreter
from edge_rt.testing.c_set import C_BUILT, SKIP_REASON, simd_masks
from edge_rt.testing.conformance import check_bit_exact
from test_c_conv import conv_model

pytestmark = pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)
MASKS = simd_masks()

# (input shape, kernel, stride, dilation, padding, depth multiplier, activation, input zero point)
CASES = [
    ((1, 49, 40, 1), (10, 8), 2, 1, "SAME", 8, "RELU", -128),   # micro_speech: ow 20 = 16 + 4
    ((1, 9, 23, 1), 3, 1, 1, "SAME", 1, "NONE", 7),
    ((1, 8, 19, 1), 3, 2, 1, "VALID", 2, "RELU6", 0),
    ((1, 7, 33, 1), (3, 5), 1, 2, "SAME", 3, "NONE", -5),      # 3 channels in a chunk of 4
    ((2, 6, 17, 1), 5, 1, 1, "SAME", 4, "RELU", 127),          # two batches, kw 5: 2 groups per row
    ((1, 12, 45, 1), (5, 4), 3, 1, "SAME", 8, "NONE", -128),
    ((1, 10, 37, 1), 3, 2, 2, "SAME", 16, "RELU6", 3),
    ((1, 9, 21, 1), (3, 7), 1, 1, "SAME", 24, "NONE", -20),    # chunks 16 + 8
    ((1, 6, 70, 1), 3, 4, 1, "SAME", 5, "RELU", 11),           # rows wider than one 64-byte load
    ((1, 5, 100, 1), (1, 9), 1, 1, "VALID", 12, "NONE", -1),   # 12 channels in a chunk of 16
    ((1, 6, 15, 1), 2, 1, 1, "SAME", 33, "NONE", 9),           # chunks 16 + 16 + 1, ow < 16
    ((1, 4, 3, 1), 3, 1, 1, "SAME", 7, "RELU", -100),          # a row narrower than the filter
    ((1, 9, 67, 1), 4, 4, 1, "SAME", 8, "NONE", 1),            # sw + dw = 5: the widest lane span
    ((1, 12, 40, 1), 3, 1, 4, "SAME", 2, "RELU6", -7),
    ((1, 96, 96, 1), 3, 2, 1, "SAME", 8, "RELU6", -128),       # a one-channel stem: ow 48
    ((1, 5, 97, 1), 3, 2, 1, "SAME", 16, "NONE", 5),           # ow 49: 3 tiles + 1 pixel
    ((1, 5, 33, 1), 1, 1, 1, "VALID", 8, "RELU", 2),           # 1x1
    ((1, 4, 64, 1), 3, 1, 1, "SAME", 4, "NONE", -30),          # 4-block tiles, no tail
    ((1, 5, 40, 1), 3, 1, 1, "SAME", 2, "RELU", 8),            # 4-block tile of 40: 2 idle blocks
    ((2, 7, 50, 1), (3, 2), 1, 1, "SAME", 1, "NONE", -9),      # dm 1 (one channel)
    ((1, 9, 30, 1), 3, 3, 3, "SAME", 8, "NONE", 4),            # sw + dw = 6: portable loop
    ((1, 11, 41, 1), 3, 5, 1, "VALID", 4, "RELU", -3),         # stride 5: portable loop
    ((1, 3, 80, 1), (1, 66), 1, 1, "VALID", 2, "NONE", 6),     # kw > 64: portable loop
]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_depthwise_one_channel(case, mask, monkeypatch):
    monkeypatch.setenv("EDGE_RT_C_FEATURES", str(mask))
    xs, k, s, d, pad, dm, act, zp = CASES[case]
    check_bit_exact(conv_model(xs, 0, k, s, d, pad, act, in_zp=zp, depthwise=True, dm=dm, seed=100 + case),
                    trials=3, kernel_sets=("c",), all_c=True)


def test_packed_filter_rows_padded_to_groups():
    """The C set's packed filter holds each filter row in whole 4-tap groups (zero taps past kw):
    a 3x5 filter packs 3 rows x 2 groups."""
    data = conv_model((1, 6, 9, 1), 0, (3, 5), 1, 1, "SAME", "NONE", depthwise=True, dm=8, seed=1)
    r = pack(data, "dw.tflite", kernels="c", check_budget=False)
    op = next(o for o in r.graph.ops if o.type == "DEPTHWISE_CONV_2D")
    wp = r.graph.tensors[op.kernel_inputs[-2]].data
    wd = r.graph.tensors[op.inputs[1]].data.reshape(3, 5, 8)
    assert wp.size == 6 * 16 * 4  # one 16-channel block x 6 groups x 16 channels x 4 taps
    groups = wp.reshape(6, 16, 4)
    for ky in range(3):
        for kx in range(8):
            want = wd[ky, kx] if kx < 5 else np.zeros(8, np.int8)
            assert np.array_equal(groups[ky * 2 + kx // 4, :8, kx % 4], want), (ky, kx)
    assert not groups[:, 8:].any()
    assert Interpreter(r.binary).op_kernel_sets == ["c"]


def test_validator_refuses_a_packed_filter_without_row_groups():
    """A crafted record whose packed filter has the flat size (ceil(K/4) groups, not kh rows of
    whole groups) would let the one-channel kernel read past it: refused at load (operand 7)."""
    from edge_rt import format as F
    from edge_rt.kernels.c import _ert
    consts, arena = bytearray(4096), bytearray(4096)
    kh, kw, oc, h, w = 3, 5, 8, 4, 9
    oh, ow = h - kh + 1, w - kw + 1
    prm = [1, h, w, 1, oc, kh, kw, oh, ow, 1, 1, 1, 1, 0, 0, 0, 0, -128, 127, oc]

    def opd(wp_bytes):
        return [(1, 0, h * w), (0, 0, kh * kw * oc), (0, 128, 4 * oc), (0, 192, 4 * oc), (0, 256, 4 * oc),
                (1, 64, oh * ow * oc), (1, 512, 0), (0, 512, wp_bytes), (0, 1024, 64)]

    _ert.Program(consts, arena, [(F.OP_DEPTHWISE_CONV_2D, prm, opd(6 * 64))]).run()
    with pytest.raises(ValueError, match=r"\(0, 7, 'operand would be accessed past the end"):
        _ert.Program(consts, arena, [(F.OP_DEPTHWISE_CONV_2D, prm, opd(4 * 64))])
