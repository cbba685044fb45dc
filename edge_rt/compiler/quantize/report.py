"""Accuracy of an int8 (or int16x8) model against the float model on held-out samples: per output the
SQNR (10 log10 of signal power over error power, float outputs as the signal) and, for
classifier outputs (last axis > 1, rows summing to ~1 or SOFTMAX), top-1 agreement. The int8
model runs in edge_rt (packed, ref-exact with TFLite Micro); int8 I/O is (de)quantized with
the model's own input/output grids."""
from __future__ import annotations

import numpy as np

from ...interpreter import Interpreter
from ..ir import Graph
from ..pack import pack
from . import float_run


def run_int8(model: bytes, samples: np.ndarray) -> list[np.ndarray]:
    """Dequantized outputs of an int8/int16 (or float-I/O) .tflite, or of its packed .ert, over
    float samples (N, ...)."""
    if model[4:8] == b"TFL3":
        model = pack(model, "report.tflite", check_budget=False).binary
    it = Interpreter(model)
    d = it.input_details()[0]
    outs = [[] for _ in it.output_details()]
    for x in samples:
        x = x.reshape(d["shape"])
        if np.dtype(d["dtype"]).kind == "i":
            info = np.iinfo(d["dtype"])
            x = np.clip(np.round(x / d["scale"]) + d["zero_point"], info.min, info.max).astype(d["dtype"])
        it.set_input(0, x.astype(d["dtype"]))
        it.invoke()
        for k, od in enumerate(it.output_details()):
            y = it.get_output(k)
            if np.dtype(od["dtype"]).kind == "i":
                y = (y.astype(np.float32) - od["zero_point"]) * od["scale"]
            outs[k].append(np.array(y, np.float32))
    return [np.stack(o) for o in outs]


def sqnr_db(ref: np.ndarray, got: np.ndarray) -> float:
    err = float(np.sum((ref.astype(np.float64) - got) ** 2))
    sig = float(np.sum(ref.astype(np.float64) ** 2))
    return float("inf") if err == 0 else 10 * np.log10(sig / err)


def _is_classifier(y: np.ndarray) -> bool:
    y = y.reshape(y.shape[0], -1)
    return bool(y.shape[1] > 1 and np.allclose(y.sum(axis=1), 1.0, atol=1e-3) and y.min() >= 0)


def accuracy(float_graph: Graph, models: dict[str, bytes], samples: np.ndarray) -> dict:
    """{"samples": N, "outputs": [{"name", "classifier", <model>: {"sqnr_db", "top1_agreement"}}]}."""
    ref = float_run.run_batched(float_graph, [samples])
    res = {name: run_int8(data, samples) for name, data in models.items()}
    outs = []
    for k, r in enumerate(ref):
        r = r.reshape(r.shape[0], -1)
        entry = {"name": float_graph.tensors[float_graph.outputs[k]].name, "classifier": _is_classifier(r)}
        for name, ys in res.items():
            y = ys[k].reshape(r.shape[0], -1)
            fig = {"sqnr_db": round(sqnr_db(r, y), 2)}
            if entry["classifier"]:
                fig["top1_agreement"] = round(float(np.mean(np.argmax(r, 1) == np.argmax(y, 1))), 4)
            entry[name] = fig
        outs.append(entry)
    return {"samples": int(samples.shape[0]), "outputs": outs}


def format_report(rep: dict) -> str:
    lines = [f"accuracy vs the float model on {rep['samples']} held-out samples:"]
    for o in rep["outputs"]:
        for name, fig in o.items():
            if isinstance(fig, dict):
                top = f", top-1 agreement {fig['top1_agreement'] * 100:.1f}%" if "top1_agreement" in fig else ""
                lines.append(f"  output {o['name']}: {name}: SQNR {fig['sqnr_db']:.2f} dB{top}")
    return "\n".join(lines)
