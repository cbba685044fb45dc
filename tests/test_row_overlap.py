"""Row overlap (planner.ROWWISE): a row-streaming op writes its output partly over its dying
input, at least d bytes below it. Hand-built buffers for the verifier's row-level check, small
graphs for the planner, and MobileNet-style models bit-exact against TFLite Micro with the
overlap on and off."""
import numpy as np
import pytest

from edge_rt.compiler import planner as P
from edge_rt.compiler.pack import pack
from edge_rt.testing.c_set import C_BUILT, SKIP_REASON, simd_masks
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.mobilenets import Net, mobilenet_v1, mobilenet_v2


def pair(ro, ri, h, needs, d):
    """Input (4 rows of ri bytes, steps 0-1) and an output (len(needs) rows of ro, steps 1-2)
    declared to overlap it."""
    inp = P.Buffer(("t", 0), P._round(h * ri), 0, 1)
    out = P.Buffer(("t", 1), P._round(len(needs) * ro), 1, 2, overlap=(("t", 0), d, ro, ri, h, tuple(needs)))
    return [inp, out]


def test_verifier_checks_row_overlap_row_by_row():
    # stride-1 3x3 depthwise, pad 1: row r written while rows r-1.. are still read, so the
    # output must start two rows below the input
    needs = [0, 0, 1, 2]
    bs = pair(32, 32, 4, needs, 64)
    assert P.verify(bs, {("t", 0): 64, ("t", 1): 0}) == []      # two rows below: fine
    assert P.verify(bs, {("t", 0): 96, ("t", 1): 0}) == []      # lower still: fine
    errs = P.verify(bs, {("t", 0): 48, ("t", 1): 0})            # row 1 would hit row 0
    assert errs and "overlaps" in errs[0]
    assert P.verify(bs, {("t", 0): 32, ("t", 1): 0})
    assert P.verify(bs, {("t", 0): 0, ("t", 1): 0})             # level: row 0 clobbers row 0
    assert P.verify(bs, {("t", 0): 0, ("t", 1): 128}) == []     # wholly above: disjoint
    # the input still read after the op's step: no overlap at all
    bs[0].last = 2
    assert P.verify(bs, {("t", 0): 64, ("t", 1): 0})
    # an undeclared pair is the ordinary rule
    plain = [P.Buffer(("t", 0), 128, 0, 1), P.Buffer(("t", 1), 128, 1, 2)]
    assert P.verify(plain, {("t", 0): 64, ("t", 1): 0})


def test_row_overlap_offset_for_growing_output():
    # 48x48x8 -> 48x48x16 fused depthwise-separable: the output covers the input exactly
    net = Net(3)
    x = net.act((1, 12, 12, 4), 0.05, 0)
    t = net.b.tensor("t", (1, 12, 12, 4), "int8", 1 / 128, 0)
    net.b.op("TANH", [x], [t])
    y = net.conv(net.dw(t), 8, k=1)
    data = net.b.build([x], [y])
    r = pack(data, "g.tflite", kernels="ref")
    assert [op.type for op in r.graph.ops] == ["TANH", "DS_CONV_2D"]
    ds = r.graph.ops[1]
    d, ro, ri, h, needs = P.row_overlap(r.graph, ds)
    assert (ro, ri, h) == (96, 48, 12) and needs == tuple(range(11)) + (h,)
    assert d == max((k + 1) * ro - n * ri for k, n in enumerate(needs) if n < h) == 576
    assert r.plan.overlaps == 1 and P.verify(r.plan.buffers, r.plan.offsets) == []
    # joint span of input and output: d + 576 = the output's 1,152 B, not 576 + 1,152 beside
    assert r.plan.lower_bound == 1152 + ds.scratch_bytes
    assert r.plan.arena_bytes == r.plan.lower_bound
    check_bit_exact(data, trials=3)


