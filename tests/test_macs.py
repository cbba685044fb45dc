"""One MAC count for every tool: `run --profile` (profile_ops.profile), `edge-rt profile` and
its energy estimate (profile.op_costs, power.estimate_energy) all give the source model's
conv/dw/fc MACs (profile_ops.graph_macs on the imported IR), fused ops included."""
import os

import numpy as np
import pytest

from edge_rt.compiler.importers.tflite import import_tflite
from edge_rt.compiler.pack import pack
from edge_rt.host.power import estimate_energy
from edge_rt.host.profile import local_profile, op_costs
from edge_rt.host.profile_ops import graph_macs, profile, reader_op_macs
from edge_rt.interpreter import Interpreter
from edge_rt.testing import shared_models
from edge_rt.testing.reference import random_input

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(name):
    if name == "fc_residual":
        from test_passes import fc_residual_model
        return fc_residual_model(True)
    if name == "kws_dscnn_int8":
        with open(os.path.join(ROOT, "models", name + ".tflite"), "rb") as f:
            return f.read()
    return shared_models.load(name)


@pytest.mark.parametrize("kernels", ["np", "ref"])
@pytest.mark.parametrize("name,fused", [("kws_dscnn_int8", "DS_CONV_2D"), ("ic_resnet8_int8", "CONV_2D_ADD"),
                                        ("fc_residual", "FULLY_CONNECTED_ADD")])
def test_every_tool_counts_the_source_models_macs(name, fused, kernels):
    data = _model(name)
    want = graph_macs(import_tflite(data, name)[0])
    r = pack(data, name, kernels=kernels, check_budget=False)
    binary = r.binary
    # patch-based streaming (ref plans) recomputes halos: the tools count executed MACs, the
    # pass reports the recompute it adds
    want += sum(op.options.get("extra_macs", 0) for op in r.graph.ops if op.type == "PATCH_STREAM")
    it = Interpreter(binary)
    assert fused in [op.name for op in it.model.ops]  # the count crosses a fused op
    if kernels == "np":  # running the pure-Python kernels would only add time: the count is static
        rng = np.random.default_rng(0)
        xs = [random_input(d["shape"], d["dtype"], rng) for d in it.input_details()]
        assert profile(it, xs, repeat=1)["macs"] == want                   # run --profile
        assert sum(r["macs"] for r in local_profile(binary, runs=1, warmup=0)["ops"]) == want
    assert sum(reader_op_macs(it.model, op)[1] for op in it.model.ops) == want  # what profile sums
    assert sum(c["macs"] for c in op_costs(it.model)) == want              # edge-rt profile
    assert estimate_energy(it.model)["macs"] == want                       # energy estimate
    if name == "kws_dscnn_int8":
        assert want == 2_656_768    # the figures, MLPerf Tiny's 2.66 M
    if name == "ic_resnet8_int8":
        assert graph_macs(import_tflite(data, name)[0]) == 12_501_632
