"""Interpreter lifecycle and input consumption: close() never raises (path-loaded, every kernel
set, mapped or streamed, with the caller still holding arrays), the context manager, os.PathLike
paths; invoke() consumes the inputs the plan overwrites (Interpreter.consumed_inputs) and a second
invoke() without set_input on one of them is a clear InputError, while a plan that keeps its
inputs runs repeated invokes correctly."""
from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

import edge_rt
import edge_rt.interpreter
from edge_rt import format as F
from edge_rt.compiler.pack import pack
from edge_rt.testing import micropython as MP
from edge_rt.testing import shared_models
from edge_rt.testing.reference import TFLM, random_input
from edge_rt.testing.tflite_builder import ModelBuilder



def _available(ks):
    try:
        edge_rt.interpreter.kernel_set(ks)
        return True
    except edge_rt.EdgeRTError:
        return False


# every kernel set this host can run (c and viper where they exist; viper only on MicroPython)
KERNEL_SETS = tuple(ks for ks in F.KERNEL_SETS if _available(ks))
MODELS = ("kws_dscnn_int8", "ic_resnet8_int8", "ad_autoencoder_int8", "micro_speech_int8", "hello_world_int8")


def _packed(tmp_path, name, ks):
    data = shared_models.load(name)
    path = tmp_path / f"{name}_{ks}.ert"
    path.write_bytes(pack(data, name + ".tflite", kernels=ks, check_budget=False).binary)
    return data, path


def _inputs(it, seed=0):
    rng = np.random.default_rng(seed)
    return [random_input(d["shape"], d["dtype"], rng) for d in it.input_details()]


def _fc_model():
    """One FULLY_CONNECTED: its input lives as long as any other buffer, so nothing overwrites it."""
    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.tensor("x", (1, 16), "int8", 0.05, 3)
    w = b.const("w", rng.integers(-127, 128, (8, 16)).astype(np.int8), scale=0.01)
    bias = b.const("b", rng.integers(-500, 500, 8).astype(np.int32), scale=0.0005)
    y = b.tensor("y", (1, 8), "int8", 0.1, -2)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction="NONE")
    return b.build([x], [y])


@pytest.mark.parametrize("ks", KERNEL_SETS)
@pytest.mark.parametrize("stream", [False, True])
def test_close_never_raises_on_a_path_loaded_model(tmp_path, ks, stream):
    _, path = _packed(tmp_path, "kws_dscnn_int8", ks)
    if ks == "c" and stream:  # compiled kernels read constants in place: streaming is refused, clearly
        with pytest.raises(edge_rt.EdgeRTError, match="needs the constants mapped"):
            edge_rt.Interpreter(str(path), stream=stream)
        return
    it = edge_rt.Interpreter(str(path), stream=stream)
    xs = _inputs(it)
    it.set_input(0, xs[0])
    it.invoke()
    kept = [it.get_output(0), it.output_details(), it.input_details()]  # the caller keeps these
    held = None if stream else np.frombuffer(it.model.consts, np.uint8)  # a view of the mapping
    it.close()
    it.close()  # twice is fine
    assert np.array_equal(kept[0], it.get_output(0))
    with pytest.raises(edge_rt.EdgeRTError, match="closed"):
        it.invoke()
    del held


@pytest.mark.parametrize("ks", KERNEL_SETS)
def test_close_releases_the_mapping(tmp_path, ks):
    _, path = _packed(tmp_path, "hello_world_int8", ks)
    it = edge_rt.Interpreter(str(path))
    f, mm = it._keep
    it.set_input(0, _inputs(it)[0])
    it.invoke()
    y = it.get_output(0)
    it.close()
    assert mm.closed and f.closed and y.shape == (1, 1)


def test_context_manager_and_pathlike(tmp_path):
    data, path = _packed(tmp_path, "kws_dscnn_int8", "np")
    ref = TFLM(data)
    xs = _inputs(edge_rt.Interpreter(path.read_bytes()))

    class Where:  # any os.PathLike, not only pathlib
        def __fspath__(self):
            return str(path)
    for model in (pathlib.Path(path), Where()):
        for stream in (False, True):
            with edge_rt.Interpreter(model, stream=stream) as it:
                it.set_input(0, xs[0])
                it.invoke()
                assert np.array_equal(it.get_output(0), ref(*xs)[0])
            with pytest.raises(edge_rt.EdgeRTError, match="closed"):
                it.invoke()
    with pytest.raises(ZeroDivisionError):  # an error inside the block propagates; the model is closed
        with edge_rt.Interpreter(pathlib.Path(path)) as it:
            f, mm = it._keep
            1 / 0
    assert mm.closed
    with pytest.raises(edge_rt.EdgeRTError, match="cannot open model .*nope.ert"):
        edge_rt.Interpreter(pathlib.Path(tmp_path / "nope.ert"))


