"""The numpy FULLY_CONNECTED kernel's requantization variants against the scalar reference
(kernels/quant.py mbqm) and TFLite Micro: the float64 plan, folded into the product (small
batch-1 layers) or not, the one-element paths without in-place ufuncs, and the integer plans
(fast clamp-first and general int64 steps) the packer falls back to, on random quantization parameters including extreme multipliers,
shifts, offsets and activation ranges."""
from __future__ import annotations

import numpy as np
import pytest

from edge_rt.kernels.np import fully_connected as fc, requant
from edge_rt.kernels.np.requant import as_int64
from edge_rt.kernels.quant import mbqm
from edge_rt.reader import OpInfo
from edge_rt.testing.conformance import check_bit_exact, traced_invokes
from edge_rt.testing.tflite_builder import ModelBuilder


def _bind_fc(x, w, bias, mult, shift, params, fold_max):
    n, k = w.shape
    packed = fc.constants(w, bias, mult, shift, params)
    size = fc.scratch_bytes(x.size // k, n, k, w, bias)
    arena = bytearray(size + 64)
    # the arena is shared with other ops: stale bytes must not matter
    arena[:] = np.random.default_rng(1).integers(0, 256, len(arena), np.uint8).tobytes()
    y = np.zeros((x.size // k, n), np.int8)
    v = [x, w, bias, mult, shift, packed, y]
    op = OpInfo(0, 9, [0, 1, 2, 3, 4, 5], [6], list(params), 16, size)
    old = fc.FOLD_MAX
    fc.FOLD_MAX = fold_max
    try:
        run = fc.bind(op, None, v, arena)
    finally:
        fc.FOLD_MAX = old
    return run, y, packed


def _reference(x, w, bias, mult, shift, params):
    off, lo, hi = params
    acc = x.astype(np.int64).reshape(-1, w.shape[1]) @ w.astype(np.int64).T + bias.astype(np.int64)
    out = np.empty(acc.shape, np.int64)
    for (b, c), a in np.ndenumerate(acc):
        out[b, c] = min(max(mbqm(int(a), int(mult[c]), int(shift[c])) + off, lo), hi)
    return out


def _case(rng, n, k, batches=1):
    w = rng.integers(-128, 128, (n, k), dtype=np.int64).astype(np.int8)
    bias = rng.integers(-(1 << rng.integers(4, 20)), 1 << rng.integers(4, 20), n).astype(np.int32)
    mult = rng.integers(1 << 30, (1 << 31) - 1, n).astype(np.int32)
    # mostly right shifts (real multiplier < 1, as FC layers have); some left shifts
    shift = (-rng.integers(0, 22, n) if rng.random() < 0.8 else rng.integers(-3, 3, n)).astype(np.int32)
    if rng.random() < 0.4:  # per-tensor quantization: one multiplier for every channel
        mult[:], shift[:] = mult[0], shift[0]
    off = int(rng.integers(-128, 128))
    u = rng.random()
    if u < 0.3:
        lo, hi = -128, 127
    elif u < 0.7:
        lo, hi = off, 127  # a fused ReLU (no negative accumulator maps inside: no sign term)
    else:
        lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2))
    x = rng.integers(-128, 128, (batches, k), dtype=np.int64).astype(np.int8)
    return x, w, bias, mult, shift, (off, lo, hi)


@pytest.mark.parametrize("plan", ["f64", "int"])
@pytest.mark.parametrize("clip", [True, False], ids=["clip", "fmax-fmin"])
@pytest.mark.parametrize("seed", range(3))
def test_fc_paths_match_scalar_reference(seed, clip, plan, monkeypatch):
    if not clip:  # the two-call clamp numpy builds without the clip ufunc use
        monkeypatch.setattr(requant, "_CLIP", None)
    if plan == "int":  # the integer plans the packer falls back to when float64's is not exact
        monkeypatch.setattr(requant.requant_f64, "verify", lambda *a: None)
    rng = np.random.default_rng(seed)
    folded = 0
    for trial in range(40):
        n = int(rng.choice([1, 1, 2, 3, 8, 17]))
        k = int(rng.choice([1, 2, 5, 16, 40]))
        batches = 1 if trial % 4 else int(rng.integers(2, 4))
        x, w, bias, mult, shift, params = _case(rng, n, k, batches)
        ref = None
        for fold_max in (0, fc.FOLD_MAX):
            run, y, packed = _bind_fc(x, w, bias, mult, shift, params, fold_max)
            if fold_max and batches == 1:
                used = fc._fold_params(w, bias, as_int64(packed), n, shift) is not None
                folded += used
            for _ in range(2):
                x[...] = rng.integers(-128, 128, x.shape)
                ref = _reference(x, w, bias, mult, shift, params)
                run()
                assert np.array_equal(y.astype(np.int64), ref), (seed, trial, fold_max, params)
    assert folded >= 5 or plan == "int", "the folded path was too rarely taken to be tested"


def test_folded_path_at_the_clamp_edges():
    """Accumulators swept through every value around the clamp thresholds: a one-tap layer
    with weight 1 makes x + bias the accumulator, and the bias moves it."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(30):
        n = 4
        w = np.ones((n, 1), np.int8)
        mult = rng.integers(1 << 30, (1 << 31) - 1, n).astype(np.int32)
        shift = (-rng.integers(0, 12, n)).astype(np.int32)
        off = int(rng.integers(-128, 128))
        lo, hi = (off, 127) if rng.random() < 0.5 else (-128, 127)
        centre = int(rng.integers(-4000, 4000))
        for b0 in range(centre - 300, centre + 300, 255):
            bias = (b0 + np.arange(n) * 7).astype(np.int32)
            x = np.zeros((1, 1), np.int8)
            run, y, packed = _bind_fc(x, w, bias, mult, shift, (off, lo, hi), fc.FOLD_MAX)
            if fc._fold_params(w, bias, as_int64(packed), n, shift) is None:
                continue
            for xv in range(-128, 128):
                x[0, 0] = xv
                run()
                assert np.array_equal(y.astype(np.int64), _reference(x, w, bias, mult, shift, (off, lo, hi)))
            checked += 1
    assert checked >= 10


def _fc_model(n, k, relu, seed, batches=1):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", (batches, k), "int8", scale=0.05, zero_point=int(rng.integers(-20, 20)))
    y = b.tensor("y", (batches, n), "int8", scale=0.08 + 0.1 * rng.random(), zero_point=int(rng.integers(-30, 30)))
    w = b.const("w", rng.integers(-127, 128, (n, k)).astype(np.int8), scale=0.01, zero_point=0)
    bias = b.const("b", rng.integers(-3000, 3000, n).astype(np.int32), scale=0.05 * 0.01, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions",
         FusedActivationFunction="RELU" if relu else "NONE")
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.parametrize("n,k,relu,batches", [(1, 1, False, 1), (1, 1, True, 1), (8, 33, True, 1),
                                              (16, 64, False, 1), (3, 7, True, 2)])
def test_small_fc_bit_exact_vs_tflm(n, k, relu, batches):
    check_bit_exact(_fc_model(n, k, relu, n * 100 + k, batches), trials=4, kernel_sets=("np",))


@pytest.mark.parametrize("n,k,relu", [(1, 1, False), (1, 1, True), (8, 33, True)])
def test_small_fc_invoke_allocates_nothing(n, k, relu):
    from edge_rt.compiler.pack import pack
    from edge_rt.interpreter import Interpreter
    it = Interpreter(pack(_fc_model(n, k, relu, 3), "fc.tflite", kernels="np", check_budget=False).binary,
                     kernels="np")
    growth, peak = traced_invokes(it)
    # numpy's in-place one-element ufuncs allocate a ~1 KB temporary each: none may remain
    assert growth <= 0 and peak < 512, (growth, peak)


def _fc_chain(widths, acts, zps, seed, also_output=None):
    """FULLY_CONNECTED layers of the given widths (batch 1), activations and output zero
    points; also_output: index of an intermediate layer whose output is a graph output too
    (so it must stay int8: no handoff there)."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = first = b.tensor("x0", (1, widths[0]), "int8", scale=0.05, zero_point=int(rng.integers(-10, 10)))
    extra = []
    for i, (k, n) in enumerate(zip(widths[:-1], widths[1:])):
        y = b.tensor(f"x{i + 1}", (1, n), "int8", scale=0.03 + 0.05 * rng.random(), zero_point=zps[i])
        w = b.const(f"w{i}", rng.integers(-127, 128, (n, k)).astype(np.int8), scale=0.01, zero_point=0)
        bias = b.const(f"b{i}", rng.integers(-2000, 2000, n).astype(np.int32), scale=0.0005, zero_point=0)
        b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=acts[i])
        if i == also_output:
            extra.append(y)
        x = y
    return b.build(inputs=[first], outputs=extra + [x])


