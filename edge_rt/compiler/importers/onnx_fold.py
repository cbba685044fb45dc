"""Constant folding of an ONNX graph before import: shape arithmetic (PyTorch's
x.view(x.size(0), -1) is Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and other nodes
whose inputs are all constants become initializers, with ONNX semantics in numpy."""
from __future__ import annotations

import numpy as np

# evaluated at import when every input is a constant (Shape: when its input's shape is known),
# e.g. PyTorch's x.view(x.size(0), -1) as Shape -> Gather -> Unsqueeze -> Concat -> Reshape
CONST_FOLD = ("Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Reshape", "Transpose",
              "Add", "Sub", "Mul", "Div", "Slice")


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _fold(t, a, ins, consts, shapes):
    """numpy value of a node whose inputs are all constants (ONNX semantics)."""
    v = [consts.get(x) if x else None for x in ins]
    if t == "Shape":
        return np.array(shapes[ins[0]], np.int64)[a.get("start", 0):a.get("end")]
    if t == "Gather":
        return np.take(v[0], v[1], axis=a.get("axis", 0))
    if t in ("Unsqueeze", "Squeeze"):
        axes = a.get("axes", v[1] if len(v) > 1 else None)
        if t == "Squeeze":
            return np.squeeze(v[0], axis=None if axes is None else tuple(int(x) for x in axes))
        out = v[0]
        rank = np.ndim(out) + len(axes)
        for ax in sorted(int(x) % rank for x in axes):
            out = np.expand_dims(out, ax)
        return out
    if t == "Concat":
        return np.concatenate([np.atleast_1d(x) for x in v], axis=a["axis"])
    if t == "Cast":
        from onnx import helper
        return np.asarray(v[0]).astype(helper.tensor_dtype_to_np_dtype(a["to"]))
    if t == "Reshape":
        shape = [int(d) if d != 0 else np.shape(v[0])[k] for k, d in enumerate(v[1])]
        return np.reshape(v[0], shape)
    if t == "Transpose":
        return np.transpose(v[0], a.get("perm"))
    if t == "Slice":
        data, starts, ends = v[0], v[1], v[2]
        axes = v[3] if len(v) > 3 and v[3] is not None else range(len(starts))
        steps = v[4] if len(v) > 4 and v[4] is not None else [1] * len(starts)
        sl = [slice(None)] * np.ndim(data)
        for ax, b, e, st in zip(axes, starts, ends, steps):
            sl[int(ax)] = slice(int(b), int(e), int(st))
        return np.asarray(data)[tuple(sl)]
    x, y = np.asarray(v[0]), np.asarray(v[1])
    if t == "Div" and x.dtype.kind in "iu":
        return (np.trunc(x / y)).astype(x.dtype)  # C-style integer division
    return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[t](x, y)



def _shapes(model) -> dict:
    out = {}
    g = model.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        if all(d.dim_value > 0 or d.dim_param for d in dims):  # symbolic (batch) dims count as 1
            out[vi.name] = tuple(d.dim_value if d.dim_value > 0 else 1 for d in dims)
    return out


def fold_constants(model):
    """The model with every node whose inputs are all constants (Shape: whose input's shape is
    known) replaced by an initializer, shapes inferred again: shape arithmetic such as PyTorch's
    x.view(x.size(0), -1) leaves a Reshape with a constant target."""
    from onnx import helper, numpy_helper, shape_inference
    try:
        model = shape_inference.infer_shapes(model)
    except Exception:
        return model
    g = model.graph
    shapes = _shapes(model)
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    keep, new_inits = [], []
    for n in g.node:
        ins, a = list(n.input), _attrs(n)
        if n.op_type == "Constant" and "value" in a:
            consts[n.output[0]] = numpy_helper.to_array(a["value"])
        elif n.op_type in CONST_FOLD and all(not x or x in consts or (n.op_type == "Shape" and x in shapes)
                                             for x in ins):
            consts[n.output[0]] = np.asarray(_fold(n.op_type, a, ins, consts, shapes))
        else:
            keep.append(n)
            continue
        new_inits.append(numpy_helper.from_array(consts[n.output[0]], n.output[0]))
    if not new_inits:
        return model
    graph = helper.make_graph(keep, g.name, list(g.input), list(g.output), list(g.initializer) + new_inits)
    m = helper.make_model(graph, opset_imports=list(model.opset_import))
    m.ir_version = model.ir_version
    try:
        return shape_inference.infer_shapes(m)
    except Exception:
        return m
