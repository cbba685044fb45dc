"""Chains of per-element int8 ops  =>  one 256-entry table lookup."""
from __future__ import annotations

import copy

import numpy as np

from ..ir import Graph, Op, Tensor
from .util import drop_ops, single_consumer

# int8 -> int8 ops whose every output element is a function of the same-index input element
# alone (no broadcasting, no neighbours): any chain of them is a function of one int8 value.
PER_ELEMENT = ("RELU", "RELU6", "LEAKY_RELU", "LOGISTIC", "TANH", "HARD_SWISH", "QUANTIZE")


def _eligible(g: Graph, op: Op) -> bool:
    if op.type not in PER_ELEMENT or len(op.outputs) != 1 or not op.inputs:
        return False
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    return (x.dtype == y.dtype == "int8" and not x.is_const and x.size == y.size
            and x.scale is not None and y.scale is not None and not x.per_channel and not y.per_channel)


def op_table(g: Graph, op: Op) -> np.ndarray | None:
    """The op's output for each int8 input -128..127, computed by packing the op alone over a
    (1, 256) tensor and running it on the pure-Python reference kernels: the table is the
    kernels' own arithmetic, so the lookup is bit-identical. None if the op does not pack."""
    from ...interpreter import Interpreter
    from ..planner import plan
    from ..prepare import PREPARE, OpProblem
    from ..writer import write
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    tx = Tensor("x", (1, 256), "int8", x.scale, x.zero_point)
    ty = Tensor("y", (1, 256), "int8", y.scale, y.zero_point)
    one = Op(op.type, [0] + [-1] * (len(op.inputs) - 1), [1], copy.deepcopy(op.options), source=op.source)
    sub = Graph([tx, ty], [one], [0], [1], meta={})
    try:
        PREPARE[op.type](sub, one, "ref")
    except OpProblem:
        return None
    it = Interpreter(write(sub, plan(sub), {"kernel_set": "ref"}), kernels="ref")
    it.set_input(0, np.arange(-128, 128, dtype=np.int8).reshape(1, 256))
    it.invoke()
    return it.get_output(0).reshape(256)


def fuse_lookup_chain(g: Graph):
    """OP1 -> OP2 -> ... (per-element int8 ops)  =>  LOOKUP(table = OPn o ... o OP1)

    Each op maps one int8 value to one int8 value, so the chain is a function on 256 inputs:
    tabulated at pack time by running each op's reference kernel on all 256 values."""
    consumers = g.consumers()
    dead, fused = set(), 0
    i = 0
    while i < len(g.ops):
        if i in dead:
            i += 1
            continue
        chain = [i]
        while _eligible(g, g.ops[chain[-1]]):
            nxt = single_consumer(g, g.ops[chain[-1]].outputs[0], consumers)
            if nxt is None or nxt in dead or not _eligible(g, g.ops[nxt]):
                break
            chain.append(nxt)
        if len(chain) >= 2 and _eligible(g, g.ops[chain[0]]):
            tables = [op_table(g, g.ops[k]) for k in chain]
            if all(t is not None for t in tables):
                table = np.arange(-128, 128, dtype=np.int64)
                for t in tables:  # compose: value v -> t[v + 128]
                    table = t[table + 128].astype(np.int64)
                first, last = g.ops[chain[0]], g.ops[chain[-1]]
                tid = g.add_const(f"{g.tensors[last.outputs[0]].name}/lookup", table.astype(np.int8))
                g.ops[chain[-1]] = Op("LOOKUP", [first.inputs[0], tid], list(last.outputs), {},
                                      source=sorted(s for k in chain for s in g.ops[k].source))
                dead.update(chain[:-1])
                fused += len(chain)
        i += 1
    return drop_ops(g, dead), (f"merged {fused} per-element ops into lookups" if fused else "")
