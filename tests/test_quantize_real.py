"""edge-rt quantize on the MLPerf Tiny float models against TensorFlow's own int8 models:
calibrated on real-signal samples (tests/data/quantize/*_cal.npy, made by
tools/make_calibration.py), evaluated on held-out ones (*_eval.npy). Output SQNR vs the
float model at least TF's - 1 dB, top-1 agreement at least TF's, arena no larger, and the
result bit-exact with TFLite Micro on real inputs."""
import os

import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.compiler.quantize import from_tflite, quantize
from edge_rt.compiler.quantize.report import accuracy
from edge_rt.testing import shared_models
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.reference import LiteRT

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "quantize")
PAIRS = {"kws": "kws_dscnn", "ic": "ic_resnet8", "ad": "ad_autoencoder"}


def _set(key, split):
    return np.load(os.path.join(DATA, f"{key}_{split}.npy")).astype(np.float32)


@pytest.mark.parametrize("key", sorted(PAIRS))
def test_real_pair(key):
    name = PAIRS[key]
    float_data, tf_int8 = shared_models.load(name + "_float32"), shared_models.load(name + "_int8")
    r = quantize(from_tflite(float_data), _set(key, "cal"), method="mse")
    ev = _set(key, "eval")
    packs = {(m, ks): pack(d, m + ".tflite", kernels=ks, check_budget=False)
             for m, d in (("ours", r.tflite), ("tf", tf_int8)) for ks in ("np", "ref")}
    out = accuracy(r.float_graph, {m: packs[m, "np"].binary for m in ("ours", "tf")}, ev)["outputs"][0]
    ours, tf = out["ours"], out["tf"]
    assert ours["sqnr_db"] >= tf["sqnr_db"] - 1.0, out
    if out["classifier"]:
        assert ours["top1_agreement"] >= tf["top1_agreement"], out
    for ks in ("np", "ref"):
        assert packs["ours", ks].plan.arena_bytes <= packs["tf", ks].plan.arena_bytes, ks
    t = r.int8_graph.tensors[r.int8_graph.inputs[0]]
    s, z = t.qparams()
    xs = [(np.clip(np.round(x / s) + z, -128, 127).astype(np.int8).reshape(t.shape),) for x in ev[:3]]
    check_bit_exact(r.tflite, inputs=xs, kernel_sets=("np",))  # the ref set: builder-model tests
    y = LiteRT(r.tflite, "ref")(*xs[0])[0]  # LiteRT runs it too (its FC may round 1 LSB apart)
    assert y.shape == tuple(r.int8_graph.tensors[r.int8_graph.outputs[0]].shape) and y.dtype == np.int8
