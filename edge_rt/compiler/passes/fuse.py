"""Fusions that keep an intermediate tensor from ever existing in full."""
from __future__ import annotations

from ..ir import Graph, Op
from ..planner import lifetimes, lower_bound
from .util import single_consumer

FUSED_NAME = {"CONV_2D": "CONV_2D_ADD", "FULLY_CONNECTED": "FULLY_CONNECTED_ADD"}


def _activation_bound(g: Graph) -> int:
    return lower_bound(lifetimes(g))


def _int8(g: Graph, op: Op) -> bool:
    """The fused kernels are int8 only: an int16x8 op keeps its own kernel."""
    return g.tensors[op.inputs[0]].dtype == "int8" and g.tensors[op.outputs[0]].dtype == "int8"


def _try(g: Graph, fused: Op, at: int, remove: int) -> bool:
    """Put `fused` at op index `at`, drop op `remove`; undo unless peak memory did not grow."""
    before = _activation_bound(g)
    old = list(g.ops)
    g.ops[at] = fused
    del g.ops[remove]
    if _activation_bound(g) > before:
        g.ops = old
        return False
    return True


def fuse_depthwise_separable(g: Graph):
    """DEPTHWISE_CONV_2D -> CONV_2D(1x1, stride 1)  =>  DS_CONV_2D (row-streamed, may run in place)"""
    n = 0
    i = 0
    while i < len(g.ops):
        dw = g.ops[i]
        j = single_consumer(g, dw.outputs[0], g.consumers()) if dw.type == "DEPTHWISE_CONV_2D" else None
        pw = g.ops[j] if j is not None else None
        if (pw is not None and pw.type == "CONV_2D" and pw.inputs[0] == dw.outputs[0]
                and _int8(g, dw) and _int8(g, pw)
                and g.tensors[pw.inputs[1]].shape[1:3] == (1, 1)
                and pw.options.get("stride_h", 1) == pw.options.get("stride_w", 1) == 1
                and pw.options.get("padding") in ("SAME", "VALID")):
            fused = Op("DS_CONV_2D", [dw.inputs[0]] + dw.inputs[1:] + pw.inputs[1:], list(pw.outputs),
                       {"depthwise": (dw.type, dw.inputs, dw.outputs, dw.options),
                        "pointwise": (pw.type, pw.inputs, pw.outputs, pw.options)},
                       source=sorted(dw.source + pw.source))
            if _try(g, fused, j, i):
                n += 1
                continue
        i += 1
    return g, (f"fused {n} DEPTHWISE_CONV_2D + 1x1 CONV_2D pair(s)" if n else "")


def fuse_residual(g: Graph):
    """CONV_2D / FULLY_CONNECTED -> ADD(skip)  =>  *_ADD (ADD in the epilogue, output over skip)"""
    n = 0
    i = 0
    while i < len(g.ops):
        add = g.ops[i]
        if add.type != "ADD" or len(add.inputs) != 2:
            i += 1
            continue
        producers = g.producers()
        consumers = g.consumers()
        cands = [(producers[t], t) for t in add.inputs
                 if t in producers and g.ops[producers[t]].type in FUSED_NAME
                 and single_consumer(g, t, consumers) == i]
        done = False
        # the latest producer: the skip input is then already computed where the ADD stands
        for p, mid in sorted(cands, reverse=True):
            skip = add.inputs[1] if add.inputs[0] == mid else add.inputs[0]
            # a true residual only: skip, conv output and sum of one shape, the skip computed
            # (a broadcast constant, the +3 of a hard-sigmoid, is no residual to write over)
            shapes = (g.tensors[skip].shape, g.tensors[mid].shape, g.tensors[add.outputs[0]].shape)
            if skip == mid or g.tensors[skip].is_const or len(set(map(tuple, shapes))) != 1:
                continue
            conv = g.ops[p]
            # the fused kernels are int8 only: an int16 (int16x8) convolution or ADD stays as it is
            if any(g.tensors[t].dtype != "int8" for t in (conv.inputs[0], mid, skip, add.outputs[0])):
                continue
            if skip in conv.inputs:
                continue
            fused = Op(FUSED_NAME[conv.type], conv.inputs + [skip], list(add.outputs),
                       {"conv": (conv.type, conv.inputs, conv.outputs, conv.options),
                        "add": (add.type, add.inputs, add.outputs, add.options)},
                       source=sorted(conv.source + add.source))
            if _try(g, fused, i, p):
                n += 1
                done = True
                break
        if not done:
            i += 1
    return g, (f"fused {n} CONV_2D/FULLY_CONNECTED + ADD residual(s)" if n else "")
