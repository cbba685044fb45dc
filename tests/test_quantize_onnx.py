"""ONNX import for the quantizer (onnx.helper models; onnxruntime is the float oracle): the
NCHW model becomes an NHWC float graph without transposes, the float passes keep its
function, and the quantized result is bit-exact with TFLite Micro."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edge_rt.compiler.importers.onnx import import_onnx  # noqa: E402
from edge_rt.compiler.quantize import calibrate, quantize  # noqa: E402
from edge_rt.compiler.quantize.float_run import run  # noqa: E402
from edge_rt.compiler.quantize.passes import run_float_passes  # noqa: E402
from edge_rt.errors import UnsupportedModelError  # noqa: E402
from edge_rt.testing.conformance import check_bit_exact  # noqa: E402

RNG = np.random.default_rng(11)


def W(*shape, s=0.4):
    return (RNG.standard_normal(shape) * s).astype(np.float32)


def bn_inits(name, c):
    return [numpy_helper.from_array(a, f"{name}_{k}") for k, a in
            (("g", W(c) + 1), ("b", W(c)), ("m", W(c, s=0.2)), ("v", np.abs(W(c)) + 0.2))]


def cnn_model():
    """Conv+BN+Relu -> depthwise (explicit pads) +BN+Clip6 -> 1x1 Conv -> residual Add -> Relu ->
    GlobalAveragePool -> Flatten -> Gemm -> Softmax."""
    inits = [numpy_helper.from_array(W(8, 3, 3, 3), "w1"), numpy_helper.from_array(W(8), "b1"),
             numpy_helper.from_array(W(8, 1, 3, 3), "wd"), numpy_helper.from_array(W(8, 8, 1, 1), "w2"),
             numpy_helper.from_array(W(5, 8, s=1.0), "wf"), numpy_helper.from_array(W(5), "bf"),
             numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
             numpy_helper.from_array(np.array(6.0, np.float32), "six")] + bn_inits("bn1", 8) + bn_inits("bn2", 8)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1_g", "bn1_b", "bn1_m", "bn1_v"], ["n1"], epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["r1"]),
        helper.make_node("Conv", ["r1", "wd"], ["d1"], group=8, strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["d1", "bn2_g", "bn2_b", "bn2_m", "bn2_v"], ["n2"]),
        helper.make_node("Clip", ["n2", "zero", "six"], ["r2"]),
        helper.make_node("Conv", ["r2", "w2"], ["p2"]),
        helper.make_node("Add", ["r2", "p2"], ["a2"]),
        helper.make_node("Relu", ["a2"], ["r3"]),
        helper.make_node("GlobalAveragePool", ["r3"], ["gp"]),
        helper.make_node("Flatten", ["gp"], ["fl"]),
        helper.make_node("Dropout", ["fl"], ["dr"]),
        helper.make_node("Gemm", ["dr", "wf", "bf"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], axis=-1),
    ]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def flatten_model():
    """Conv (SAME pads) -> MaxPool -> BatchNormalization (standalone) -> Flatten of a 3x3 map ->
    MatMul + Add -> LeakyRelu, and a Sigmoid branch, concatenated."""
    inits = [numpy_helper.from_array(W(4, 2, 3, 3), "w1"), numpy_helper.from_array(W(36, 6), "wm"),
             numpy_helper.from_array(W(6), "bm"), numpy_helper.from_array(W(36, 6), "ws")] + bn_inits("bn", 4)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["c1"], ["m0"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["m0", "bn_g", "bn_b", "bn_m", "bn_v"], ["m1"]),
        helper.make_node("Flatten", ["m1"], ["fl"]),
        helper.make_node("MatMul", ["fl", "wm"], ["mm"]),
        helper.make_node("Add", ["mm", "bm"], ["ad"]),
        helper.make_node("LeakyRelu", ["ad"], ["lr"], alpha=0.1),
        helper.make_node("Gemm", ["fl", "ws"], ["g2"]),
        helper.make_node("Sigmoid", ["g2"], ["sg"]),
        helper.make_node("Concat", ["lr", "sg"], ["y"], axis=1),
    ]
    g = helper.make_graph(nodes, "flat", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


MODELS = {"cnn": cnn_model, "flatten": flatten_model}


def ort_run(model, x_nchw):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(None, {"x": x[None]})[0] for x in x_nchw])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_import_and_fold_match_onnxruntime(name):
    m = MODELS[name]()
    g = import_onnx(m)
    x = RNG.standard_normal((4,) + g.meta["nchw_inputs"][0][1:]).astype(np.float32)
    want = ort_run(m, x)
    x_nhwc = x.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(run(g, [x_nhwc])[0].reshape(want.shape), want, rtol=1e-4, atol=1e-5)
    folded, report = run_float_passes(g)
    np.testing.assert_allclose(run(folded, [x_nhwc])[0].reshape(want.shape), want, rtol=1e-4, atol=1e-5)
    types = [op.type for op in folded.ops]
    assert not {"BATCH_NORM", "IDENTITY", "RELU", "RELU6", "GLOBAL_AVERAGE_POOL", "TRANSPOSE"} & set(types)
    if name == "cnn":
        assert types == ["CONV_2D", "PAD", "DEPTHWISE_CONV_2D", "CONV_2D", "ADD", "AVERAGE_POOL_2D",
                         "FULLY_CONNECTED", "SOFTMAX"]
        assert {n for n, _ in report} >= {"fold_batch_norm", "fuse_activation", "lower_global_pool", "remove_identity"}
    else:
        assert "ADD" not in types and "fuse_matmul_add" in {n for n, _ in report}
        assert types.count("DEPTHWISE_CONV_2D") == 1  # the standalone BN as a per-channel scale/shift


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("method", ["minmax", "mse"])
def test_quantized_onnx_bit_exact(name, method, tmp_path):
    m = MODELS[name]()
    path = tmp_path / f"{name}.onnx"
    onnx.save(m, str(path))
    g = import_onnx(m)
    cal = RNG.standard_normal((40,) + g.meta["nchw_inputs"][0][1:]).astype(np.float32)  # NCHW, as for ONNX
    np.save(tmp_path / "cal.npy", cal)
    samples = calibrate.load_samples(str(tmp_path / "cal.npy"), g)
    assert samples.shape[1:] == g.tensors[g.inputs[0]].shape[1:]
    r = quantize(str(path), samples, method=method)
    check_bit_exact(r.tflite, trials=3)


def test_unsupported_onnx_lists_problems():
    g = helper.make_graph([helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
                           helper.make_node("Erf", ["t"], ["y"])], "bad",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 2])])
    with pytest.raises(UnsupportedModelError) as e:
        import_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))
    assert "Transpose" in str(e.value) and "Erf" in str(e.value)


def test_shape_arithmetic_folded_at_import():
    """PyTorch's x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape, then Gemm."""
    inits = [numpy_helper.from_array(W(3, 2, 3, 3), "w1"), numpy_helper.from_array(W(4, 48), "wf"),
             numpy_helper.from_array(np.array(0, np.int64), "i0"),
             numpy_helper.from_array(np.array([-1], np.int64), "m1")]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Shape", ["r1"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]),
        helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["r1", "shape"], ["fl"]),
        helper.make_node("Gemm", ["fl", "wf"], ["y"], transB=1),
    ]
    g = helper.make_graph(nodes, "view", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])
    gr = import_onnx(m)
    assert [op.type for op in gr.ops] == ["CONV_2D", "RELU", "RESHAPE", "FULLY_CONNECTED"]
    x = RNG.standard_normal((3, 2, 4, 4)).astype(np.float32)
    want = ort_run(m, x)
    np.testing.assert_allclose(run(gr, [x.transpose(0, 2, 3, 1)])[0], want, rtol=1e-4, atol=1e-5)
