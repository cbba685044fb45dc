"""SVDF (int8 input and feature weights, int16 or int8 time weights and activation state, int32
bias): single-op models over batch, input size, filters, rank and memory, state and input zero
points, bit-exact against TFLite Micro on both kernel sets over several invokes in a row (the
activation state, a variable tensor, carries as in TFLite Micro); reset_state; np invoke
allocation-free; refusals name the op."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.conformance import check_bit_exact, run_edge, traced_invokes
from edge_rt.testing.reference import TFLM
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref")


def svdf_model(batch=1, n_in=8, units=4, rank=2, memory=5, state="int16", seed=0, x_zp=-5, s_zp=0,
               act="RELU", bias=True, s_scale=0.01, y=None):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    nf = units * rank
    x = b.tensor("x", (batch, n_in), "int8", 0.04, x_zp)
    wf = b.const("wf", rng.integers(-127, 128, (nf, n_in), dtype=np.int8), 0.01)
    if state == "int16":
        wt_scale = 0.0005
        wt = b.const("wt", rng.integers(-3000, 3001, (nf, memory), dtype=np.int16), wt_scale)
    else:
        wt_scale = 0.02
        wt = b.const("wt", rng.integers(-127, 128, (nf, memory), dtype=np.int8), wt_scale)
    bs = float(np.float32(np.float32(s_scale) * np.float32(wt_scale)))
    bt = b.const("bias", rng.integers(-20000, 20001, units, dtype=np.int32), bs) if bias else -1
    st = b.tensor("state", (batch, nf * memory), state, s_scale, s_zp, variable=True)
    # an output scale that keeps most outputs off the int8 bounds
    out = b.tensor("y", (batch, units), "int8", *(y or ((0.4 if state == "int16" else 0.15), 3)))
    b.op("SVDF", [x, wf, wt, bt, st], [out], "SVDFOptions", Rank=rank, FusedActivationFunction=act)
    return b.build([x], [out])


def sequence(data, n, seed=1):
    rng = np.random.default_rng(seed)
    shape = Interpreter(pack(data, "svdf.tflite", kernels="ref", check_budget=False).binary).input_details()[0]["shape"]
    return [(rng.integers(-128, 128, shape, dtype=np.int8),) for _ in range(n)]


def check(data, n=6, seed=1):
    check_bit_exact(data, kernel_sets=KS, inputs=sequence(data, n, seed))


@pytest.mark.parametrize("batch,n_in,units,rank,memory", [
    (1, 1, 1, 1, 1), (1, 8, 4, 2, 5), (1, 16, 16, 1, 8), (2, 5, 3, 3, 4), (3, 12, 6, 2, 10), (1, 40, 8, 1, 16)])
@pytest.mark.parametrize("state", ["int16", "int8"])
def test_svdf_shapes(batch, n_in, units, rank, memory, state):
    check(svdf_model(batch, n_in, units, rank, memory, state, seed=batch + n_in + units + memory,
                     s_zp=0 if state == "int16" else 6))


def test_svdf_random_sweep():
    rng = np.random.default_rng(3)
    for k in range(8):
        state = ["int16", "int8"][k % 2]
        check(svdf_model(1, int(rng.integers(1, 17)), int(rng.integers(1, 9)), int(rng.integers(1, 4)),
                         int(rng.integers(1, 12)), state, seed=k, x_zp=int(rng.integers(-128, 128)),
                         s_zp=0 if state == "int16" else int(rng.integers(-20, 20)),
                         s_scale=float(rng.uniform(0.002, 0.05)), act=["NONE", "RELU"][k % 2]), n=4, seed=k)


def test_svdf_state_carried_and_reset():
    data = svdf_model(1, 6, 3, 2, 4, seed=9)
    it = Interpreter(pack(data, "svdf.tflite", kernels="ref", check_budget=False).binary)
    ref = TFLM(data)
    xs = sequence(data, 1)[0]
    outs = [run_edge(it, xs)[0] for _ in range(4)]
    assert all(np.array_equal(o, ref(*xs)[0]) for o in outs)
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])
    it.reset_state()
    assert np.array_equal(run_edge(it, xs)[0], outs[0])


@pytest.mark.parametrize("state", ["int16", "int8"])
def test_svdf_np_invoke_allocates_nothing(state):
    data = svdf_model(2, 10, 4, 2, 6, state)
    it = Interpreter(pack(data, "svdf.tflite", kernels="np", check_budget=False).binary, kernels="np")
    it.set_input(0, sequence(data, 1)[0][0])
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < 4096, (growth, peak)  # as tests/test_zero_alloc.py


def test_svdf_without_bias_refused():
    with pytest.raises(UnsupportedModelError) as e:
        pack(svdf_model(bias=False), "svdf.tflite", kernels="ref", check_budget=False)
    assert "SVDF without a bias" in str(e.value).splitlines()[0] and "(SVDF)" in str(e.value)


@pytest.mark.parametrize("ks,runs_on", [("c", "np"), ("viper", "ref")])
def test_svdf_other_kernel_sets_fall_back(ks, runs_on):
    data = svdf_model(1, 6, 3, 2, 4, seed=4)
    it = Interpreter(pack(data, "svdf.tflite", kernels=ks, check_budget=False).binary)
    assert it.op_kernel_sets == [runs_on]
    check_bit_exact(data, kernel_sets=(ks,), inputs=sequence(data, 3))