@pytest.mark.parametrize("widths,acts,zps", [
    ((6, 5, 4, 3), ("NONE", "NONE", "NONE"), (0, 0, 0)),          # sign term, offset 0
    ((6, 5, 4, 3), ("NONE", "RELU", "NONE"), (7, -20, 3)),        # sign term with an offset
    ((9, 1, 1, 1, 2), ("NONE", "NONE", "RELU", "NONE"), (0, 5, -3, 0)),  # one-element layers
    ((16, 12, 8, 12, 16), ("RELU", "RELU", "RELU", "NONE"), (-128, -128, -128, 4)),  # autoencoder-like
])
@pytest.mark.parametrize("also_output", [None, 1])
def test_fc_chain_float_handoff_bit_exact(widths, acts, zps, also_output):
    """Chained batch-1 layers hand their result over as floats (the reader skips widening
    int8 bytes): bit-exact with TFLite Micro, the handoff really used (but not for a tensor
    that is also a graph output), nothing allocated."""
    from edge_rt.compiler.pack import pack
    from edge_rt.interpreter import Interpreter
    data = _fc_chain(widths, acts, zps, seed=len(widths), also_output=also_output)
    check_bit_exact(data, trials=20, kernel_sets=("np",))
    it = Interpreter(pack(data, "chain.tflite", kernels="np", check_budget=False).binary, kernels="np")
    want = len(widths) - 2 - (also_output is not None)  # every layer but the last
    assert len(getattr(it.model, "np_handoff", {})) == want
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < 512, (growth, peak)
