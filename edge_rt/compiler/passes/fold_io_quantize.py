"""QUANTIZE / DEQUANTIZE at the graph edges  =>  conversion inside set_input / get_output."""
from __future__ import annotations

from ..ir import Graph
from .util import drop_ops


def fold_io_quantize(g: Graph):
    """float input -> QUANTIZE / DEQUANTIZE -> float output  =>  int8 graph I/O, converted by the runtime

    The interpreter converts with the ops' own arithmetic (edge_rt/io_convert.py), so results
    stay bit-exact while the float tensors (4 bytes per value) leave the arena and the ops
    leave the schedule. The conversions are recorded in the file's META as
    io_convert = {"inputs": {index: [scale, zero_point, float tensor name]}, "outputs": {...}}."""
    consumers = g.consumers()
    producers = g.producers()
    conv = g.meta.setdefault("io_convert", {"inputs": {}, "outputs": {}})
    dead = set()
    for i, tid in enumerate(g.inputs):
        users = consumers.get(tid, [])
        if len(users) != 1 or tid in g.outputs or g.tensors[tid].dtype != "float32":
            continue
        op = g.ops[users[0]]
        y = g.tensors[op.outputs[0]]
        if op.type != "QUANTIZE" or y.dtype != "int8" or y.per_channel or y.scale is None:
            continue
        if op.outputs[0] in g.outputs or op.outputs[0] in g.inputs:
            continue
        conv["inputs"][str(i)] = [float(y.scale[0]), int(y.zero_point[0]), g.tensors[tid].name]
        g.inputs[i] = op.outputs[0]
        dead.add(users[0])
    for i, tid in enumerate(g.outputs):
        p = producers.get(tid)
        if p is None or tid in g.inputs or g.tensors[tid].dtype != "float32":
            continue
        op = g.ops[p]
        x = g.tensors[op.inputs[0]] if op.inputs else None
        if op.type != "DEQUANTIZE" or x is None or x.dtype != "int8" or x.per_channel or x.scale is None:
            continue
        if consumers.get(tid) or g.outputs.count(tid) != 1 or op.inputs[0] in g.inputs:
            continue
        conv["outputs"][str(i)] = [float(x.scale[0]), int(x.zero_point[0]), g.tensors[tid].name]
        g.outputs[i] = op.inputs[0]
        dead.add(p)
    n = len(dead)
    if not conv["inputs"] and not conv["outputs"]:
        del g.meta["io_convert"]
    return drop_ops(g, dead), (f"moved {n} edge QUANTIZE/DEQUANTIZE op(s) into set_input/get_output"
                               if n else "")
