"""int16 LOGISTIC, TANH and SOFTMAX (the int16x8 scheme: int16 activations, zero point 0) are
bit-exact with TFLite Micro on the ref and np kernel sets, and packed for c / viper (int8-only
sets) they run on np / ref. LOGISTIC and TANH are fed every int16 value over input scales on and
off the power-of-two shortcut; SOFTMAX sweeps shapes, beta and input scales, every exp-table
input, and rows whose sums walk the whole 1/(1+x) table (which tells TFLite's float32 table
build from a double one). np invokes allocate nothing; int16 ops never become int8 LOOKUPs; the
quantizations TFLite Micro refuses are refused at pack time."""
import numpy as np
import pytest

from edge_rt.compiler import act16
from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.conformance import check_bit_exact, run_edge, traced_invokes
from edge_rt.testing.reference import TFLM
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref")
Q15 = 2.0 ** -15
ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)


def unary16(op, shape, in_scale, out_scale=Q15, in_zp=0, out_zp=0, options=None, **fields):
    b = ModelBuilder()
    x = b.tensor("x", shape, "int16", scale=in_scale, zero_point=in_zp)
    y = b.tensor("y", shape, "int16", scale=out_scale, zero_point=out_zp)
    b.op(op, [x], [y], options, **fields)
    return b.build(inputs=[x], outputs=[y])


def softmax16(shape, in_scale, beta=1.0, out_scale=1 / 32768, out_zp=0):
    return unary16("SOFTMAX", shape, in_scale, out_scale, 0, out_zp, "SoftmaxOptions", Beta=beta)


def packed(data, ks):
    return pack(data, "int16.tflite", kernels=ks, check_budget=False)


# -- LOGISTIC / TANH -----------------------------------------------------------------------

# input scales: the power-of-two shortcut (2^-12; TANH also 2^-11), scales CheckedLog2 calls a
# power of two (within 1e-3 in log2) or not, other powers of two (general path), arbitrary
# scales over the multiplier's whole shift range, and the largest the 15-bit multiplier takes
SCALES = [2.0 ** -12, 2.0 ** -11, 2.0 ** -13, 2.0 ** -15, 2.0 ** -10, 2.0 ** -12 * 1.0005,
          2.0 ** -11 * 0.9996, 2.0 ** -12 * 1.002, 0.001, 3.1e-4, 0.0123, 0.37, 2.6, 7e-6, 1e-9]


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("scale", SCALES)
def test_sigmoid_like_every_int16_input(op, scale):
    check_bit_exact(unary16(op, (1, 65536), scale), kernel_sets=KS,
                    inputs=[(ALL_INT16.reshape(1, -1),), (ALL_INT16[::-1].reshape(1, -1).copy(),)])


def test_power_of_two_shortcut_taken():
    """The scales above do reach both paths of the input rescale (so the sweep tests each)."""
    assert act16.sigmoid_input_params(2.0 ** -12, (0,)) == (3, 0)
    assert act16.sigmoid_input_params(2.0 ** -12 * 1.0005, (0,)) == (3, 0)
    assert act16.sigmoid_input_params(2.0 ** -11, (0, 1)) == (6, 0)
    assert act16.sigmoid_input_params(2.0 ** -11, (0,))[1] > 0      # LOGISTIC: general path
    assert act16.sigmoid_input_params(2.0 ** -12 * 1.002, (0,))[1] > 0


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("shape,scale", [((2, 3, 5, 7), 0.0007), ((1, 1), 0.05), ((4, 33), 2.0 ** -12)])
def test_sigmoid_like_random_shapes(op, shape, scale):
    check_bit_exact(unary16(op, shape, scale), trials=3, kernel_sets=KS)


@pytest.mark.parametrize("op,kw,msg", [
    ("LOGISTIC", {"in_zp": 3}, "input zero point must be 0"),
    ("TANH", {"out_zp": -5}, "output quantization must be scale 2^-15"),
    ("LOGISTIC", {"out_scale": 2.0 ** -14}, "output quantization must be scale 2^-15"),
    ("TANH", {"in_scale": 3.0}, "input scale 3 is too large"),
    ("LOGISTIC", {"in_scale": -0.01}, "quantization scale -0.01 is not positive"),
])
def test_sigmoid_like_refusals(op, kw, msg):
    args = {"in_scale": 0.001, **kw}
    with pytest.raises(UnsupportedModelError) as e:
        packed(unary16(op, (1, 8), args.pop("in_scale"), **args), "ref")
    assert msg in str(e.value).splitlines()[0] and f"({op})" in str(e.value)