@pytest.mark.parametrize("op, stride, mult", [("dw", 1, 2), ("dw", 2, 2), ("conv", 2, 1), ("conv", 1, 1)])
def test_plain_ops_overlap_bit_exact(op, stride, mult, monkeypatch):
    # a small graph input widened by a 1x1 convolution, so the peak is at the op under test
    net = Net(4)
    x = net.act((1, 9, 8, 1), 0.05, 0)
    t = net.conv(x, 4, k=1)
    if op == "dw":
        n, h, w, c = net.shape(t)
        s, _ = net.qp(t)
        wt, bias, os_ = net._wb((1, 3, 3, c * mult), c * mult, 3, 9, s)
        oh = -(-h // stride)
        y = net.act((1, oh, -(-w // stride), c * mult), os_, -128)
        net.b.op("DEPTHWISE_CONV_2D", [t, wt, bias], [y], "DepthwiseConv2DOptions", Padding="SAME",
                 StrideW=stride, StrideH=stride, DepthMultiplier=mult, DilationWFactor=1,
                 DilationHFactor=1, FusedActivationFunction="RELU6")
    else:
        y = net.conv(t, 8, stride=stride)
    z = net.b.tensor("z", net.shape(y), "int8", 1 / 128, 0)
    net.b.op("TANH", [y], [z])
    data = net.b.build([x], [z])
    keep = ("stream_patches",)   # the op under test stays an op of its own
    r = pack(data, "g.tflite", kernels="ref", disable=keep)
    assert r.plan.overlaps == 1 and P.verify(r.plan.buffers, r.plan.offsets) == []
    check_bit_exact(data, trials=3, disable=keep)
    monkeypatch.setenv("EDGE_RT_NO_INPLACE", "1")
    off = pack(data, "g.tflite", kernels="ref", disable=keep)
    assert off.plan.overlaps == 0 and off.plan.arena_bytes > r.plan.arena_bytes
    check_bit_exact(data, trials=2, disable=keep)


def test_row_overlap_only_for_row_order_kernel_sets():
    data = mobilenet_v1(size=32, blocks=4)
    assert pack(data, "m.tflite", kernels="ref").plan.overlaps > 0
    assert pack(data, "m.tflite", kernels="np").plan.overlaps == 0


@pytest.mark.parametrize("inplace", [True, False])
def test_mobilenets_bit_exact_with_and_without_overlap(inplace, monkeypatch):
    if not inplace:
        monkeypatch.setenv("EDGE_RT_NO_INPLACE", "1")
    small = [mobilenet_v1(size=32, blocks=6), mobilenet_v2(size=24)]
    for data in small:   # the pure-Python set on small variants (speed), numpy too
        r = pack(data, "m.tflite", kernels="ref")
        assert (r.plan.overlaps > 0) == inplace and P.verify(r.plan.buffers, r.plan.offsets) == []
        check_bit_exact(data, trials=2)
    check_bit_exact(mobilenet_v1(), trials=2, kernel_sets=("np",))


def test_c_plan_overlaps_only_ds_conv():
    """The C set streams DS_CONV_2D's output rows over its input (each row made from the band in
    scratch); its convolutions and depthwise ops read multi-row pixel groups, so never overlap."""
    data = mobilenet_v1(size=32, blocks=4)
    r = pack(data, "m.tflite", kernels="c")
    assert r.plan.overlaps > 0 and P.verify(r.plan.buffers, r.plan.offsets) == []
    ops = {op.type for op in r.graph.ops if P.row_overlap(r.graph, op) is not None}
    assert ops == {"DS_CONV_2D"}
    off = pack(data, "m.tflite", kernels="c", disable=("fuse_depthwise_separable",))
    assert off.plan.overlaps == 0


@pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)
@pytest.mark.parametrize("mask", simd_masks())
def test_c_mobilenet_v1_96_with_row_overlap_bit_exact(mask, monkeypatch):
    """MobileNet-v1 96x96 on the C set, its DS_CONV_2D outputs partly over their inputs (every
    SIMD path), bit-exact against TFLite Micro; the C plan then fits TFLite Micro's head."""
    monkeypatch.setenv("EDGE_RT_C_FEATURES", str(mask))
    data = mobilenet_v1()
    r = pack(data, "m.tflite", kernels="c")
    assert r.plan.overlaps >= 3 and P.verify(r.plan.buffers, r.plan.offsets) == []
    assert r.plan.arena_bytes < 18432 + 36864   # the 48x48 block's input and output not side by side
    check_bit_exact(data, trials=2, kernel_sets=("c",), all_c=True)


def test_mobilenet_v1_96_overlap_drops_the_peak():
    data = mobilenet_v1()
    on = pack(data, "m.tflite", kernels="ref")
    off = pack(data, "m.tflite", kernels="ref", disable=("fuse_depthwise_separable",))
    assert P.verify(on.plan.buffers, on.plan.offsets) == []
    # 48x48x8 -> 48x48x16 no longer needs 18,432 + 36,864 B side by side
    assert on.plan.arena_bytes < 18432 + 36864 and on.plan.overlaps >= 3
    assert off.plan.arena_bytes < 18432 + 36864   # plain DEPTHWISE_CONV_2D overlaps too


def test_inspect_memory_shows_row_overlap_and_patch_scratch(tmp_path):
    from edge_rt.compiler.memviz import render_ascii
    from edge_rt.host.cli import describe
    r = pack(mobilenet_v1(), "m.tflite", kernels="ref")
    p = tmp_path / "m.ert"
    p.write_bytes(r.binary)
    text = render_ascii(describe(str(p)))
    assert "(rows over " in text and "scratch of op 0 (PATCH_STREAM)" in text
    # the live column counts shared bytes once: never above the arena
    for line in text.splitlines():
        if "| " in line and line.split("| ")[-1].replace(",", "").isdigit():
            assert int(line.split("| ")[-1].replace(",", "")) <= r.plan.arena_bytes
