"""Float graph passes run before calibration, in FLOAT_PIPELINE order. Each is a plain
function `graph -> (graph, note)` whose docstring's first line shows the rewrite; they keep
the float function (tests run the graph before and after each one)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from .float_run import same_pads
from .graph import add_tensor, compact, consumers, producer_of, rewire

WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
# ops whose TFLite options carry a fused activation
ACT_HOSTS = WEIGHTED + ("ADD", "SUB", "MUL", "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION")
ACT_OPS = {"RELU": "RELU", "RELU6": "RELU6", "RELU_N1_TO_1": "RELU_N1_TO_1"}


def _sole_reader(g: Graph, tid: int, cons) -> bool:
    return len(cons.get(tid, [])) == 1 and tid not in g.outputs


def _drop(g: Graph, dead: list) -> Graph:
    ids = {id(op) for op in dead}
    g.ops = [op for op in g.ops if id(op) not in ids]
    return compact(g)


def remove_identity(g: Graph):
    """IDENTITY(x) / RESHAPE(x) to x's own shape  =>  x"""
    dead = []
    for op in g.ops:
        t = op.type
        if t == "IDENTITY" or (t in ("RESHAPE", "SQUEEZE") and
                               g.tensors[op.inputs[0]].shape == g.tensors[op.outputs[0]].shape):
            if op.outputs[0] in g.outputs and op.inputs[0] in g.inputs:
                continue
            if op.outputs[0] in g.outputs:  # keep the graph output's id: the producer writes it
                prod = producer_of(g).get(op.inputs[0])
                if prod is None or not _sole_reader(g, op.inputs[0], consumers(g)):
                    continue
                prod.outputs = [op.outputs[0] if o == op.inputs[0] else o for o in prod.outputs]
            else:
                rewire(g, op.outputs[0], op.inputs[0])
            dead.append(op)
    return (_drop(g, dead), f"removed {len(dead)} identity op(s)") if dead else (g, "")


def collapse_reshapes(g: Graph):
    """RESHAPE -> RESHAPE  =>  RESHAPE;  RESHAPE -> FULLY_CONNECTED  =>  FULLY_CONNECTED (it flattens anyway)"""
    n = 0
    cons = consumers(g)
    for op in list(g.ops):
        if op.type not in ("RESHAPE", "SQUEEZE") or op.outputs[0] in g.outputs:
            continue
        users = cons.get(op.outputs[0], [])
        if users and all(u.type in ("RESHAPE", "SQUEEZE") or
                         (u.type == "FULLY_CONNECTED" and u.inputs[0] == op.outputs[0] and
                          not u.options.get("keep_num_dims")) for u in users):
            for u in users:
                u.inputs = [op.inputs[0] if t == op.outputs[0] else t for t in u.inputs]
            g.ops.remove(op)
            n += 1
            cons = consumers(g)
    return (compact(g), f"removed {n} reshape(s) before a reshape or FULLY_CONNECTED") if n else (g, "")


def fold_batch_norm(g: Graph):
    """CONV_2D|DEPTHWISE_CONV_2D|FULLY_CONNECTED -> BATCH_NORM  =>  the op with scaled weights and shifted bias"""
    folded = standalone = 0
    prod, cons = producer_of(g), consumers(g)
    dead = []
    for op in g.ops:
        if op.type != "BATCH_NORM":
            continue
        gm, bt, mu, var = (g.tensors[t].data.astype(np.float64) for t in op.inputs[1:5])
        scale = gm / np.sqrt(var + op.options.get("epsilon", 1e-5))
        shift = bt - mu * scale
        p = prod.get(op.inputs[0])
        if (p is not None and p.type in WEIGHTED and p.options.get("activation", "NONE") == "NONE"
                and _sole_reader(g, op.inputs[0], cons) and g.tensors[p.inputs[1]].is_const):
            w = g.tensors[p.inputs[1]].data.astype(np.float64)
            axis = 3 if p.type == "DEPTHWISE_CONV_2D" else 0
            shp = [1] * w.ndim
            shp[axis] = -1
            b = (g.tensors[p.inputs[2]].data.astype(np.float64) if len(p.inputs) > 2 and p.inputs[2] >= 0
                 else np.zeros(w.shape[axis]))
            wt = add_tensor(g, g.tensors[p.inputs[1]].name + "/bn", None, (w * scale.reshape(shp)).astype(np.float32))
            bi = add_tensor(g, g.tensors[p.outputs[0]].name + "/bias_bn", None, (b * scale + shift).astype(np.float32))
            p.inputs = [p.inputs[0], wt, bi]
            p.outputs = [op.outputs[0]]
            folded += 1
        else:
            # nothing can take it: a per-channel scale and shift, as a 1x1 depthwise conv on
            # NHWC tensors (per-channel int8 weights keep each channel's own scale)
            x = g.tensors[op.inputs[0]]
            c = x.shape[-1]
            if len(x.shape) == 4:
                w = add_tensor(g, g.tensors[op.outputs[0]].name + "/bn_scale", None,
                               scale.reshape(1, 1, 1, c).astype(np.float32))
                b = add_tensor(g, g.tensors[op.outputs[0]].name + "/bn_shift", None, shift.astype(np.float32))
                g.ops[g.ops.index(op)] = Op("DEPTHWISE_CONV_2D", [op.inputs[0], w, b], op.outputs,
                                            {"padding": "VALID", "stride_w": 1, "stride_h": 1, "dilation_w": 1,
                                             "dilation_h": 1, "depth_multiplier": 1, "activation": "NONE"},
                                            op.source)
            else:
                mid = add_tensor(g, g.tensors[op.outputs[0]].name + "/bn_scaled", x.shape)
                w = add_tensor(g, g.tensors[op.outputs[0]].name + "/bn_scale", None, scale.astype(np.float32))
                b = add_tensor(g, g.tensors[op.outputs[0]].name + "/bn_shift", None, shift.astype(np.float32))
                i = g.ops.index(op)
                g.ops[i:i + 1] = [Op("MUL", [op.inputs[0], w], [mid], {"activation": "NONE"}, op.source),
                                  Op("ADD", [mid, b], op.outputs, {"activation": "NONE"}, op.source)]
            standalone += 1
            continue
        dead.append(op)
    notes = []
    if folded:
        notes.append(f"folded {folded} batch norm(s) into the preceding op")
    if standalone:
        notes.append(f"{standalone} standalone batch norm(s) as a per-channel scale/shift")
    return (_drop(g, dead), "; ".join(notes)) if notes else (g, "")