def test_int16_chain_is_not_folded_into_a_lookup():
    """fuse_lookup_chain tabulates int8 chains only: an int16 LOGISTIC -> TANH stays two ops."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 300), "int16", scale=0.002, zero_point=0)
    h = b.tensor("h", (1, 300), "int16", scale=Q15, zero_point=0)
    y = b.tensor("y", (1, 300), "int16", scale=Q15, zero_point=0)
    b.op("LOGISTIC", [x], [h])
    b.op("TANH", [h], [y])
    data = b.build(inputs=[x], outputs=[y])
    for ks in KS:
        assert [op.type for op in packed(data, ks).graph.ops] == ["LOGISTIC", "TANH"]
    check_bit_exact(data, trials=3, kernel_sets=KS)


# -- SOFTMAX -------------------------------------------------------------------------------

# (shape, input scale, beta): scale * beta from tiny (nearly uniform rows) to the largest the
# reference's int32 rescale takes (just below 5); 1-D to 4-D, rows of 1 to 1000
SOFTMAX_CASES = [
    ((1, 10), 10 / 32768, 1.0), ((3, 10), 0.001, 1.0), ((2, 100), 3e-4, 2.0), ((4, 7), 0.01, 0.5),
    ((2, 3, 5), 1e-5, 1.0), ((5, 1), 0.1, 1.0), ((2, 1000), 4.9, 1.0), ((2, 50), 2.0 ** -16, 0.3),
    ((1, 2, 3, 9), 0.0021, 1.7), ((17,), 6e-4, 1.0), ((3, 64), 2.0 ** -12, 1.0), ((2, 20), 1e-7, 1.0),
]


@pytest.mark.parametrize("shape,scale,beta", SOFTMAX_CASES)
def test_softmax16_random(shape, scale, beta):
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    inputs = [(rng.integers(-32768, 32768, shape, dtype=np.int16),) for _ in range(2)]
    inputs.append((rng.integers(-2000, 2000, shape).astype(np.int16),))  # clustered: exps far from 0
    inputs.append((np.full(shape, 1234, np.int16),))                      # uniform rows
    check_bit_exact(softmax16(shape, scale, beta), kernel_sets=KS, inputs=inputs)


@pytest.mark.parametrize("scale,beta", [(1e-4, 1.0), (10 / 65535, 1.0), (2e-6, 3.0), (3.0, 1.5)])
def test_softmax16_every_difference(scale, beta):
    """One row holding every int16 value: every difference -65535..0 goes through the rescale and
    the exp table."""
    x = ALL_INT16.reshape(1, -1)
    check_bit_exact(softmax16((1, 65536), scale, beta), kernel_sets=KS, inputs=[(x,), (x[:, ::-1].copy(),)])


def _sum_sweep():
    """Rows [32767, 32767 - k] for k = 0..65535 (ref: every 16th k): the row sums walk from
    2 x 32767 down to 32767 + exp(-10), so the normalized sum visits every entry of 1/(1+x)."""
    k = np.arange(65536)
    return np.stack([np.full(65536, 32767), 32767 - k], axis=1).astype(np.int16)


def test_softmax16_every_reciprocal_entry():
    rows = _sum_sweep()
    data = softmax16(rows.shape, 10 / 65535)
    check_bit_exact(data, kernel_sets=("np",), inputs=[(rows,)])
    small = softmax16(rows[::16].shape, 10 / 65535)
    check_bit_exact(small, kernel_sets=("ref",), inputs=[(np.ascontiguousarray(rows[::16]),)])


def test_softmax16_tables_are_float32(monkeypatch):
    """TFLite Micro builds its tables in float32: the same steps in double give a 1/(1+x) table
    two entries apart, and the sum sweep sees the difference (so it checks the build)."""
    import math

    def double_lut(fn, isc, izp, osc, ozp):
        rnd = act16.tflite_round32
        lo, hi = isc * (-32768 - izp), isc * (32767 - izp)
        step, inv = (hi - lo) / 512, 65536 / (osc * 65535)
        out = []
        for i in range(512):
            v, mid, nxt = fn(lo + i * step), fn(lo + i * step + step / 2), fn(lo + (i + 1) * step)
            s = float(rnd(v * inv))
            err = float(rnd((nxt * inv + s) / 2)) - float(rnd(mid * inv))
            out.append(s - float(rnd(err / 2)))
        out.append(float(rnd(fn(hi) * inv)))
        return np.clip(out, -32768, 32767).astype(np.int16)
    exp64 = double_lut(math.exp, 10 / 65535, 32767, 2 / 65535, 0)
    rec64 = double_lut(lambda v: 1 / (1 + v), 1 / 65535, -32768, 2 / 65535, 0)
    exp32, rec32 = act16.softmax_luts()
    assert np.array_equal(exp64, exp32) and int((rec64 != rec32).sum()) == 2
    rows = _sum_sweep()
    data = softmax16(rows.shape, 10 / 65535)
    monkeypatch.setattr(act16, "softmax_luts", lambda: (exp64, rec64))
    with pytest.raises(AssertionError, match="max difference"):
        check_bit_exact(data, kernel_sets=("np",), inputs=[(rows,)])


@pytest.mark.parametrize("kw,msg", [
    ({"out_scale": 1 / 32000}, "output quantization must be scale 1/32768"),
    ({"out_zp": -32768}, "output quantization must be scale 1/32768"),
    ({"scale": 6.0}, "is too large"),
])
def test_softmax16_refusals(kw, msg):
    args = {"scale": 0.001, **kw}
    with pytest.raises(UnsupportedModelError) as e:
        packed(softmax16((1, 8), args.pop("scale"), **args), "ref")
    assert msg in str(e.value).splitlines()[0] and "(SOFTMAX)" in str(e.value)


# int8 input, int16 output (zero point -32768, scale 1/65536): the int8 algorithm, 16 output bits
def softmax8to16(shape, in_scale, in_zp, beta=1.0, out_q=(1 / 65536, -32768)):
    b = ModelBuilder()
    x = b.tensor("x", shape, "int8", scale=in_scale, zero_point=in_zp)
    y = b.tensor("y", shape, "int16", scale=out_q[0], zero_point=out_q[1])
    b.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=beta)
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.parametrize("shape,scale,zp,beta", [
    ((2, 10), 0.1, 0, 1.0), ((2, 10), 0.0005, -7, 1.0), ((3, 10), 4.0, -128, 1.0), ((4, 1), 0.05, 0, 1.0),
    ((2, 1000), 0.05, -20, 4.0), ((2, 3, 2, 7), 0.5, -1, 0.8), ((1, 3000), 0.2, 0, 1.0)])
def test_softmax_int8_to_int16_random(shape, scale, zp, beta):
    check_bit_exact(softmax8to16(shape, scale, zp, beta), trials=3, kernel_sets=KS)


@pytest.mark.parametrize("scale,beta", [(0.0005, 1.0), (0.01, 1.0), (0.2, 1.0), (1.5, 1.0)])
def test_softmax_int8_to_int16_every_difference(scale, beta):
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    check_bit_exact(softmax8to16((1, 256), scale, -3, beta), kernel_sets=KS, inputs=[(x,), (x[:, ::-1].copy(),)])


def test_softmax_int8_to_int16_output_quant_refused():
    with pytest.raises(UnsupportedModelError) as e:
        packed(softmax8to16((1, 8), 0.1, 0, out_q=(1 / 32768, 0)), "ref")
    assert "int16 output quantization must be scale 1/65536" in str(e.value).splitlines()[0]


# -- all three ------------------------------------------------------------------------------

MODELS = {
    "LOGISTIC": lambda: unary16("LOGISTIC", (3, 500), 0.0011),
    "TANH": lambda: unary16("TANH", (3, 500), 2.0 ** -11),
    "SOFTMAX": lambda: softmax16((6, 40), 0.0009, 1.0),
    "SOFTMAX_8_16": lambda: softmax8to16((6, 40), 0.05, 3),
}


@pytest.mark.parametrize("op", sorted(MODELS))
@pytest.mark.parametrize("ks,runs_on", [("c", "np"), ("viper", "ref")])
def test_int8_only_sets_resolve_int16_ops(op, ks, runs_on):
    data = MODELS[op]()
    it = Interpreter(packed(data, ks).binary)
    assert it.op_kernel_sets == [runs_on]
    ref = TFLM(data)
    rng = np.random.default_rng(5)
    d = it.input_details()[0]
    for _ in range(3):
        x = rng.integers(np.iinfo(d["dtype"]).min, np.iinfo(d["dtype"]).max + 1, d["shape"]).astype(d["dtype"])
        assert np.array_equal(run_edge(it, [x])[0], ref(x)[0])


@pytest.mark.parametrize("op", sorted(MODELS))
def test_np_invoke_allocates_nothing(op):
    it = Interpreter(packed(MODELS[op](), "np").binary, kernels="np")
    assert it.op_kernel_sets == ["np"]
    d = it.input_details()[0]
    it.set_input(0, np.random.default_rng(2).integers(-100, 100, d["shape"]).astype(d["dtype"]))
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < 4096, (growth, peak)  # as tests/test_zero_alloc.py


# -- SVDF: TFLite Micro has no int16-activation SVDF (input int8 or float32 only); its int8 kernel
# reads the activation state with the time weights' type, so a mismatch is refused -----------

def svdf_mixed(wt_dtype, state_dtype):
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "int8", 0.04, 0)
    wf = b.const("wf", rng.integers(-127, 128, (4, 4), dtype=np.int8), 0.01)
    wt = b.const("wt", rng.integers(-100, 100, (4, 3)).astype(wt_dtype), 0.02)
    bias = b.const("bias", np.zeros(2, np.int32), float(np.float32(np.float32(0.01) * np.float32(0.02))))
    st = b.tensor("state", (1, 12), state_dtype, 0.01, 0, variable=True)
    y = b.tensor("y", (1, 2), "int8", 0.1, 0)
    b.op("SVDF", [x, wf, wt, bias, st], [y], "SVDFOptions", Rank=2, FusedActivationFunction="NONE")
    return b.build([x], [y])


@pytest.mark.parametrize("wt,state", [("int8", "int16"), ("int16", "int8")])
def test_svdf_time_weights_and_state_types_must_match(wt, state):
    with pytest.raises(UnsupportedModelError) as e:
        packed(svdf_mixed(wt, state), "ref")
    assert "TFLite Micro requires one type for both" in str(e.value).splitlines()[0] and "(SVDF)" in str(e.value)
    check_bit_exact(svdf_mixed(wt, wt), trials=2, kernel_sets=KS)  # the matching pair runs


def test_svdf_int16_input_refused():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "int16", 0.04, 0)
    wf = b.const("wf", np.ones((4, 4), np.int8), 0.01)
    wt = b.const("wt", np.ones((4, 3), np.int16), 0.02)
    bias = b.const("bias", np.zeros(2, np.int32), float(np.float32(np.float32(0.01) * np.float32(0.02))))
    st = b.tensor("state", (1, 12), "int16", 0.01, 0, variable=True)
    y = b.tensor("y", (1, 2), "int16", 0.1, 0)
    b.op("SVDF", [x, wf, wt, bias, st], [y], "SVDFOptions", Rank=2)
    with pytest.raises(UnsupportedModelError) as e:
        packed(b.build([x], [y]), "np")
    assert "input tensor" in str(e.value) and "supported: int8" in str(e.value) and "(SVDF)" in str(e.value)


# -- MicroPython (32-bit WebAssembly port): the ref kernels stay within small ints -------------

def test_int16_ops_on_micropython_heap_locked():
    from edge_rt.testing import micropython as MP
    why = MP.unavailable()
    if why:
        pytest.skip(why)
    rng = np.random.default_rng(11)
    slice16 = ALL_INT16[::16].reshape(1, -1).copy()  # 4096 values over the whole range
    cases = [(unary16("LOGISTIC", (1, 4096), 3.1e-4), [slice16]),     # shift 31-bit products
             (unary16("TANH", (1, 4096), 1e-9), [slice16]),            # the largest shift
             (unary16("TANH", (1, 4096), 2.6), [slice16]),             # shift 0, mult near 2**15
             (softmax16((4, 64), 0.002, 1.0), [rng.integers(-32768, 32768, (4, 64), dtype=np.int16)]),
             (softmax16((2, 300), 4.9, 1.0), [rng.integers(-32768, 32768, (2, 300), dtype=np.int16)]),
             (softmax8to16((3, 40), 0.05, 3), [rng.integers(-128, 128, (3, 40), dtype=np.int8)])]
    for data, xs in cases:
        res = MP.run_model(packed(data, "ref").binary, [xs])  # raises on an allocation in invoke()
        want = TFLM(data)(*xs)[0]
        assert want.dtype == np.int16
        assert np.array_equal(np.frombuffer(res.outputs[0][0], np.int16).reshape(want.shape), want)


def test_bench_tool_runs():
    """tools/int16_nonlinear_bench.py (the figures in docs/int16.md) runs and reports each model."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, os.path.join(root, "tools", "int16_nonlinear_bench.py"), "--repeat", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len([ln for ln in r.stdout.splitlines() if " int16 (" in ln or "int8->int16" in ln]) == 4, r.stdout
