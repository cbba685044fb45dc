"""QUANTIZE / DEQUANTIZE at the graph edges  =>  conversion inside set_input / get_output."""
from __future__ import annotations

from ..ir import Graph
from ..quant import quantize_multiplier
from .util import drop_ops


def _per_tensor(t, lo, hi) -> bool:
    return (t.scale is not None and len(t.scale) == 1 and float(t.scale[0]) > 0
            and lo <= int(t.zero_point[0]) <= hi)


def _uint8_entry(arena, caller, to_arena: bool):
    """io_convert entry for a uint8 caller tensor over an int8 arena tensor, or None when the
    rescale is out of the reference's range (the op then stays and prepare reports it)."""
    if not (_per_tensor(arena, -128, 127) and _per_tensor(caller, 0, 255)):
        return None
    sa, sc = float(arena.scale[0]), float(caller.scale[0])
    mult, shift = quantize_multiplier(sc / sa if to_arena else sa / sc)  # double, as TFLite Micro
    if shift > 30:
        return None
    return [sa, int(arena.zero_point[0]), caller.name, "uint8", sc, int(caller.zero_point[0]), mult, shift]


def fold_io_quantize(g: Graph):
    """float input -> QUANTIZE / DEQUANTIZE -> float output  =>  int8 graph I/O, converted by the runtime

    The interpreter converts with the ops' own arithmetic (edge_rt/io_convert.py), so results
    stay bit-exact while the float tensors (4 bytes per value) leave the arena and the ops
    leave the schedule. The conversions are recorded in the file's META as
    io_convert = {"inputs": {index: [scale, zero_point, float tensor name]}, "outputs": {...}}.
    A uint8 input's QUANTIZE to int8 and an int8 -> uint8 QUANTIZE producing an output fold the
    same way (TFLite Micro's Requantize, one table per edge): their entries are
    [int8 scale, int8 zero point, uint8 tensor name, "uint8", uint8 scale, uint8 zero point,
    multiplier, shift]."""
    consumers = g.consumers()
    producers = g.producers()
    conv = g.meta.setdefault("io_convert", {"inputs": {}, "outputs": {}})
    dead = set()
    for i, tid in enumerate(g.inputs):
        users = consumers.get(tid, [])
        if len(users) != 1 or tid in g.outputs or g.tensors[tid].dtype not in ("float32", "uint8"):
            continue
        op = g.ops[users[0]]
        y = g.tensors[op.outputs[0]]
        if op.type != "QUANTIZE" or y.dtype != "int8" or y.per_channel or y.scale is None:
            continue
        if op.outputs[0] in g.outputs or op.outputs[0] in g.inputs or g.inputs.count(tid) != 1:
            continue
        if g.tensors[tid].dtype == "uint8":
            entry = _uint8_entry(y, g.tensors[tid], True)
            if entry is None:
                continue
            conv["inputs"][str(i)] = entry
        else:
            conv["inputs"][str(i)] = [float(y.scale[0]), int(y.zero_point[0]), g.tensors[tid].name]
        g.inputs[i] = op.outputs[0]
        dead.add(users[0])
    for i, tid in enumerate(g.outputs):
        p = producers.get(tid)
        if p is None or tid in g.inputs or g.tensors[tid].dtype not in ("float32", "uint8"):
            continue
        op = g.ops[p]
        x = g.tensors[op.inputs[0]] if op.inputs else None
        want = "DEQUANTIZE" if g.tensors[tid].dtype == "float32" else "QUANTIZE"
        if op.type != want or x is None or x.dtype != "int8" or x.per_channel or x.scale is None:
            continue
        if consumers.get(tid) or g.outputs.count(tid) != 1 or op.inputs[0] in g.inputs or op.inputs[0] in g.outputs:
            continue
        if want == "QUANTIZE":
            entry = _uint8_entry(x, g.tensors[tid], False)
            if entry is None:
                continue
            conv["outputs"][str(i)] = entry
        else:
            conv["outputs"][str(i)] = [float(x.scale[0]), int(x.zero_point[0]), g.tensors[tid].name]
        g.outputs[i] = op.inputs[0]
        dead.add(p)
    n = len(dead)
    if not conv["inputs"] and not conv["outputs"]:
        del g.meta["io_convert"]
    return drop_ops(g, dead), (f"moved {n} edge QUANTIZE/DEQUANTIZE op(s) into set_input/get_output"
                               if n else "")
