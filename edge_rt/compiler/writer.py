"""Serialize a prepared, planned graph into the .ert format (see edge_rt/format.py)."""
from __future__ import annotations

import binascii
import json
import struct

import numpy as np

from .. import format as F
from ..version import __version__
from .ir import Graph
from .planner import Plan, root

DT = {"int8": F.DT_INT8, "uint8": F.DT_UINT8, "int16": F.DT_INT16, "int32": F.DT_INT32,
      "float32": F.DT_FLOAT32, "int64": F.DT_INT64}


def _pad(b: bytearray, a: int = F.ALIGN) -> None:
    b.extend(b"\0" * (F.align(len(b), a) - len(b)))


def used_tensors(g: Graph) -> list[int]:
    used = set(g.inputs) | set(g.outputs) | set(g.state)  # a state may be reached only through aliases
    for op in g.ops:
        used.update(t for t in op.kernel_inputs if t >= 0)
        used.update(op.outputs)
    return sorted(used)


def write(g: Graph, plan: Plan, meta: dict, extra: tuple = ()) -> bytes:
    """The .ert bytes; extra = optional (section id, bytes) written after the required sections."""
    ids = used_tensors(g)
    remap = {old: new for new, old in enumerate(ids)}
    strings = bytearray()
    consts = bytearray()
    const_at: dict[bytes, int] = {}  # identical constants are stored once
    at_of: dict[int, int] = {}
    # constants in order of first use by the ops, each op's in its input order: the order
    # reader.weight_plan gives them in the weight buffer, so a streaming interpreter reads an
    # op's constants with one read (interpreter._merged)
    first_use = [t for op in g.ops for t in op.kernel_inputs if t >= 0] + ids
    for old in dict.fromkeys(first_use):
        t = g.tensors[old]
        if old in remap and t.is_const:
            raw = np.ascontiguousarray(t.data, dtype=t.dtype).tobytes()
            key = t.dtype.encode() + b":" + raw
            if key not in const_at:
                _pad(consts, F.CONST_ALIGN if len(raw) >= F.CONST_ALIGN else F.ALIGN)
                const_at[key] = len(consts)
                consts += raw
            at_of[old] = const_at[key]
    tens = bytearray()
    for old in ids:
        t = g.tensors[old]
        name = t.name.encode()
        name_off = len(strings)
        strings += name
        if t.is_const:
            kind, offset = F.KIND_CONST, at_of[old]
        else:
            kind, offset = F.KIND_ARENA, plan.offsets[("t", root(g, old))]
        dims = list(t.shape) + [1] * (F.MAX_DIMS - len(t.shape))
        scale, zp = t.qparams()
        tens += struct.pack(F.TENSOR_FMT, DT[t.dtype], len(t.shape), kind, 0, *dims, offset,
                            t.nbytes, scale, zp, name_off, len(name))
    if plan.state_bytes:
        # the init image: every variable's initial bytes at its place in the state region,
        # one uint8 constant the Interpreter copies into [0, state_bytes) at load and reset_state()
        image = bytearray(plan.state_bytes)
        variables = []
        for tid in g.state:
            t = g.tensors[tid]
            at = plan.offsets[("t", tid)]
            image[at:at + t.nbytes] = np.ascontiguousarray(t.state_init, t.dtype).tobytes()
            variables.append([t.name, remap[tid], at, t.nbytes])
        name = b"state/init"
        _pad(consts)
        init_at = len(consts)
        consts += image
        dims = [plan.state_bytes] + [1] * (F.MAX_DIMS - 1)
        tens += struct.pack(F.TENSOR_FMT, F.DT_UINT8, 1, F.KIND_CONST, 0, *dims, init_at, plan.state_bytes,
                            0.0, 0, len(strings), len(name))
        strings += name
        meta = dict(meta, state={"offset": 0, "bytes": plan.state_bytes, "init": len(ids),
                                 "variables": variables})
    ops = bytearray()
    for i, op in enumerate(g.ops):
        ins = [remap[t] if t >= 0 else -1 for t in op.kernel_inputs]
        outs = [remap[t] for t in op.outputs]
        sc_off = plan.offsets.get(("scratch", i), 0)
        ops += struct.pack(F.OP_FMT, F.OP_CODES[op.type], len(ins), len(outs), len(op.params), 0,
                           sc_off, op.scratch_bytes)
        ops += struct.pack("<%di" % (len(ins) + len(outs) + len(op.params)), *ins, *outs,
                           *[int(p) for p in op.params])
    io = struct.pack("<II", len(g.inputs), len(g.outputs))
    io += struct.pack("<%di" % (len(g.inputs) + len(g.outputs)),
                      *[remap[t] for t in g.inputs], *[remap[t] for t in g.outputs])
    entries = bytearray()
    for b in plan.buffers:
        tid = remap.get(b.key[1], -1) if b.key[0] == "t" else -1
        entries += struct.pack(F.PLAN_ENTRY_FMT, tid, plan.offsets[b.key], b.size, b.first, b.last)
    plan_sec = struct.pack(F.PLAN_FMT, plan.arena_bytes, plan.lower_bound, len(plan.buffers), plan.state_bytes) + entries
    meta = dict(meta, tool_version=__version__, plan_strategy=plan.strategy,
                op_sources=[op.source for op in g.ops])
    sections = [(F.SEC_META, json.dumps(meta, sort_keys=True).encode()), (F.SEC_STRINGS, bytes(strings)),
                (F.SEC_TENSORS, bytes(tens)), (F.SEC_CONSTS, bytes(consts)), (F.SEC_OPS, bytes(ops)),
                (F.SEC_IO, io), (F.SEC_PLAN, plan_sec)] + list(extra)
    body = bytearray(F.HEADER_SIZE + F.SECTION_SIZE * len(sections))
    _pad(body)
    directory = bytearray()
    for sid, data in sections:
        _pad(body, F.CONST_ALIGN if sid == F.SEC_CONSTS else F.ALIGN)
        directory += struct.pack(F.SECTION_FMT, sid, len(body), len(data))
        body += data
    _pad(body)
    body[F.HEADER_SIZE:F.HEADER_SIZE + len(directory)] = directory
    struct.pack_into(F.HEADER_FMT, body, 0, F.MAGIC, F.VERSION, F.HEADER_SIZE, len(body), 0,
                     len(sections), 0)
    crc = binascii.crc32(memoryview(body)[F.CRC_START:]) & 0xFFFFFFFF
    struct.pack_into("<I", body, 12, crc)
    return bytes(body)
