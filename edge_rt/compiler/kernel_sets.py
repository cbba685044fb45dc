"""Host view of the kernel sets: which opcodes each set implements, and which set runs each op
of a graph packed for a given set (format.KERNEL_CHAINS: the first set in the chain that has it)."""
from __future__ import annotations

import importlib

from .. import format as F


def ops_of(name: str) -> frozenset:
    """Opcodes kernel set `name` implements. A set whose kernels cannot be imported on the host
    (viper: MicroPython only; c: a build without the extension) lists them in `<set>/ops.py`."""
    if name not in F.KERNEL_SETS:
        raise ValueError(f"unknown kernel set {name!r}; known: {', '.join(F.KERNEL_SETS)}")
    try:
        return frozenset(importlib.import_module(f"edge_rt.kernels.{name}.ops").OPS)
    except ModuleNotFoundError:
        pass
    try:
        return frozenset(importlib.import_module(f"edge_rt.kernels.{name}").KERNELS)
    except ModuleNotFoundError:
        return frozenset()


def resolve(primary: str, opcode: int) -> str | None:
    """The kernel set that runs `opcode` in a file packed for `primary`, or None if none does."""
    for name in F.KERNEL_CHAINS[primary]:
        if opcode in ops_of(name):
            return name
    return None