def fuse_activation(g: Graph):
    """CONV_2D|...|ADD -> RELU|RELU6|RELU_N1_TO_1  =>  the op with a fused activation"""
    prod, cons = producer_of(g), consumers(g)
    dead = []
    for op in g.ops:
        act = ACT_OPS.get(op.type)
        p = prod.get(op.inputs[0]) if act else None
        if (p is None or p.type not in ACT_HOSTS or p.options.get("activation", "NONE") != "NONE"
                or not _sole_reader(g, op.inputs[0], cons)):
            continue
        p.options["activation"] = act
        p.outputs = [op.outputs[0]]
        dead.append(op)
    return (_drop(g, dead), f"fused {len(dead)} activation(s) into their producers") if dead else (g, "")


def fold_pad(g: Graph):
    """PAD(zeros, spatial) -> CONV_2D|DEPTHWISE_CONV_2D(VALID)  =>  the conv with SAME padding (when the pads are SAME's)"""
    prod, cons = producer_of(g), consumers(g)
    dead = []
    for op in g.ops:
        if op.type not in ("CONV_2D", "DEPTHWISE_CONV_2D") or op.options.get("padding") != "VALID":
            continue
        p = prod.get(op.inputs[0])
        if p is None or p.type != "PAD" or not _sole_reader(g, op.inputs[0], cons):
            continue
        pads = np.asarray(g.tensors[p.inputs[1]].data).reshape(-1, 2)
        x = g.tensors[p.inputs[0]]
        w = g.tensors[op.inputs[1]]
        o = op.options
        want_h = same_pads(x.shape[1], w.shape[1], o["stride_h"], o.get("dilation_h", 1))
        want_w = same_pads(x.shape[2], w.shape[2], o["stride_w"], o.get("dilation_w", 1))
        if (pads.shape[0] != 4 or pads[0].any() or pads[3].any() or tuple(pads[1]) != want_h
                or tuple(pads[2]) != want_w):
            continue
        o["padding"] = "SAME"
        op.inputs = [p.inputs[0]] + op.inputs[1:]
        dead.append(p)
    return (_drop(g, dead), f"folded {len(dead)} pad(s) into convolutions") if dead else (g, "")


def lower_global_pool(g: Graph):
    """GLOBAL_AVERAGE_POOL(N,H,W,C)  =>  AVERAGE_POOL_2D(filter HxW, VALID)"""
    n = 0
    for op in g.ops:
        if op.type == "GLOBAL_AVERAGE_POOL":
            _, h, w, _ = g.tensors[op.inputs[0]].shape
            op.type = "AVERAGE_POOL_2D"
            op.options = {"padding": "VALID", "stride_w": w, "stride_h": h, "filter_w": w, "filter_h": h,
                          "activation": op.options.get("activation", "NONE")}
            n += 1
    return g, (f"{n} global average pool(s) as AVERAGE_POOL_2D" if n else "")


def fuse_matmul_add(g: Graph):
    """FULLY_CONNECTED(no bias) -> ADD(constant vector)  =>  FULLY_CONNECTED(bias)"""
    prod, cons = producer_of(g), consumers(g)
    dead = []
    for op in g.ops:
        if op.type != "ADD" or op.options.get("activation", "NONE") != "NONE":
            continue
        ts = [g.tensors[t] for t in op.inputs]
        k = 1 if ts[1].is_const else 0 if ts[0].is_const else -1
        if k < 0:
            continue
        p = prod.get(op.inputs[1 - k])
        if (p is None or p.type != "FULLY_CONNECTED" or (len(p.inputs) > 2 and p.inputs[2] >= 0)
                or p.options.get("activation", "NONE") != "NONE" or not _sole_reader(g, op.inputs[1 - k], cons)):
            continue
        n_out = g.tensors[p.inputs[1]].shape[0]
        if ts[k].size != n_out:
            continue
        p.inputs = p.inputs[:2] + [add_tensor(g, ts[k].name, None, ts[k].data.reshape(n_out))]
        p.outputs = [op.outputs[0]]
        dead.append(op)
    return (_drop(g, dead), f"folded {len(dead)} bias add(s) into FULLY_CONNECTED") if dead else (g, "")


FLOAT_PIPELINE = [remove_identity, fold_pad, fuse_matmul_add, fold_batch_norm, fuse_activation,
                  lower_global_pool, collapse_reshapes, remove_identity]


def run_float_passes(g: Graph):
    report = []
    for p in FLOAT_PIPELINE:
        g, note = p(g)
        if note:
            report.append((p.__name__, note))
    return g, report
