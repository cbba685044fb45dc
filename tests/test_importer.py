"""Importer: IR contents, and unsupported content reported at pack time, all at once."""
import numpy as np
import pytest

from edge_rt.compiler.importers.tflite import import_tflite
from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.testing.tflite_builder import ModelBuilder


def test_ir_of_real_model(hello_world_bytes):
    g, problems = import_tflite(hello_world_bytes, "hw")
    assert problems == []
    assert [op.type for op in g.ops] == ["FULLY_CONNECTED"] * 3
    w = g.tensors[g.ops[0].inputs[1]]
    assert w.is_const and w.dtype == "int8" and w.data.shape == w.shape
    assert g.ops[0].options["activation"] == "RELU"
    assert g.meta["source_sha256"] and len(g.inputs) == 1 and len(g.outputs) == 1


def test_per_channel_quantization_read():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 2), "int8", 0.1, 1)
    w = b.const("w", np.ones((3, 1, 1, 2), np.int8), scale=[0.1, 0.2, 0.3], zero_point=[0, 0, 0],
                quantized_dimension=0)
    y = b.tensor("y", (1, 4, 4, 3), "int8", 0.5, 0)
    b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", Padding="VALID", StrideW=1, StrideH=1)
    g, problems = import_tflite(b.build([x], [y]))
    assert problems == []
    wt = g.tensors[w]
    assert wt.per_channel and np.allclose(wt.scale, [0.1, 0.2, 0.3]) and wt.quant_dim == 0
    assert g.ops[0].options["padding"] == "VALID" and g.ops[0].options["stride_h"] == 1


def test_all_problems_listed_at_once():
    b = ModelBuilder()
    x = b.tensor("x", (1, 8), "int8", 0.1, 0)
    y1 = b.tensor("y1", (1, 8), "int8", 0.1, 0)
    y2 = b.tensor("y2", (1, 8), "int8", 0.1, 0)
    y3 = b.tensor("y3", (1, 8), "int8", 0.1, 0)
    b.op("EXP", [x], [y1])
    b.op("FLOOR", [y1], [y2])
    b.op("SOFTMAX", [y2], [y3], "SoftmaxOptions", Beta=1.0)  # output scale must be 1/256
    with pytest.raises(UnsupportedModelError) as e:
        pack(b.build([x], [y3]), "three.tflite")
    lines = str(e.value).splitlines()
    assert any("op 0 (EXP)" in s and "not supported" in s for s in lines)
    assert any("op 1 (FLOOR)" in s for s in lines)
    assert any("op 2 (SOFTMAX)" in s for s in lines)
    assert lines[-1].startswith("supported ops: ") and "CONV_2D" in lines[-1]


def test_unsupported_dtype_named():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "int16", 0.1, 0)
    w = b.const("w", np.ones((2, 4), np.int16), scale=0.1)  # int16 weights: no such scheme
    y = b.tensor("y", (1, 2), "int16", 0.1, 0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    with pytest.raises(UnsupportedModelError, match=r"op 0 \(FULLY_CONNECTED\).*int16"):
        pack(b.build([x], [y]), "fc16.tflite")


def test_garbage_is_not_a_traceback():
    with pytest.raises(UnsupportedModelError, match="not a readable .tflite|TFL3"):
        pack(b"\x10\x00\x00\x00" + b"\x00" * 60, "junk.tflite")


def test_corrupted_tflite_always_gives_one_clear_error(hello_world_bytes):
    """Random byte corruption and truncation of a real model: pack either succeeds or raises
    the project's error naming the file — never another exception."""
    from edge_rt.errors import EdgeRTError
    rng = np.random.default_rng(0)
    outcomes = {"packed": 0, "rejected": 0}
    for _ in range(400):
        b = bytearray(hello_world_bytes)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        if rng.random() < 0.2:
            b = b[:int(rng.integers(0, len(b)))]
        try:
            pack(bytes(b), "fuzz.tflite")
            outcomes["packed"] += 1
        except EdgeRTError as e:
            first = str(e).splitlines()[0]
            assert first.startswith("fuzz.tflite: ") and not first.startswith("fuzz.tflite: fuzz.tflite")
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 100  # the corruption really is exercised
