"""Resource variables (the state of streaming models, e.g. microWakeWord) => state tensors.

TFLite keeps such state in resource variables: CALL_ONCE runs an init subgraph once (on the
first invoke) whose VAR_HANDLE / ASSIGN_VARIABLE ops give each variable its initial value; the
main graph reads the variables (READ_VARIABLE) and writes their next value (ASSIGN_VARIABLE),
and TFLite Micro keeps them across invoke() calls. Here:
  CALL_ONCE(init subgraph)        =>  removed; the init subgraph's constants become each
                                      variable's initial value (Tensor.state_init)
  VAR_HANDLE(shared_name) -> r    =>  removed; r names the variable's state tensor s
  READ_VARIABLE(r) -> t           =>  READ_VARIABLE(s) -> t   (a copy; passes may alias t to s)
  ASSIGN_VARIABLE(r, v)           =>  ASSIGN_VARIABLE(v) -> s (a copy into the state)
State tensors live in the arena's persistent state region (compiler/planner.py)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Tensor

INIT_OPS = ("VAR_HANDLE", "ASSIGN_VARIABLE")


def _key(op) -> str:
    c, n = op.options.get("container", ""), op.options.get("shared_name", "")
    return f"{c}/{n}" if c else n


def _init_values(model, idx: int, data: bytes, problems: list, where: list) -> dict:
    """{variable key: constant Tensor} assigned by init subgraph idx (constants only)."""
    from .tflite import _ops, _tensors
    sg = model.Subgraphs(idx)
    tensors, resources = _tensors(model, sg, data, problems, where)
    handles, values = {}, {}
    for op in _ops(model, sg, where):
        here = f"subgraph {idx} op {op.source[0]} ({op.type})"
        if op.type == "VAR_HANDLE" and len(op.outputs) == 1:
            handles[op.outputs[0]] = _key(op)
        elif op.type == "ASSIGN_VARIABLE" and len(op.inputs) == 2 and op.inputs[0] in handles:
            v = tensors[op.inputs[1]]
            if not v.is_const:
                problems.append(f"{here}: the initial value must be a constant (the init subgraph is "
                                "computed at pack time)")
                continue
            values[handles[op.inputs[0]]] = v
        else:
            problems.append(f"{here}: not supported in a CALL_ONCE init subgraph; supported: "
                            f"{', '.join(INIT_OPS)} with constant values")
    return values


def _state_tensor(key: str, like: Tensor, init: np.ndarray | None) -> Tensor:
    value = np.zeros(like.shape, like.dtype) if init is None else np.asarray(init, like.dtype).reshape(like.shape)
    return Tensor(key, tuple(like.shape), like.dtype, like.scale, like.zero_point, like.quant_dim,
                  state_init=np.ascontiguousarray(value))


def lower_variables(g: Graph, resources: set, model, data: bytes, problems: list, where: list) -> set:
    """Rewrite g's variable ops in place (see the module docstring); return the indices of the
    init subgraphs used. Problems are appended, one line each."""
    calls = [op for op in g.ops if op.type == "CALL_ONCE"]
    if not calls and not resources:
        return set()
    nsub = model.SubgraphsLength()
    init, used = {}, set()
    for op in calls:
        idx = int(op.options.get("init_subgraph_index", -1))
        if not 0 < idx < nsub:
            problems.append(f"{op.where()}: init subgraph {idx} does not exist ({nsub} subgraphs)")
            continue
        used.add(idx)
        init.update(_init_values(model, idx, data, problems, where))
    first_access = min((i for i, op in enumerate(g.ops) if op.type in ("READ_VARIABLE", "ASSIGN_VARIABLE")),
                       default=len(g.ops))
    if any(i > first_access for i, op in enumerate(g.ops) if op.type == "CALL_ONCE"):
        problems.append("CALL_ONCE runs after a variable is read or assigned; supported: initialisation first")
    handles = {op.outputs[0]: _key(op) for op in g.ops if op.type == "VAR_HANDLE" and len(op.outputs) == 1}
    state: dict[str, int] = {}

    def state_of(key: str, like: Tensor, op) -> int | None:
        if key not in state:
            if key in init:
                like = init[key]
            elif op.type == "READ_VARIABLE":
                problems.append(f"{op.where()}: variable {key!r} is read before any initial value or assignment")
                return None
            g.tensors.append(_state_tensor(key, like, init[key].data if key in init else None))
            state[key] = len(g.tensors) - 1
        s = g.tensors[state[key]]
        if like.dtype != s.dtype or like.size != s.size:
            problems.append(f"{op.where()}: tensor {like.name} ({like.dtype} {list(like.shape)}) does not match "
                            f"variable {key!r} ({s.dtype} {list(s.shape)})")
            return None
        return state[key]

    keep = []
    for op in g.ops:
        if op.type in ("CALL_ONCE", "VAR_HANDLE"):
            continue
        if op.type == "READ_VARIABLE" and len(op.inputs) == 1 and len(op.outputs) == 1 and op.inputs[0] in handles:
            s = state_of(handles[op.inputs[0]], g.tensors[op.outputs[0]], op)
            op.inputs = [s if s is not None else op.inputs[0]]
        elif op.type == "ASSIGN_VARIABLE" and len(op.inputs) == 2 and not op.outputs and op.inputs[0] in handles:
            s = state_of(handles[op.inputs[0]], g.tensors[op.inputs[1]], op)
            op.inputs, op.outputs = [op.inputs[1]], [s if s is not None else op.inputs[0]]
        elif any(t in resources for t in op.inputs + op.outputs):
            problems.append(f"{op.where()}: reads or writes a RESOURCE tensor; supported: READ_VARIABLE, "
                            "ASSIGN_VARIABLE of a VAR_HANDLE")
        keep.append(op)
    g.ops = keep
    if any(t in resources for t in g.inputs + g.outputs):
        problems.append("a graph input or output is a RESOURCE tensor; not supported")
    g.meta["variables"] = sorted(state)
    return used
