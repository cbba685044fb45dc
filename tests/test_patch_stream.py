"""Patch-based streaming (passes/stream_patches.py, prepare/patch_stream.py, PATCH_STREAM
kernel): the patch geometry on hand-built chains, the op forced on small models over many grids
and bit-exact against TFLite Micro, the pass on the MobileNets (only where the peak drops,
recompute within budget, verified plans), and a patched model on MicroPython heap-locked."""
import numpy as np
import pytest

from edge_rt.compiler import passes, planner as P
from edge_rt.compiler.pack import pack
from edge_rt.compiler.passes import patch_streaming as SP
from edge_rt.compiler.prepare.patch_stream import SubGeo, make_patch_op, patch_cost, patches
from edge_rt.interpreter import Interpreter
from edge_rt.testing import micropython as MP
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.mobilenets import mobilenet_v1, mobilenet_v2
from edge_rt.testing.reference import TFLM


def patch_chain_model():
    """16x16x1 -> 3x3 conv to 16 channels -> 3x3 stride-2 conv to 4: the wide middle tensor
    is the peak, so the pass streams both convolutions as patches (also the MicroPython
    single-op session's PATCH_STREAM model)."""
    from edge_rt.testing.mobilenets import Net
    net = Net(5, gain=16.0)
    x = net.act((1, 16, 16, 1), 1 / 128, 0)
    y = net.conv(net.conv(x, 16), 4, stride=2)
    return net.b.build([x], [y])


def test_patch_chain_model_is_streamed():
    data = patch_chain_model()
    r = pack(data, "m.tflite", kernels="ref")
    assert [op.type for op in r.graph.ops] == ["PATCH_STREAM"]
    check_bit_exact(data, trials=3)


def geo(k, s, p, h, oh, c=1, oc=1):
    return SubGeo(k, k, s, s, 1, 1, p, p, h, h, c, oh, oh, oc, k * k * c * oc)


def test_patch_rectangles_tile_the_cut_and_carry_their_halo():
    # 3x3 stride-2 conv (SAME on 96: pad_top 0), then a 3x3 stride-1 depthwise (pad 1)
    chain = [geo(3, 2, 0, 96, 48, 1, 8), geo(3, 1, 1, 48, 48, 8, 8)]
    ps = patches(chain, 4, 4)
    assert len(ps) == 16
    cover = np.zeros((48, 48), int)
    for (iy0, ix0, hi, wi), (oy0, ox0), subs in ps:
        ho, wo, pt, pl, y0, x0 = subs[-1]
        assert (y0, x0) == (oy0, ox0)
        cover[oy0:oy0 + ho, ox0:ox0 + wo] += 1
        # the depthwise needs one more row each side inside the image, the conv 2x + 1
        h1 = subs[0][0]
        assert h1 == min(oy0 + ho + 1, 48) - max(oy0 - 1, 0)
        assert pt == (1 if oy0 == 0 else 0) and subs[0][2] == 0
        assert hi == min(2 * (max(oy0 - 1, 0) + h1 - 1) + 3, 96) - 2 * max(oy0 - 1, 0)
    assert (cover == 1).all()
    a, b, c, macs, whole = patch_cost(chain, 4, 4)
    assert macs > whole and a >= max(p[0][2] * p[0][3] for p in ps) and c == 0
    assert patch_cost(chain, 1, 1)[3] == whole      # one patch: nothing recomputed


def _forced(k, ny, nx):
    def force(g, ks):
        g.ops = [make_patch_op(g, g.ops[:k], ny, nx)] + g.ops[k:]
        return g, "forced"
    return force


@pytest.mark.parametrize("k, ny, nx", [(2, 2, 2), (3, 3, 1), (3, 1, 4), (4, 5, 5), (3, 16, 16), (2, 7, 3)])
def test_forced_patches_bit_exact(k, ny, nx, monkeypatch):
    # odd size: stride-2 SAME convolutions then pad one row on top (pt = 1)
    monkeypatch.setattr(passes, "AFTER_PREPARE", [_forced(k, ny, nx)])
    for data in (mobilenet_v1(size=33, blocks=4, channels=3), mobilenet_v1(size=32, blocks=4)):
        r = pack(data, "m.tflite", kernels="ref")
        assert r.graph.ops[0].type == "PATCH_STREAM"
        assert P.verify(r.plan.buffers, r.plan.offsets) == []
        check_bit_exact(data, trials=2, kernel_sets=("ref",))


def test_pass_applies_only_where_the_peak_drops():
    small = mobilenet_v1(size=32, blocks=4)
    r = pack(small, "m.tflite", kernels="ref")
    assert all(op.type != "PATCH_STREAM" for op in r.graph.ops)
    assert pack(mobilenet_v1(), "m.tflite", kernels="np").graph.ops[0].type != "PATCH_STREAM"


@pytest.mark.parametrize("make, tflm_head", [(mobilenet_v1, 55296), (mobilenet_v2, 25344)])
def test_pass_on_mobilenets(make, tflm_head):
    data = make()
    on = pack(data, "m.tflite", kernels="ref")
    off = pack(data, "m.tflite", kernels="ref", disable=("stream_patches",))
    op = on.graph.ops[0]
    assert op.type == "PATCH_STREAM"
    note = dict(on.pass_report)["stream_patches"]
    assert "patches" in note and "recompute" in note
    assert op.options["extra_macs"] <= SP.MAX_EXTRA_MACS * SP.model_macs(off.graph)
    assert P.verify(on.plan.buffers, on.plan.offsets) == []
    assert on.plan.arena_bytes < off.plan.arena_bytes
    assert on.plan.arena_bytes <= 0.6 * tflm_head   # TFLite Micro's head for these models
    assert on.plan.arena_bytes < P.sequential_bound(off.graph)


