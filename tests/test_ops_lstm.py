"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8 weights, int16 cell state; int8 activations with int32 biases
and int16 activations with int64 biases, the two integer LSTMs TFLite Micro runs): single-op models
over batch, time steps, input and state sizes, batch- and time-major, cell clip, state scales and
zero points, bit-exact against TFLite Micro on both kernel sets, with the hidden and cell state
(variable tensors) carried across invokes as TFLite Micro carries them; the np invoke allocates
nothing; the LSTM variants (CIFG, peephole, projection, layer norm) are refused in one line, and
TFLite Micro is shown to refuse them too."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.conformance import check_bit_exact, run_edge, traced_invokes
from edge_rt.testing.reference import TFLM
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref")


def lstm_model(batch=1, steps=3, n_in=4, n_state=5, seed=0, time_major=False, cell_clip=0.0,
               cell_pow=-11, h_scale=1 / 128, h_zp=0, x_scale=0.05, x_zp=-3, w_scale=0.02, bias_range=2000,
               variant=None, activation="TANH", act="int8"):
    """act "int16": int16 input, hidden state and output with int64 biases (the 16x8 LSTM)."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    shape = (steps, batch, n_in) if time_major else (batch, steps, n_in)
    x = b.tensor("x", shape, act, x_scale, x_zp)
    ins = [x]
    for g in ("input", "forget", "cell", "output"):  # 1-4
        ins.append(b.const(f"w_x_{g}", rng.integers(-127, 128, (n_state, n_in), dtype=np.int8),
                           w_scale * rng.uniform(0.5, 1.5)))
    for g in ("input", "forget", "cell", "output"):  # 5-8
        ins.append(b.const(f"w_h_{g}", rng.integers(-127, 128, (n_state, n_state), dtype=np.int8),
                           w_scale * rng.uniform(0.5, 1.5)))
    peep = [-1, -1, -1]  # 9-11
    if variant == "peephole":
        peep = [b.const(f"peep{i}", rng.integers(-100, 100, n_state, dtype=np.int16), 0.001) for i in range(3)]
    ins += peep
    for g in ("input", "forget", "cell", "output"):  # 12-15
        ins.append(b.const(f"b_{g}", rng.integers(-bias_range, bias_range + 1, n_state).astype(
            np.int32 if act == "int8" else np.int64), x_scale * w_scale))
    ins += [-1, -1]  # 16-17 projection
    if variant == "projection":
        ins[16] = b.const("proj", rng.integers(-127, 128, (n_state, n_state), dtype=np.int8), 0.02)
    if variant == "cifg":
        ins[1] = ins[5] = ins[12] = -1
    ins.append(b.tensor("h", (batch, n_state), act, h_scale, h_zp, variable=True))  # 18
    ins.append(b.tensor("c", (batch, n_state), "int16", 2.0 ** cell_pow, 0, variable=True))  # 19
    ins += [-1] * 4  # 20-23 layer norm
    if variant == "layer_norm":
        ins[20:24] = [b.const(f"ln{i}", rng.integers(1, 30000, n_state, dtype=np.int16), 0.0001) for i in range(4)]
    out_shape = shape[:2] + (n_state,)
    y = b.tensor("y", out_shape, act, h_scale, h_zp)
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], "UnidirectionalSequenceLSTMOptions",
         FusedActivationFunction=activation, CellClip=float(cell_clip), TimeMajor=bool(time_major))
    return b.build([x], [y])


def sequence(data, n=4, seed=1):
    rng = np.random.default_rng(seed)
    d = Interpreter(pack(data, "lstm.tflite", kernels="ref", check_budget=False).binary).input_details()[0]
    info = np.iinfo(d["dtype"])
    return [(rng.integers(info.min, info.max + 1, d["shape"], dtype=d["dtype"]),) for _ in range(n)]


def check(data, n=4, seed=1):
    """Bit-exact over n invokes in a row: the state carries from one invoke to the next."""
    check_bit_exact(data, kernel_sets=KS, inputs=sequence(data, n, seed))


@pytest.mark.parametrize("batch,steps,n_in,n_state", [
    (1, 1, 1, 1), (1, 3, 4, 5), (1, 8, 16, 16), (1, 5, 10, 3), (1, 2, 1, 16), (1, 8, 3, 1),
    (2, 4, 6, 7), (3, 2, 5, 4)])
def test_lstm_shapes(batch, steps, n_in, n_state):
    check(lstm_model(batch, steps, n_in, n_state, seed=batch * 100 + steps * 10 + n_in + n_state))


def test_lstm_random_sweep():
    rng = np.random.default_rng(7)
    for k in range(10):
        steps, n_in, n_state = (int(v) for v in rng.integers(1, [9, 17, 17]))
        check(lstm_model(1, steps, n_in, n_state, seed=k, h_zp=int(rng.integers(-20, 20)),
                         cell_pow=int(rng.choice([-15, -13, -12, -11, -10])),
                         h_scale=float(rng.uniform(0.004, 0.02)), x_zp=int(rng.integers(-128, 128)),
                         bias_range=int(rng.choice([100, 5000, 50000]))), n=3, seed=k)


@pytest.mark.parametrize("batch", [1, 3])
def test_lstm_time_major(batch):
    check(lstm_model(batch, 4, 5, 6, seed=11, time_major=True))


@pytest.mark.parametrize("clip", [0.5, 3.0, 100.0])
def test_lstm_cell_clip(clip):
    check(lstm_model(1, 6, 8, 8, seed=3, cell_clip=clip, bias_range=60000, w_scale=0.05))


def test_lstm_state_carried_and_reset():
    """Outputs differ from invoke to invoke for equal inputs (the state carries), and
    reset_state() restarts from the initial state as a fresh TFLite Micro does."""
    data = lstm_model(1, 2, 4, 6, seed=5)
    it = Interpreter(pack(data, "lstm.tflite", kernels="ref", check_budget=False).binary)
    ref = TFLM(data)
    xs = sequence(data, 1)[0]
    outs = []
    for _ in range(4):
        want = ref(*xs)[0]
        got = run_edge(it, xs)[0]
        assert np.array_equal(got, want)
        outs.append(got)
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])
    it.reset_state()
    assert np.array_equal(run_edge(it, xs)[0], outs[0])


@pytest.mark.parametrize("variant,msg", [
    ("peephole", "peephole LSTM not supported"), ("projection", "projection LSTM not supported"),
    ("layer_norm", "layer norm LSTM not supported"), ("cifg", "CIFG LSTM")])
def test_lstm_variants_refused(variant, msg):
    with pytest.raises(UnsupportedModelError) as e:
        pack(lstm_model(variant=variant), "lstm.tflite", kernels="ref", check_budget=False)
    assert msg in str(e.value) and "UNIDIRECTIONAL_SEQUENCE_LSTM" in str(e.value)
    assert msg in str(e.value).splitlines()[0]  # one line names the problem


def test_lstm_between_other_ops():
    """QUANTIZE-free chain: int8 features -> LSTM -> FULLY_CONNECTED over every step's hidden
    state (the usual keyword/gesture head), planned and run as one graph, over invokes."""
    rng = np.random.default_rng(12)
    b = ModelBuilder()
    steps, n_in, n_state, n_out = 5, 6, 8, 3
    x = b.tensor("x", (1, steps, n_in), "int8", 0.05, -3)
    ins = [x]
    for k in range(8):
        ins.append(b.const(f"w{k}", rng.integers(-127, 128, (n_state, n_in if k < 4 else n_state), dtype=np.int8),
                           0.02))
    ins += [-1, -1, -1]
    ins += [b.const(f"b{k}", rng.integers(-2000, 2000, n_state, dtype=np.int32), 0.05 * 0.02) for k in range(4)]
    ins += [-1, -1, b.tensor("h", (1, n_state), "int8", 1 / 128, 4, variable=True),
            b.tensor("c", (1, n_state), "int16", 2.0 ** -11, 0, variable=True)] + [-1] * 4
    seq = b.tensor("seq", (1, steps, n_state), "int8", 1 / 128, 4)
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [seq], "UnidirectionalSequenceLSTMOptions",
         FusedActivationFunction="TANH", TimeMajor=False)
    w = b.const("fc_w", rng.integers(-127, 128, (n_out, n_state), dtype=np.int8), 0.03)
    y = b.tensor("y", (steps, n_out), "int8", 0.1, -2)
    b.op("FULLY_CONNECTED", [seq, w, -1], [y], "FullyConnectedOptions")
    data = b.build([x], [y])
    check(data, n=5)


# -- int16 activations (16x8 LSTM: int16 input, hidden state and output, int64 biases) ----------

def lstm16(batch=1, steps=3, n_in=4, n_state=5, seed=0, **kw):
    kw = {"x_scale": 1 / 2048, "x_zp": 0, "h_scale": 1 / 16384, "h_zp": 0, "bias_range": 300000, **kw}
    return lstm_model(batch, steps, n_in, n_state, seed=seed, act="int16", **kw)


@pytest.mark.parametrize("batch,steps,n_in,n_state", [
    (1, 1, 1, 1), (1, 3, 4, 5), (1, 8, 16, 16), (1, 2, 1, 16), (2, 4, 6, 7), (3, 2, 5, 4)])
def test_lstm16_shapes(batch, steps, n_in, n_state):
    check(lstm16(batch, steps, n_in, n_state, seed=batch * 100 + steps * 10 + n_in + n_state))


def test_lstm16_random_sweep():
    """Scales, zero points (TFLite Micro honours non-zero int16 ones), cell scales, bias ranges up to
    2**40 (int64 accumulators), cell clip and time-major, over invokes."""
    rng = np.random.default_rng(17)
    for k in range(12):
        steps, n_in, n_state = (int(v) for v in rng.integers(1, [9, 17, 17]))
        tm = bool(k % 3 == 2)
        check(lstm16(int(rng.integers(1, 3)) if tm else 1, steps, n_in, n_state, seed=50 + k, time_major=tm,
                     x_scale=float(rng.uniform(2e-5, 1e-3)), h_scale=float(rng.uniform(2e-5, 2e-4)),
                     x_zp=int(rng.integers(-300, 300)) if k % 2 else 0,
                     h_zp=int(rng.integers(-300, 300)) if k % 4 == 1 else 0,
                     cell_pow=int(rng.choice([-15, -13, -12, -11, -10])), w_scale=float(rng.uniform(0.005, 0.05)),
                     cell_clip=float(rng.choice([0.0, 0.7, 3.0])),
                     bias_range=int(rng.choice([1000, 300000, 1 << 40]))), n=3, seed=k)


def test_lstm16_saturating_gates():
    """Large weights and inputs: the int16 FC outputs and their sum saturate, the cell state clips."""
    check(lstm16(1, 6, 8, 8, seed=3, x_scale=0.01, w_scale=0.08, cell_clip=2.5, bias_range=1 << 30))


def test_lstm16_bias_beyond_int64_requantization_refused():
    """A bias whose product with the 15-bit multiplier leaves int64 (TFLite's C would overflow)."""
    with pytest.raises(UnsupportedModelError) as e:
        pack(lstm16(bias_range=1 << 60), "lstm.tflite", kernels="ref", check_budget=False)
    assert "would overflow int64" in str(e.value).splitlines()[0]


def _model_of(width):
    return lstm_model if width == "int8" else lstm16


@pytest.mark.parametrize("width", ["int8", "int16"])
def test_lstm_np_invoke_allocates_nothing(width):
    data = _model_of(width)(1, 4, 8, 8, seed=2)
    it = Interpreter(pack(data, "lstm.tflite", kernels="np", check_budget=False).binary, kernels="np")
    it.set_input(0, sequence(data, 1)[0][0])
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < 4096, (growth, peak)  # as tests/test_zero_alloc.py (numpy scalars)


@pytest.mark.parametrize("width", ["int8", "int16"])
@pytest.mark.parametrize("ks,runs_on", [("np", "np"), ("c", "np"), ("viper", "ref")])
def test_lstm_kernel_sets(width, ks, runs_on):
    """Both forms run on np, and packed for c or viper fall back to np or ref."""
    data = _model_of(width)(1, 3, 4, 5, seed=8)
    it = Interpreter(pack(data, "lstm.tflite", kernels=ks, check_budget=False).binary)
    assert it.op_kernel_sets == [runs_on]
    check_bit_exact(data, kernel_sets=(ks,), inputs=sequence(data, 3))


def test_lstm_mixed_activation_types_refused():
    """An int8 input with an int16 hidden state: TFLite Micro requires one activation type."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor("x", (1, 2, 3), "int8", 0.05, 0)
    ins = [x] + [b.const(f"w{k}", rng.integers(-127, 128, (4, 3 if k < 4 else 4), dtype=np.int8), 0.02)
                 for k in range(8)]
    ins += [-1, -1, -1] + [b.const(f"b{k}", np.zeros(4, np.int32), 0.001) for k in range(4)] + [-1, -1]
    ins += [b.tensor("h", (1, 4), "int16", 1 / 16384, 0, variable=True),
            b.tensor("c", (1, 4), "int16", 2.0 ** -11, 0, variable=True)] + [-1] * 4
    y = b.tensor("y", (1, 2, 4), "int8", 1 / 128, 0)
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], "UnidirectionalSequenceLSTMOptions",
         FusedActivationFunction="TANH", TimeMajor=False)
    with pytest.raises(UnsupportedModelError) as e:
        pack(b.build([x], [y]), "lstm.tflite", kernels="ref", check_budget=False)
    assert "hidden state tensor" in str(e.value) and "int16; supported: int8" in str(e.value).splitlines()[0]


@pytest.mark.parametrize("variant,check_line", [
    ("peephole", "== nullptr"), ("projection", "== nullptr"), ("layer_norm", "== nullptr"),
    ("cifg", "!= nullptr")])
def test_lstm_variants_tflite_micro_refuses(variant, check_line, capfd):
    """The refusal's claim, checked: TFLite Micro fails the variant in the LSTM's Prepare
    (LstmTensors::ValidateTensorStatus: variant tensors must be absent, the input gate's present),
    while the same model without the variant runs (test_lstm_shapes)."""
    capfd.readouterr()
    with pytest.raises(RuntimeError):
        TFLM(lstm_model(variant=variant))(np.zeros((1, 3, 4), np.int8))
    err = "".join(capfd.readouterr())
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in err and "failed to prepare" in err, err
    assert "lstm_eval.cc" in err and check_line in err, err
    with pytest.raises(UnsupportedModelError) as e:
        pack(lstm_model(variant=variant), "lstm.tflite", kernels="ref", check_budget=False)
    assert "TFLite Micro does not run it either" in str(e.value).splitlines()[0]
