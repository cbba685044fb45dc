"""Host view of the kernel sets: which opcodes each set implements, and which set runs each op
of a graph packed for a given set (format.KERNEL_CHAINS: the first set in the chain that has it)."""
from __future__ import annotations

import importlib.util
import os
import sys

from .. import format as F


_BY_PATH: dict = {}  # ops.py modules loaded by path, once


def ops_of(name: str, attr: str = "OPS") -> frozenset:
    """Opcodes kernel set `name` implements (attr "INT16_OPS": those it also runs with int16
    activations; a set lists none unless it says so). A set whose kernels cannot be imported on the host
    (viper: MicroPython only; c: a build without the extension) lists them in `<set>/ops.py`:
    the imported module where there is one (the c package imports it), else the file by path."""
    if name not in F.KERNEL_SETS:
        raise ValueError(f"unknown kernel set {name!r}; known: {', '.join(F.KERNEL_SETS)}")
    mod = sys.modules.get(f"edge_rt.kernels.{name}.ops")
    if mod is None and os.path.exists(_path(name, "ops")):  # by path: the package may not import here
        if name not in _BY_PATH:
            _BY_PATH[name] = _load_file(name, "ops")
        mod = _BY_PATH[name]
    if mod is not None:
        return frozenset(getattr(mod, attr, ()))
    try:
        pkg = importlib.import_module(f"edge_rt.kernels.{name}")
    except ModuleNotFoundError:
        return frozenset()
    return frozenset(pkg.KERNELS if attr == "OPS" else getattr(pkg, attr, ()))


def _path(name: str, mod: str) -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kernels", name, mod + ".py")


def _load_file(name: str, mod: str):
    """kernels/<name>/<mod>.py loaded by path, without importing its package (viper's kernels import
    only on MicroPython; c's package needs its extension)."""
    spec = importlib.util.spec_from_file_location(f"_edge_rt_{name}_{mod}", _path(name, mod))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolve(primary: str, opcode: int, int16: bool = False) -> str | None:
    """The kernel set that runs `opcode` in a file packed for `primary`, or None if none does. An op
    with int16 activations (`int16`) skips a set that runs the opcode for int8 only, unless it is
    the chain's last set (whose prepare then says what it does not support)."""
    chain = F.KERNEL_CHAINS[primary]
    for k, name in enumerate(chain):
        if opcode in ops_of(name) and (not int16 or k == len(chain) - 1 or opcode in ops_of(name, "INT16_OPS")):
            return name
    return None


def is_int16(g, op) -> bool:
    """Whether the op's activations are int16 (the int16x8 scheme): its first input or output."""
    ids = [t for t in (op.inputs[:1] + op.outputs[:1]) if 0 <= t < len(g.tensors)]
    return any(g.tensors[t].dtype == "int16" for t in ids)


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
