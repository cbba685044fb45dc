"""OP -> RELU/RELU6 (same quantization)  =>  OP(fused activation)."""
from __future__ import annotations

from ..ir import Graph
from .util import drop_ops, same_quant, single_consumer

PRODUCERS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL",
             "AVERAGE_POOL_2D", "MAX_POOL_2D")
# (producer's activation, standalone op) -> combined fused activation (the intersection)
COMBINE = {("NONE", "RELU"): "RELU", ("NONE", "RELU6"): "RELU6", ("RELU", "RELU"): "RELU",
           ("RELU", "RELU6"): "RELU6", ("RELU6", "RELU"): "RELU6", ("RELU6", "RELU6"): "RELU6"}


def fold_activation(g: Graph):
    """OP -> RELU/RELU6 (same quantization)  =>  OP(fused activation)

    With equal input/output quantization a standalone RELU/RELU6 is a clamp on the same int8
    (or int16) grid as the producer's fused activation clamp, so the two clamps compose into one."""
    consumers = g.consumers()
    producers = g.producers()
    dead = set()
    for i, op in enumerate(g.ops):
        if op.type not in ("RELU", "RELU6"):
            continue
        x, y = op.inputs[0], op.outputs[0]
        p = producers.get(x)
        if p is None or p in dead or g.ops[p].type not in PRODUCERS:
            continue
        if single_consumer(g, x, consumers) != i or not same_quant(g.tensors[x], g.tensors[y]):
            continue
        if g.tensors[x].dtype not in ("int8", "int16"):
            continue  # quantized grids only (int16: tests/test_ops_int16_weighted.py, _elem.py)
        prod = g.ops[p]
        act = COMBINE.get((prod.options.get("activation", "NONE"), op.type))
        if act is None:
            continue
        prod.options = dict(prod.options, activation=act)
        prod.outputs = [y if t == x else t for t in prod.outputs]
        prod.source = sorted(prod.source + op.source)
        dead.add(i)
    n = len(dead)
    return drop_ops(g, dead), (f"folded {n} RELU/RELU6 op(s) into their producers" if n else "")