def test_second_invoke_on_a_consumed_input_is_a_clear_error():
    data = shared_models.load("kws_dscnn_int8")
    it = edge_rt.Interpreter(pack(data, "kws.tflite", kernels="np", check_budget=False).binary)
    assert it.consumed_inputs == (0,)
    xs = _inputs(it)
    it.set_input(0, xs[0])
    it.invoke()
    y1 = it.get_output(0)
    with pytest.raises(edge_rt.InputError) as e:
        it.invoke()
    msg = str(e.value)
    assert "\n" not in msg and "input 0 (" in msg and "set_input(0" in msg
    it.set_input(0, xs[0])  # a fresh set_input re-arms it
    it.invoke()
    assert np.array_equal(it.get_output(0), y1)
    assert np.array_equal(y1, TFLM(data)(*xs)[0])


@pytest.mark.parametrize("ks", KERNEL_SETS)
def test_repeated_invokes_work_when_the_plan_keeps_the_inputs(ks):
    data = _fc_model()
    it = edge_rt.Interpreter(pack(data, "fc.tflite", kernels=ks, check_budget=False).binary)
    assert it.consumed_inputs == ()
    xs = _inputs(it)
    want = TFLM(data)(*xs)[0]
    it.set_input(0, xs[0])
    for _ in range(3):
        it.invoke()
        assert np.array_equal(it.get_output(0), want)


@pytest.mark.parametrize("ks", KERNEL_SETS)
@pytest.mark.parametrize("name", MODELS)
def test_inputs_not_listed_as_consumed_survive_invoke(name, ks):
    """The soundness of consumed_inputs: every input it does not list still holds its bytes
    after invoke(), for every shared model and kernel set."""
    data = shared_models.load(name)
    it = edge_rt.Interpreter(pack(data, name + ".tflite", kernels=ks, check_budget=False).binary)
    xs = _inputs(it, seed=1)
    for i, x in enumerate(xs):
        it.set_input(i, x)
    it.invoke()
    arena = bytes(it._arena)
    for i, x in enumerate(xs):
        t = it.model.tensors[it.model.inputs[i]]
        if i not in it.consumed_inputs:
            assert arena[t.offset:t.offset + t.nbytes] == x.tobytes(), f"input {i} overwritten"


MPY_LIFECYCLE = """
import sys
sys.path.insert(0, '/lib')
import edge_rt

class Where:  # MicroPython has no pathlib: any object with __fspath__ is a path
    def __fspath__(self):
        return '/m.ert'

with edge_rt.Interpreter(Where()) as it:
    print('consumed', it.consumed_inputs)
    it.set_input(0, b'\\x25')
    it.invoke()
    y1 = it.get_output(0)
    try:
        it.invoke()
        print('second invoke ran')
    except edge_rt.InputError as e:
        print('InputError', e)
    it.set_input(0, b'\\x25')
    it.invoke()
    print('same', it.get_output(0) == y1)
try:
    it.invoke()
except edge_rt.EdgeRTError as e:
    print('closed', e)
"""


@pytest.mark.skipif(MP.unavailable() is not None, reason=str(MP.unavailable()))
def test_lifecycle_and_consumed_inputs_on_micropython(tmp_path):
    """The same rules on MicroPython: an __fspath__ path, the context manager, the InputError."""
    data = shared_models.load("hello_world_int8")
    ert = tmp_path / "m.ert"
    ert.write_bytes(pack(data, "hw.tflite", kernels="ref", check_budget=False).binary)
    assert edge_rt.Interpreter(str(ert)).consumed_inputs == (0,)
    res = MP.run_steps([MPY_LIFECYCLE], MP.device_files(str(tmp_path)) + [("/m.ert", str(ert))], timeout=60)
    assert res["ok"], res["error"]
    lines = res["stdout"].splitlines()
    assert lines[0] == "consumed (0,)"
    assert lines[1].startswith("InputError input 0 (") and "set_input(0" in lines[1]
    assert lines[2] == "same True" and lines[3].startswith("closed ")
