"""SOFTMAX, LOGISTIC, TANH and HARD_SWISH (int8) are bit-exact with TFLite Micro on both
kernel sets. The table ops are fed all 256 int8 values so every table entry is checked
against the oracle; SOFTMAX rows holding every difference 0..255 do the same for its exp
table. Unsupported quantizations are rejected at pack time, naming the op."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.c_set import C_SETS
from edge_rt.testing.conformance import check_bit_exact, run_edge
from edge_rt.testing.reference import TFLM
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref") + C_SETS  # c: every op on the C kernels (all_c)
ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def unary_model(op, shape, in_q, out_q, options=None, **fields):
    b = ModelBuilder()
    x = b.tensor("x", shape, "int8", scale=in_q[0], zero_point=in_q[1])
    y = b.tensor("y", shape, "int8", scale=out_q[0], zero_point=out_q[1])
    b.op(op, [x], [y], options, **fields)
    return b.build(inputs=[x], outputs=[y])


def softmax_model(shape, in_q, beta=1.0, out_q=(1 / 256, -128)):
    return unary_model("SOFTMAX", shape, in_q, out_q, "SoftmaxOptions", Beta=beta)


def check_all_int8(data, shape, **pack_kw):
    """Run every int8 value through the op (reshaped to `shape`, 256 elements) and in reverse."""
    x = ALL_INT8.reshape(shape)
    check_bit_exact(data, kernel_sets=KS, all_c=True, inputs=[(x,), (x[..., ::-1].copy(),)], **pack_kw)


# -- SOFTMAX -------------------------------------------------------------------------------

# (shape, input scale, input zero point, beta). TFLite Micro aborts when a row's sum of exps
# reaches 512, so the 1000-wide rows use a scale * beta that keeps random rows peaked.
SOFTMAX_CASES = [
    ((2, 10), 0.1, 0, 1.0),
    ((2, 10), 0.0005, -7, 1.0),      # tiny scale: nearly uniform rows
    ((3, 10), 0.02, 10, 2.0),
    ((3, 10), 4.0, -128, 1.0),       # large scale: multiplier capped, one-hot rows
    ((2, 10), 0.3, 5, 0.37),
    ((4, 1), 0.05, 0, 1.0),          # rows of length 1 are always 1.0 -> 127
    ((1, 1000), 0.1, 3, 1.0),
    ((2, 1000), 0.05, -20, 4.0),
    ((1, 2, 3, 10), 0.07, 2, 1.0),   # 4-D: softmax over the last axis only
    ((2, 3, 2, 7), 0.5, -1, 0.8),
]


@pytest.mark.parametrize("shape,scale,zp,beta", SOFTMAX_CASES)
def test_softmax_random(shape, scale, zp, beta):
    check_bit_exact(softmax_model(shape, (scale, zp), beta), trials=4, kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("scale,beta", [(0.002, 1.0), (0.03, 1.0), (0.11, 0.5), (0.6, 1.0), (2.0, 3.0)])
def test_softmax_near_max_rows(scale, beta):
    """Rows clustered a few steps below their max: the region where exp is far from 0."""
    rng = np.random.default_rng(7)
    shape = (6, 24)
    inputs = []
    for _ in range(4):
        top = rng.integers(-100, 128, size=(shape[0], 1))
        inputs.append((np.clip(top - rng.integers(0, 12, size=shape), -128, 127).astype(np.int8),))
    inputs.append((np.full(shape, 42, np.int8),))  # all equal: exactly uniform
    check_bit_exact(softmax_model(shape, (scale, 0), beta), kernel_sets=KS, all_c=True, inputs=inputs)


@pytest.mark.parametrize("scale,beta", [(0.0005, 1.0), (0.01, 1.0), (0.05, 0.7), (0.2, 1.0), (1.5, 1.0)])
def test_softmax_every_difference(scale, beta):
    """Each row holds all 256 int8 values, so every entry of the exp table is exercised."""
    check_all_int8(softmax_model((1, 256), (scale, -3), beta), (1, 256))


def test_softmax_kernel_sets_agree_on_huge_sums():
    """Beyond the reference: with >= 512 near-max values in a row TFLite Micro aborts
    (TFLITE_CHECK on the output exponent); both kernel sets must still agree."""
    data = softmax_model((2, 700), (0.001, 0))
    res = pack(data, "big.tflite", kernels="np")
    x = np.random.default_rng(3).integers(-128, 128, size=(2, 700)).astype(np.int8)
    got = [run_edge(Interpreter(res.binary, kernels=ks), [x])[0] for ks in ("np", "ref")]
    for ks in C_SETS:  # the C set runs its own pack
        it = Interpreter(pack(data, "big.tflite", kernels=ks).binary)
        assert it.op_kernel_sets == [ks]
        got.append(run_edge(it, [x])[0])
    for g in got[1:]:
        assert np.array_equal(got[0], g)
    assert np.all(np.abs(got[0].astype(int) + 128 - 256 / 700) <= 1)  # ~uniform, sanity


# -- LOGISTIC / TANH -----------------------------------------------------------------------

TABLE_IN_Q = [(0.1, 0), (0.0625, -128), (0.02, 37), (0.5, -20), (0.004, 5), (3.0, 0), (1e-7, 0)]


@pytest.mark.parametrize("in_q", TABLE_IN_Q)
def test_logistic_all_inputs(in_q):
    check_all_int8(unary_model("LOGISTIC", (1, 256), in_q, (1 / 256, -128)), (1, 256))


@pytest.mark.parametrize("in_q", TABLE_IN_Q)
def test_tanh_all_inputs(in_q):
    check_all_int8(unary_model("TANH", (2, 4, 4, 8), in_q, (1 / 128, 0)), (2, 4, 4, 8))


@pytest.mark.parametrize("op,out_q", [("LOGISTIC", (1 / 256, -128)), ("TANH", (1 / 128, 0))])
def test_sigmoid_like_random_4d(op, out_q):
    check_bit_exact(unary_model(op, (1, 5, 6, 7), (0.08, 3), out_q), trials=3, kernel_sets=KS, all_c=True)


# -- HARD_SWISH ----------------------------------------------------------------------------

HSWISH_Q = [
    ((0.05, 0), (0.03, -10)),
    ((0.02, -128), (0.02, -128)),
    ((0.1, 20), (0.004, 3)),       # reluish multiplier needs a left shift
    ((0.002, 5), (0.5, 0)),        # output scale >> input scale: big right shifts
    ((0.001, 0), (10.0, 7)),       # output shift >= 16: the int16 rounding quirk
    ((0.7, -3), (0.0056, -100)),   # input / output just below the 128 limit
    ((3.0, 1), (0.2, 12)),
]


@pytest.mark.parametrize("in_q,out_q", HSWISH_Q)
def test_hard_swish_all_inputs(in_q, out_q):
    check_all_int8(unary_model("HARD_SWISH", (16, 16), in_q, out_q), (16, 16))


def test_hard_swish_random_4d():
    check_bit_exact(unary_model("HARD_SWISH", (1, 6, 6, 9), (0.04, -5), (0.025, -60)),
                    trials=3, kernel_sets=KS, all_c=True)


def test_table_ops_chained_in_place():
    """TANH -> LOGISTIC -> HARD_SWISH: the planner lets LOGISTIC overwrite its input, which
    the kernels must tolerate (each element is read before it is written). With all passes
    on the chain becomes one LOOKUP (test_passes.py); here it is kept apart."""
    b = ModelBuilder()
    shape = (1, 256)
    x = b.tensor("x", shape, "int8", scale=0.03, zero_point=4)
    t = b.tensor("t", shape, "int8", scale=1 / 128, zero_point=0)
    s = b.tensor("s", shape, "int8", scale=1 / 256, zero_point=-128)
    y = b.tensor("y", shape, "int8", scale=0.002, zero_point=-100)
    b.op("TANH", [x], [t])
    b.op("LOGISTIC", [t], [s])
    b.op("HARD_SWISH", [s], [y])
    data = b.build(inputs=[x], outputs=[y])
    keep = ("fuse_lookup_chain",)
    assert pack(data, "chain.tflite", kernels="np", disable=keep).plan.inplace >= 1
    check_all_int8(data, shape, disable=keep)
    check_all_int8(data, shape)


# -- rejected configurations ---------------------------------------------------------------

def _rejected(data, op, phrase):
    with pytest.raises(UnsupportedModelError) as e:
        pack(data, "bad.tflite")
    msg = str(e.value)
    assert f"({op})" in msg and phrase in msg, msg


def test_softmax_output_scale_rejected():
    data = softmax_model((1, 10), (0.1, 0), out_q=(1 / 128, -128))
    _rejected(data, "SOFTMAX", "scale 1/256, zero point -128")
    with pytest.raises(Exception):  # the oracle refuses it too
        TFLM(data)(np.zeros((1, 10), np.int8))


def test_softmax_output_zero_point_rejected():
    _rejected(softmax_model((1, 10), (0.1, 0), out_q=(1 / 256, 0)), "SOFTMAX", "zero point -128")


def test_softmax_tiny_beta_rejected():
    _rejected(softmax_model((1, 10), (1e-6, 0), beta=1e-3), "SOFTMAX", "too small")


def test_logistic_output_quant_rejected():
    _rejected(unary_model("LOGISTIC", (1, 8), (0.1, 0), (1 / 256, 0)), "LOGISTIC", "zero point -128")
    _rejected(unary_model("LOGISTIC", (1, 8), (0.1, 0), (1 / 128, -128)), "LOGISTIC", "scale 1/256")


def test_tanh_output_quant_rejected():
    _rejected(unary_model("TANH", (1, 8), (0.1, 0), (1 / 256, 0)), "TANH", "scale 1/128")


def test_hard_swish_scale_ratio_rejected():
    _rejected(unary_model("HARD_SWISH", (1, 8), (1.0, 0), (0.001, 0)), "HARD_SWISH", "too large")