def test_patched_mobilenet_v2_bit_exact_ref_and_np():
    data = mobilenet_v2(size=25)
    r = pack(data, "m.tflite", kernels="ref")
    assert r.graph.ops[0].type == "PATCH_STREAM"
    check_bit_exact(data, trials=2, kernel_sets=("ref",))
    # the numpy kernel set runs the ref-packed file (PATCH_STREAM falls back to ref)
    it = Interpreter(r.binary, kernels="np")
    x = np.random.default_rng(1).integers(-128, 128, (1, 25, 25, 3), dtype=np.int8)
    it.set_input(0, x)
    it.invoke()
    assert np.array_equal(it.get_output(0), TFLM(data)(x)[0])


def test_patched_mobilenet_v1_96_bit_exact():
    # the full person_detect-size model: ~6 s per pure-Python inference, so one trial
    data = mobilenet_v1()
    assert pack(data, "m.tflite", kernels="ref").graph.ops[0].type == "PATCH_STREAM"
    check_bit_exact(data, trials=1, kernel_sets=("ref",))
    check_bit_exact(data, trials=2, kernel_sets=("np",))


NO_MPY = MP.unavailable()


@pytest.mark.skipif(NO_MPY is not None, reason=str(NO_MPY))
def test_patched_model_on_micropython_heap_locked():
    data = mobilenet_v2(size=25)
    r = pack(data, "m.tflite", kernels="ref")
    assert r.graph.ops[0].type == "PATCH_STREAM"
    x = np.random.default_rng(2).integers(-128, 128, (1, 25, 25, 3), dtype=np.int8)
    res = MP.run_model(r.binary, [[x.tobytes()]], timeout=150)
    want = TFLM(data)(x)[0]
    got = np.frombuffer(res.outputs[0][0], want.dtype).reshape(want.shape)
    assert np.array_equal(got, want)
    assert res.heap_totals and max(res.heap_totals) <= MP.HEAP_BYTES


def resnet_like(size=16):
    """ResNet-8 in miniature: stem, an identity residual block, a projection block (TFLite's
    op order: main path, then the 1x1 stride-2 shortcut, then ADD), pool, FC."""
    from edge_rt.testing.mobilenets import Net, _add
    net = Net(6, gain=16.0)
    b = net.b
    x = net.act((1, size, size, 3), 1 / 128, 0)
    x0 = net.conv(x, 8)
    r = _add(net, net.conv(net.conv(x0, 8), 8, act="NONE"), x0)
    m = net.conv(net.conv(r, 16, stride=2), 16, act="NONE")
    r2 = _add(net, m, net.conv(r, 16, k=1, stride=2, act="NONE"))
    _, h, w, c = net.shape(r2)
    s, z = net.qp(r2)
    pooled = net.act((1, 1, 1, c), s, z)
    b.op("AVERAGE_POOL_2D", [r2], [pooled], "Pool2DOptions", Padding="VALID", StrideW=w, StrideH=h,
         FilterWidth=w, FilterHeight=h)
    flat = net.act((1, c), s, z)
    b.op("RESHAPE", [pooled, b.const("newshape", np.array([1, c], np.int32))], [flat])
    return b.build([x], [net.fc(flat, 5)])


@pytest.mark.parametrize("ny, nx", [(2, 2), (3, 5), (16, 16)])
def test_forced_residual_patches_bit_exact(ny, nx, monkeypatch):
    # stem + conv + CONV_2D_ADD(skip = the stem's output): the skip comes from two ops back
    monkeypatch.setattr(passes, "AFTER_PREPARE", [_forced(3, ny, nx)])
    data = resnet_like()
    r = pack(data, "m.tflite", kernels="ref")
    op = r.graph.ops[0]
    assert op.type == "PATCH_STREAM" and [o.type for o in op.options["chain"]][-1] == "CONV_2D_ADD"
    assert P.verify(r.plan.buffers, r.plan.offsets) == []
    check_bit_exact(data, trials=2, kernel_sets=("ref",))


def test_projection_first_and_residual_patches_on_resnet_like():
    data = resnet_like(32)
    r = pack(data, "m.tflite", kernels="ref")
    notes = dict(r.pass_report)
    assert notes["schedule_projection_first"].startswith("moved 1")
    assert r.graph.ops[0].type == "PATCH_STREAM"
    off = pack(data, "m.tflite", kernels="ref", disable=("schedule_projection_first", "stream_patches"))
    assert r.plan.arena_bytes < off.plan.arena_bytes
    check_bit_exact(data, trials=2)   # np packs keep their schedule unless the np plan shrinks too
    check_bit_exact(data, trials=2, disable=("stream_patches",))


def test_ic_resnet8_figures():
    from edge_rt.testing import shared_models
    data = shared_models.load("ic_resnet8_int8")
    r = pack(data, "ic_resnet8.tflite", kernels="ref")
    off = pack(data, "ic_resnet8.tflite", kernels="ref", disable=("schedule_projection_first", "stream_patches"))
    assert r.graph.ops[0].type == "PATCH_STREAM"
    assert r.plan.arena_bytes <= 0.6 * 49152            # TFLite Micro's head: 49,152 B
    assert r.plan.arena_bytes < P.sequential_bound(off.graph)
    assert r.graph.ops[0].options["extra_macs"] <= 0.15 * SP.model_macs(off.graph)
    assert P.verify(r.plan.buffers, r.plan.offsets) == []
