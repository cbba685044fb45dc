"""Streaming (stateful) models against TFLite Micro: feature sequences, and a frame-by-frame
check of the outputs and of every state variable, with the state carried across invokes.

TFLite Micro keeps resource variables across invoke() calls (its CALL_ONCE initialiser runs
on the first invoke only); edge_rt keeps them in the arena's state region. The reference runs
with kPreserveAllTensors, so after each invoke the value each ASSIGN_VARIABLE stored (the new
state) can be read from its input tensor and compared with the bytes of edge_rt's state."""
from __future__ import annotations

import numpy as np
import tflite as S

from ..compiler.importers.tflite import BUILTIN_NAMES, _builtin_code
from ..interpreter import Interpreter


def feature_frames(n: int, shape, seed: int = 0) -> np.ndarray:
    """n int8 frames of `shape`: a fixed-seed mix of segments as a front end produces them:
    silence (the zero point), smooth spectro-temporal patterns (moving sinusoids in time and
    frequency), slow random walks, random frames, loud bursts and saturation."""
    rng = np.random.default_rng(seed)
    out = np.empty((n,) + tuple(shape), np.int8)
    flat = int(np.prod(shape[1:])) if len(shape) > 1 else int(np.prod(shape))
    bins = shape[-1]
    walk = rng.uniform(-100, 40, bins)
    i = 0
    while i < n:
        kind = int(rng.integers(0, 6))
        length = int(rng.integers(8, 40))
        for k in range(min(length, n - i)):
            rows = flat // bins
            if kind == 0:
                v = np.full((rows, bins), -128.0)
            elif kind == 1:
                f = np.arange(bins)
                t = (i + k) * rows + np.arange(rows)[:, None]
                v = -40 + 70 * np.sin(2 * np.pi * (f / (7 + 3 * np.sin(t / 17))) + t / 5)
            elif kind == 2:
                walk = np.clip(walk + rng.normal(0, 6, bins), -128, 127)
                v = np.repeat(walk[None, :], rows, 0) + rng.normal(0, 3, (rows, bins))
            elif kind == 3:
                v = rng.integers(-128, 128, (rows, bins)).astype(float)
            elif kind == 4:
                v = rng.uniform(40, 127, (rows, bins))
            else:
                v = np.where(rng.random((rows, bins)) < 0.5, -128.0, 127.0)
            out[i] = np.clip(np.round(v), -128, 127).astype(np.int8).reshape(shape)
            i += 1
    return out


def assigned_values(data: bytes) -> dict:
    """{variable shared name: index of the tensor the main graph assigns to it}."""
    m = S.Model.GetRootAsModel(data, 0)
    sg = m.Subgraphs(0)
    handles, out = {}, {}
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        name = BUILTIN_NAMES.get(_builtin_code(m.OperatorCodes(op.OpcodeIndex())))
        if name == "VAR_HANDLE":
            o = S.VarHandleOptions()
            t = op.BuiltinOptions()
            o.Init(t.Bytes, t.Pos)
            c, s = (o.Container() or b"").decode(), (o.SharedName() or b"").decode()
            handles[int(op.Outputs(0))] = f"{c}/{s}" if c else s
        elif name == "ASSIGN_VARIABLE":
            out[handles[int(op.Inputs(0))]] = int(op.Inputs(1))
    return out


class ReferenceStream:
    """TFLite Micro, all tensors preserved: step(x) -> (outputs, {variable: new state bytes})."""

    def __init__(self, data: bytes):
        from tflite_micro.python.tflite_micro import runtime
        self.it = runtime.Interpreter.from_bytes(
            data, arena_size=max(len(data) * 10, 1 << 21),
            intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
        self.n_out = S.Model.GetRootAsModel(data, 0).Subgraphs(0).OutputsLength()
        self.assigned = assigned_values(data)

    def step(self, *xs):
        for i, x in enumerate(xs):
            self.it.set_input(x, i)
        self.it.invoke()
        outs = [np.array(self.it.get_output(i)) for i in range(self.n_out)]
        return outs, {k: np.asarray(self.it.GetTensor(t, 0)["tensor_data"]).tobytes() for k, t in self.assigned.items()}


def state_bytes(it: Interpreter) -> dict:
    """{variable name: its current bytes} of an edge_rt interpreter (META state)."""
    st = it.model.meta.get("state") or {}
    arena = memoryview(it._arena)
    return {name: bytes(arena[at:at + n]) for name, _, at, n in st.get("variables", [])}


def check_stream(data: bytes, its: dict, frames, ref: ReferenceStream | None = None) -> dict:
    """Feed frames to TFLite Micro and to each edge_rt interpreter in `its` ({label: it}); require
    equal outputs and equal state after every frame. Returns counts."""
    ref = ref or ReferenceStream(data)
    outputs = []
    for n, x in enumerate(frames):
        want, want_state = ref.step(x)
        outputs.append(want[0].reshape(-1).tolist())
        for label, it in its.items():
            it.set_input(0, x)
            it.invoke()
            for k, w in enumerate(want):
                g = it.get_output(k)
                assert g.dtype == w.dtype and np.array_equal(g, w), \
                    f"{label} frame {n} output {k}: {g.reshape(-1)[:8]} vs TFLite Micro {w.reshape(-1)[:8]}"
            got_state = state_bytes(it)
            assert set(got_state) == set(want_state), f"{label}: variables {sorted(got_state)} vs {sorted(want_state)}"
            for name, w in want_state.items():
                assert got_state[name] == w, f"{label} frame {n}: state {name!r} differs from TFLite Micro"
    flat = [v for o in outputs for v in o]
    return {"frames": len(frames), "distinct_outputs": len(set(flat)), "max_output": max(flat), "min_output": min(flat)}
