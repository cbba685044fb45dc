"""Bind at pack time: the C binders' records of a C-packed file, stored in its CPROG section
(format.py, docs/format.md), so the Interpreter hands them to the C validator instead of running
the Python binders at every load. The records are exactly what the binders return for the written
file; the header stamps what they depend on (C layout and ABI, the binders' sources, the TENSORS
and OPS bytes), and a runtime whose stamp differs binds again (kernels/c/__init__.py records())."""
from __future__ import annotations

import binascii
import struct

from .. import format as F


def cprog_section(binary: bytes) -> bytes | None:
    """The CPROG section for a written .ert (its ops on the C set), or None: no C extension on this
    host, its binders' sources unreadable, no C op, or a binder refusing an op (the load then binds
    in Python and reports it there, as without the section)."""
    try:
        from ..kernels import c as ck
    except ImportError:
        return None
    from ..reader import parse
    m = parse(binary, check_crc=False)
    sets = m.meta.get("op_kernels") or []
    if ck.BINDERS_DIGEST is None or "c" not in sets:
        return None
    m.table_crc = binascii.crc32(_section(binary, m, F.SEC_OPS), binascii.crc32(_section(binary, m, F.SEC_TENSORS)))
    body = bytearray()
    n = 0
    for op, s in zip(m.ops, sets):
        if s != "c" or op.opcode not in ck.KERNELS:
            continue
        try:
            opcode, params, operands = ck.KERNELS[op.opcode](op, m, None, None)
            params = [int(p) for p in params]
            body += struct.pack(F.CPROG_REC_FMT, op.index, opcode, len(params), len(operands), 0)
            body += struct.pack("<%di" % len(params), *params)
            for region, off, room in operands:
                body += struct.pack("<III", region, off, room)
        except (ValueError, IndexError, TypeError, KeyError, struct.error):
            return None
        n += 1
    layout, abi, digest, crc = ck.stamp(m)
    return struct.pack(F.CPROG_FMT, layout, abi, digest, crc, n, 0) + bytes(body)


def _section(binary: bytes, m, sid: int) -> memoryview:
    off, n = m.sections[sid]
    return memoryview(binary)[off:off + n]


def records_of(binary: bytes) -> list:
    """The CPROG section's records as [(op index, (opcode, params, operands))] (tests, inspect)."""
    from ..reader import parse
    m = parse(binary, check_crc=False)
    rec = m.cprog
    out = []
    if rec is None:
        return out
    n = struct.unpack_from(F.CPROG_FMT, rec, 0)[4]
    pos = F.CPROG_SIZE
    for _ in range(n):
        idx, opcode, npar, nopd, _r = struct.unpack_from(F.CPROG_REC_FMT, rec, pos)
        pos += F.CPROG_REC_SIZE
        params = list(struct.unpack_from("<%di" % npar, rec, pos))
        pos += 4 * npar
        opd = [tuple(struct.unpack_from("<III", rec, pos + 12 * j)) for j in range(nopd)]
        pos += 12 * nopd
        out.append((idx, (opcode, params, opd)))
    return out
