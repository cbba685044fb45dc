"""SQUEEZE (any dtype): a byte copy that drops size-1 dimensions. Kernel inputs: [input].
squeeze_dims empty means every size-1 dimension; negative dims count from the end."""
from ..ir import Graph, Op
from .common import need
from .reshape import same_bytes_prepare


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 1 and len(op.outputs) == 1, "expected 1 input and 1 output")
    xs = tuple(g.tensors[op.inputs[0]].shape)
    rank = len(xs)
    need(rank <= 8, f"input has {rank} dimensions; supported: up to 8")
    dims = op.options.get("squeeze_dims") or []
    if not dims:
        drop = {i for i, d in enumerate(xs) if d == 1}
    else:
        drop = set()
        for d in dims:
            a = d + rank if d < 0 else d
            need(0 <= a < rank and xs[a] == 1,
                 f"squeeze dim {d} is not a size-1 dimension of input shape {xs}")
            drop.add(a)
    same_bytes_prepare(g, op, tuple(s for i, s in enumerate(xs) if i not in drop))
