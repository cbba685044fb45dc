"""Bit-exactness checks shared by the test suite and tools: pack a .tflite model, run it on
each kernel set and compare with TFLite Micro (the oracle), requiring 0 LSB difference."""
from __future__ import annotations

import numpy as np

from ..compiler.pack import pack
from ..interpreter import Interpreter
from .reference import TFLM, random_input


def run_edge(it: Interpreter, inputs):
    for i, x in enumerate(inputs):
        it.set_input(i, x)
    it.invoke()
    return [it.get_output(i) for i in range(len(it.output_details()))]


def check_bit_exact(data: bytes, trials: int = 5, kernel_sets=("np", "ref"), seed: int = 0,
                    inputs=None, board: str | None = None, all_c: bool = False, **pack_kw) -> dict:
    """Raise AssertionError naming the kernel set, trial and max LSB difference on any
    mismatch; return a small report otherwise. `inputs`: optional list of input tuples.
    all_c: the file packed for "c" (when in kernel_sets) must run every op on the C kernels."""
    # each kernel set runs its own plan: the ref plan has no numpy scratch and streams
    # fused ops in place, so both plans are exercised
    packs = {ks: pack(data, "conformance.tflite", board=board, kernels=ks, check_budget=False, **pack_kw)
             for ks in kernel_sets}
    res = packs[kernel_sets[0]]
    ref = TFLM(data)
    its = {ks: Interpreter(packs[ks].binary, kernels=ks) for ks in kernel_sets}
    if all_c and "c" in its:
        sets = its["c"].op_kernel_sets
        assert set(sets) == {"c"}, f"ops not on the C kernels: {sets}"
    details = its[kernel_sets[0]].input_details()
    rng = np.random.default_rng(seed)
    if inputs is None:
        inputs = [tuple(random_input(d["shape"], d["dtype"], rng) for d in details) for _ in range(trials)]
    for t, xs in enumerate(inputs):
        want = ref(*xs)
        for ks, it in its.items():
            got = run_edge(it, xs)
            assert len(got) == len(want), f"{ks}: {len(got)} outputs, reference has {len(want)}"
            for k, (g, w) in enumerate(zip(got, want)):
                assert g.shape == w.shape, f"{ks} output {k}: shape {g.shape} vs reference {w.shape}"
                assert g.dtype == w.dtype, f"{ks} output {k}: dtype {g.dtype} vs reference {w.dtype}"
                if g.dtype.kind == "f":
                    diff = float(np.max(np.abs(g - w))) if g.size else 0.0
                    ok = np.array_equal(g, w)
                else:
                    diff = int(np.max(np.abs(g.astype(np.int64) - w.astype(np.int64)))) if g.size else 0
                    ok = diff == 0
                assert ok, f"{ks} output {k} trial {t}: max difference {diff} LSB vs TFLite Micro"
    return {"trials": len(inputs), "kernel_sets": list(kernel_sets),
            "arena_bytes": {ks: p.plan.arena_bytes for ks, p in packs.items()}, "ops": len(res.graph.ops),
            "op_kernel_sets": {ks: it.op_kernel_sets for ks, it in its.items()}}


def traced_invokes(it, n: int = 20) -> tuple[int, int]:
    """(bytes retained, traced peak in bytes) over n invokes of interpreter it, after three
    untimed warm-up invokes (the first calls fill numpy's caches and Python's freelists),
    measured with tracemalloc: the check behind every "invoke allocates nothing" test.
    invoke() consumes the inputs in it.consumed_inputs, so before every invoke their bytes as
    the caller set them are copied back as set_input would, through preallocated views (the
    copy allocates nothing either)."""
    import tracemalloc
    arena = memoryview(it._arena)
    saved = []
    for i in it.consumed_inputs:
        t = it.model.tensors[it.model.inputs[i]]
        saved.append((i, arena[t.offset:t.offset + t.nbytes], bytes(arena[t.offset:t.offset + t.nbytes])))
    stale = it._stale

    def invoke():
        for i, dst, raw in saved:
            dst[:] = raw
            stale[i] = 0
        it.invoke()
    for _ in range(3):
        invoke()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(n):
            invoke()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before, peak - before
