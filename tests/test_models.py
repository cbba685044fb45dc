"""Every int8 model in ../shared/models runs bit-exact against TFLite Micro, on both kernel
sets (and the C set when built), over at least 50 random inputs (fewer for the slow pure-Python set)."""

import pytest

from edge_rt.testing.c_set import C_BUILT, SKIP_REASON
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing import shared_models

MODELS = ["hello_world_int8", "micro_speech_int8", "kws_dscnn_int8", "ic_resnet8_int8", "ad_autoencoder_int8"]


_load = shared_models.load


@pytest.mark.parametrize("name", MODELS)
def test_model_numpy_50_inputs(name):
    check_bit_exact(_load(name), trials=50, kernel_sets=("np",))


@pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)
@pytest.mark.parametrize("name", MODELS)
def test_model_c_50_inputs(name):
    check_bit_exact(_load(name), trials=50, kernel_sets=("c",), all_c=True)


@pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)
@pytest.mark.parametrize("name", MODELS)
def test_model_runs_entirely_on_c_in_one_call(name):
    """Every op of the shared models has a C kernel, so invoke() is one C call."""
    from edge_rt.compiler.pack import pack
    from edge_rt.interpreter import Interpreter
    r = pack(_load(name), name + ".tflite", kernels="c")
    it = Interpreter(r.binary)
    assert set(it.op_kernel_sets) == {"c"}, it.op_kernel_sets
    assert len(it._run) == 1


# The pure-Python set runs its own plan (fused ops streamed in place); it is ~1000x slower,
# so fewer inputs here, and the MicroPython tests cover it again on the device.
REF_TRIALS = {"hello_world_int8": 20, "micro_speech_int8": 5, "kws_dscnn_int8": 2,
              "ic_resnet8_int8": 1, "ad_autoencoder_int8": 5}


@pytest.mark.parametrize("name", MODELS)
def test_model_pure_python(name):
    check_bit_exact(_load(name), trials=REF_TRIALS[name], kernel_sets=("ref",))
