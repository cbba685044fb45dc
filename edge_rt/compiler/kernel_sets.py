"""Host view of the kernel sets: which opcodes each set implements, and which set runs each op
of a graph packed for a given set (format.KERNEL_CHAINS: the first set in the chain that has it)."""
from __future__ import annotations

import importlib.util
import os
import sys

from .. import format as F


_BY_PATH: dict = {}  # ops.py modules loaded by path, once


def ops_of(name: str) -> frozenset:
    """Opcodes kernel set `name` implements. A set whose kernels cannot be imported on the host
    (viper: MicroPython only; c: a build without the extension) lists them in `<set>/ops.py`:
    the imported module where there is one (the c package imports it), else the file by path."""
    if name not in F.KERNEL_SETS:
        raise ValueError(f"unknown kernel set {name!r}; known: {', '.join(F.KERNEL_SETS)}")
    mod = sys.modules.get(f"edge_rt.kernels.{name}.ops")
    if mod is not None:
        return frozenset(mod.OPS)
    if os.path.exists(_path(name, "ops")):  # loaded by path: the set's package itself may not import here
        if name not in _BY_PATH:
            _BY_PATH[name] = _load_file(name, "ops")
        return frozenset(_BY_PATH[name].OPS)
    try:
        return frozenset(importlib.import_module(f"edge_rt.kernels.{name}").KERNELS)
    except ModuleNotFoundError:
        return frozenset()


def _path(name: str, mod: str) -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kernels", name, mod + ".py")


def _load_file(name: str, mod: str):
    """kernels/<name>/<mod>.py loaded by path, without importing its package (viper's kernels import
    only on MicroPython; c's package needs its extension)."""
    spec = importlib.util.spec_from_file_location(f"_edge_rt_{name}_{mod}", _path(name, mod))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolve(primary: str, opcode: int) -> str | None:
    """The kernel set that runs `opcode` in a file packed for `primary`, or None if none does."""
    for name in F.KERNEL_CHAINS[primary]:
        if opcode in ops_of(name):
            return name
    return None


def c_available() -> bool:
    """Whether the compiled C kernel set imports on this host (its extension is built)."""
    try:
        importlib.import_module("edge_rt.kernels.c")
    except ImportError:
        return False
    return True


def c_layout() -> int:
    """The C kernels' scratch layout version (kernels/c/ops.py LAYOUT), with or without the extension."""
    try:
        return importlib.import_module("edge_rt.kernels.c.ops").LAYOUT
    except ImportError:
        return _load_file("c", "ops").LAYOUT
