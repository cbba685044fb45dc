"""Calibration: load sample arrays, run the float graph over them and choose each
activation tensor's float range [lo, hi] by one of three methods:

1. minmax      the observed extremes (what TensorFlow's converter does);
2. percentile  the 0.01st and 99.99th percentiles (outliers clipped);
3. mse         the range whose int8 grid minimises the mean squared error of quantizing
               the observed values (clipping error + rounding error), searched over a
               histogram of them: a scale factor on both ends first, then each end alone.

Every range is widened to contain 0 (0.0 must be exact on an int8 grid). For int16
activations (the int16x8 scheme) the grid is symmetric, zero point 0, scale max|x| / 32767:
`grid16`; `mse` then searches that symmetric bound (`mse_range16`)."""
from __future__ import annotations

import os
import sys

import numpy as np

from ...errors import EdgeRTError
from ..ir import Graph
from . import float_run

METHODS = ("minmax", "percentile", "mse")
BINS = 2048


def load_samples(path: str, g: Graph) -> np.ndarray:
    """Samples for the graph's (single) input from one .npy array (N, ...) or a folder of
    .npy files (each one sample or a batch); shapes must match the input's."""
    shape = tuple(g.tensors[g.inputs[0]].shape[1:])
    files = ([os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".npy")]
             if os.path.isdir(path) else [path])
    if not files:
        raise EdgeRTError(f"calibration: no .npy files in {path}")
    parts = []
    for f in files:
        try:
            a = np.load(f, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise EdgeRTError(f"calibration: cannot load {f}: {e}") from None
        if a.dtype.kind not in "fiu":
            raise EdgeRTError(f"calibration: {f} holds {a.dtype}, expected numbers")
        n_in = int(np.prod(shape))
        nchw = tuple(g.meta.get("nchw_inputs", [()])[0][1:])
        if nchw and nchw != shape and a.shape[-3:] == nchw:  # an ONNX model's data in its own layout
            a = np.moveaxis(a.reshape((-1,) + nchw), 1, 3)
        if a.shape == shape:
            a = a.reshape((1,) + shape)
        elif a.ndim >= 1 and a.shape[0] and int(np.prod(a.shape[1:])) == n_in:
            a = a.reshape((-1,) + shape)  # (N, ...) with the input's element count
        else:
            raise EdgeRTError(f"calibration: {f} has shape {a.shape}; the model input takes (N,) + {shape}")
        parts.append(a.astype(np.float32))
    return np.concatenate(parts)


def random_samples(g: Graph, n: int, seed: int = 0) -> np.ndarray:
    """n uniform random samples in [-1, 1] (only behind --random-calibration, with a warning)."""
    print(f"edge-rt: warning: calibrating on {n} random samples: activation ranges will not match "
          "real data; use --calibration with real samples", file=sys.stderr)
    shape = tuple(g.tensors[g.inputs[0]].shape[1:])
    return np.random.default_rng(seed).uniform(-1, 1, (n,) + shape).astype(np.float32)


class Stats:
    """Per tensor: exact min/max (first pass) and, when hist is set, a histogram of every
    value over [min, max] (second pass, the ranges fixed by the first)."""

    def __init__(self):
        self.lo, self.hi, self.hist = {}, {}, {}
        self.second = False

    def __call__(self, tid, y):
        if not self.second:
            lo, hi = float(y.min()), float(y.max())
            self.lo[tid] = min(lo, self.lo.get(tid, lo))
            self.hi[tid] = max(hi, self.hi.get(tid, hi))
            return
        lo, hi = self.lo[tid], self.hi[tid]
        if hi > lo:
            h, _ = np.histogram(y, bins=BINS, range=(lo, hi))
            self.hist[tid] = self.hist.get(tid, 0) + h


def collect(g: Graph, samples: np.ndarray, batch: int = 32, histograms: bool = True) -> Stats:
    """Run the float graph over the samples: extremes, then (histograms) value histograms."""
    st = Stats()
    float_run.run_batched(g, [samples], batch=batch, on_tensor=st)
    if histograms:
        st.second = True
        float_run.run_batched(g, [samples], batch=batch, on_tensor=st)
    return st


def grid(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero_point) of TFLite's asymmetric int8 grid for [lo, hi] (0 included)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-12:
        hi = lo + 1e-6
    scale = (hi - lo) / 255.0
    zp = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return float(np.float32(scale)), zp


def grid16(lo: float, hi: float) -> tuple[float, int]:
    """(scale, 0) of TFLite's symmetric int16 grid for [lo, hi]: scale max(|lo|, |hi|) / 32767."""
    amax = max(abs(lo), abs(hi))
    if amax < 1e-12:
        amax = 1e-6
    return float(np.float32(amax / 32767.0)), 0


def mse_range16(counts: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """The symmetric [-a, a] (a a fraction of max(|lo|, |hi|)) whose int16 grid quantizes a
    histogram (BINS bins over [lo, hi]) with the least squared error: clipping error from the
    bin centers plus step^2 / 12 per unclipped value (the int16 step is far below a bin's
    width, so the rounding error is taken as uniform rather than read off the centers)."""
    edges = np.linspace(lo, hi, len(counts) + 1)
    centers = np.abs((edges[:-1] + edges[1:]) / 2)
    amax = max(abs(lo), abs(hi))
    if amax <= 0:
        return lo, hi
    best = None
    for a in np.linspace(0.05, 1.0, 400) * amax:
        step = a / 32767.0
        clipped = centers > a
        err = float(np.sum(counts[clipped] * (centers[clipped] - a) ** 2)
                    + np.sum(counts[~clipped]) * step * step / 12.0)
        if best is None or err < best[0]:
            best = (err, a)
    a = best[1]
    return -a if lo < 0 else 0.0, a if hi > 0 else 0.0


def _grid_mse(centers, counts, lo, hi):
    s, zp = grid(lo, hi)
    q = np.clip(np.round(centers / s) + zp, -128, 127)
    return float(np.sum(counts * (centers - (q - zp) * s) ** 2))


def mse_range(counts: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """The [lo', hi'] within [lo, hi] whose int8 grid quantizes a histogram (BINS bins over
    [lo, hi]) with the least squared error."""
    edges = np.linspace(lo, hi, len(counts) + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    alphas = np.linspace(0.05, 1.0, 96)
    best = min(((_grid_mse(centers, counts, a * lo, a * hi), a * lo, a * hi) for a in alphas))
    _, blo, bhi = best
    for _ in range(2):  # each end on its own, the other fixed
        if bhi > 0:
            best = min([best] + [(_grid_mse(centers, counts, blo, a * hi), blo, a * hi) for a in alphas])
            _, blo, bhi = best
        if blo < 0:
            best = min([best] + [(_grid_mse(centers, counts, a * lo, bhi), a * lo, bhi) for a in alphas])
            _, blo, bhi = best
    return blo, bhi


def percentile_range(counts: np.ndarray, lo: float, hi: float, pct: float = 0.01) -> tuple[float, float]:
    """The pct-th and (100 - pct)-th percentiles read off the histogram (bin edges)."""
    edges = np.linspace(lo, hi, len(counts) + 1)
    c = np.cumsum(counts) / max(1, counts.sum())
    i = int(np.searchsorted(c, pct / 100))
    j = int(np.searchsorted(c, 1 - pct / 100))
    return float(edges[i]), float(edges[min(j + 1, len(counts))])


def choose_range(st: Stats, tid: int, method: str, bits: int = 8) -> tuple[float, float]:
    lo, hi = st.lo[tid], st.hi[tid]
    if method == "minmax" or hi <= lo:
        return lo, hi
    if tid not in st.hist:
        raise EdgeRTError(f"calibration method {method} needs histograms (collect(..., histograms=True))")
    if method == "percentile":
        return percentile_range(st.hist[tid], lo, hi)
    if method == "mse":
        return (mse_range16 if bits == 16 else mse_range)(st.hist[tid], lo, hi)
    raise EdgeRTError(f"calibration method {method!r} unknown; methods: {', '.join(METHODS)}")


def choose_ranges(g: Graph, st: Stats, method: str, bits: int = 8) -> dict[int, tuple[float, float]]:
    """choose_range for every tensor seen, except that a SOFTMAX input (classifier logits)
    keeps its observed maximum: the top logits decide the class, so clipping them (two
    classes saturating to one value) would turn a clear winner into a tie, while its low end
    only moves probabilities that round to 0 on the fixed 1/256 output grid anyway.
    bits: 8, or 16 for int16 activations (the symmetric int16 MSE search)."""
    ranges = {t: choose_range(st, t, method, bits) for t in st.lo}
    for op in g.ops:
        if op.type == "SOFTMAX" and op.inputs[0] in ranges:
            lo, _ = ranges[op.inputs[0]]
            ranges[op.inputs[0]] = (lo, st.hi[op.inputs[0]])
    return ranges
