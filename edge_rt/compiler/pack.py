"""The host pipeline: .tflite -> IR -> passes -> prepare -> plan -> .ert bytes."""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from ..errors import BudgetError, UnsupportedModelError
from .. import format as F
from .boards import Board, load_board
from .importers.tflite import import_tflite
from .ir import Graph
from .kernel_sets import c_available, c_layout, is_int16, resolve
from .passes import run_after_prepare, run_passes
from .planner import Plan, plan as make_plan
from .prepare import FUSED_OPS, PREPARE, OpProblem
from .writer import write


@dataclass
class PackResult:
    binary: bytes
    graph: Graph
    plan: Plan
    board: Board
    pass_report: list = field(default_factory=list)
    warnings: list = field(default_factory=list)   # one line each; the CLI prints them
    kernel_set: str = "np"  # the set packed for (the board's may fall back to np: pack())

    @property
    def constant_bytes(self) -> int:
        from ..reader import parse
        return parse(self.binary, check_crc=False).constant_bytes

    @property
    def weight_buffer_bytes(self) -> int:
        """RAM the MicroPython runtime streams constants through (reader.weight_plan)."""
        return weight_buffer_bytes(self.binary)


def weight_buffer_bytes(binary: bytes) -> int:
    from ..reader import parse, weight_plan
    return weight_plan(parse(binary, check_crc=False))[1]


# A viper file whose constants total at most this keeps them all in the weight buffer, read once
# at load (reader.weight_plan): re-reading the file on every inference would cost more than the
# native kernels' arithmetic (hello_world_int8: 3 reads per inference, 10x its compute).
RESIDENT_CONST_BYTES = 8192


def resident_bytes(g: Graph) -> int:
    """The weight buffer a resident plan needs: every distinct constant the ops read, aligned."""
    ids = dict.fromkeys(t for op in g.ops for t in op.kernel_inputs if t >= 0 and g.tensors[t].is_const)
    return sum(F.align(g.tensors[t].nbytes) for t in ids if g.tensors[t].nbytes)


def supported_ops() -> list[str]:
    return sorted(t for t in PREPARE if t not in FUSED_OPS)


def prepare_all(g: Graph, ks: str) -> list[str]:
    """Prepare every op for the kernel set that will run it (`op.kernel_set`: the first set of
    `ks`'s fallback chain that has the op); return every op's problem."""
    problems = []
    for op in g.ops:
        fn = PREPARE.get(op.type)
        if fn is None:
            problems.append(f"{op.where()}: op not supported")
            continue
        op.kernel_set = resolve(ks, F.OP_CODES.get(op.type, -1), is_int16(g, op)) or ks
        try:
            fn(g, op, op.kernel_set)
        except OpProblem as e:
            problems.append(f"{op.where()}: {e}")
        except Exception as e:  # noqa: BLE001
            # malformed op (missing inputs, empty shapes, ids out of range): report it with
            # the rest, never a traceback
            problems.append(f"{op.where()}: malformed op ({type(e).__name__}: {e})")
    return problems


FLOAT_EDGE_OPS = ("QUANTIZE", "DEQUANTIZE")  # float32 <-> int8 at the graph's edges is supported


def float_model_problem(g: Graph) -> str | None:
    """One line for a float model (an op that computes only in int8 reads float32; QUANTIZE/DEQUANTIZE
    at the edges and the data-movement ops that take float32 do not count), instead of one problem
    per op: what it is and what to do."""
    from .op_table import dtypes_of

    def int_only(op):
        if op.type in FLOAT_EDGE_OPS or op.type not in PREPARE:
            return op.type not in FLOAT_EDGE_OPS
        d = dtypes_of(op.type)
        return "float32" not in d and d != "any"
    ops = [op for op in g.ops if int_only(op)
           and any(0 <= t < len(g.tensors) and g.tensors[t].dtype == "float32" for t in op.inputs)]
    if not ops:
        return None
    return (f"a float32 model ({len(ops)} of {len(g.ops)} ops compute in float32, from "
            f"{ops[0].where()}); edge_rt runs int8 models: quantize it first (`edge-rt quantize`, "
            f"or TensorFlow Lite's converter with full-integer post-training quantization)")


def pack(data: bytes, name: str = "model.tflite", board: str | None = None,
         kernels: str | None = None, disable: tuple = (), check_budget: bool = True) -> PackResult:
    b = load_board(board)
    ks = kernels or b.kernels
    notes = []
    if kernels is None and ks == "c" and not c_available():
        # the board's default set: fall back to numpy where this host cannot run C kernels
        # (an explicit kernels="c" still packs for C: the file may be meant for another machine)
        notes.append("C kernels not built on this host; packed for kernel set 'np'")
        ks = "np"
    g, problems = import_tflite(data, name)
    if g is None:
        raise UnsupportedModelError([f"{name}: {p}" for p in problems])
    report = []
    if not problems:
        g, report = run_passes(g, disable)
    problems += prepare_all(g, ks)
    floating = float_model_problem(g) if problems else None
    if floating:
        raise UnsupportedModelError([f"{name}: {floating}"])
    if problems:
        raise UnsupportedModelError([f"{name}: {p}" for p in problems], supported_ops())
    g, after = run_after_prepare(g, ks, disable)
    report += after
    try:
        p = make_plan(g)
        op_kernels = [op.kernel_set for op in g.ops]
        meta = dict(g.meta, board=b.name, kernel_set=ks, op_kernels=op_kernels, lower_bound=p.lower_bound,
                    source_name=os.path.basename(name))
        if ks == "viper" and resident_bytes(g) <= RESIDENT_CONST_BYTES:
            meta["resident_consts"] = True
        if "np" in op_kernels:
            from ..kernels import np as np_kernels
            meta["np_layout"] = np_kernels.LAYOUT
        if "c" in op_kernels:
            meta["c_layout"] = c_layout()
        binary = write(g, p, meta)
        if "c" in op_kernels:  # the C ops' records bound now, not at every load (compiler/cprog.py)
            from .cprog import cprog_section
            cprog = cprog_section(binary)
            if cprog is not None:
                binary = write(g, p, meta, ((F.SEC_CPROG, cprog),))
    except (ValueError, IndexError, OverflowError, struct.error) as e:
        # values no valid model holds (e.g. a dimension beyond the format's int32 fields)
        raise UnsupportedModelError([f"{name}: malformed model: {type(e).__name__}: {e}"]) from None
    over, warnings = budget_check(os.path.basename(name), b, ks, p.arena_bytes, binary)
    if over and check_budget:
        raise BudgetError(over[0])
    warnings = notes + warnings + [f"{m} (written anyway: --no-budget-check)" for m in over]
    return PackResult(binary, g, p, b, report, warnings, ks)


def budget_check(base: str, b: Board, ks: str, arena: int, binary: bytes) -> tuple[list, list]:
    """(over budget, warnings), one line each. On an MCU the arena budget is the on-chip RAM
    left for the model: a hard limit. On a Linux board (ram_bytes set) the arena budget is
    the L2 cache, a performance target: exceeding it warns; the hard limit is the RAM."""
    over, warn = [], []
    if b.ram_bytes is not None:
        if arena > b.ram_bytes:
            over.append(f"{base} needs {arena:,} B of arena; board {b.name} has {b.ram_bytes:,} B of RAM")
        elif arena > b.arena_budget:
            warn.append(f"{base} needs {arena:,} B of arena, more than board {b.name}'s {b.arena_budget:,} B "
                        f"L2 cache: activations spill to RAM and run slower")
    elif arena > b.arena_budget:
        over.append(f"{base} needs {arena:,} B of arena; board {b.name} allows {b.arena_budget:,} B")
    if ks in ("ref", "viper") and b.ram_bytes is None:  # MicroPython streams constants through a weight buffer
        wbuf = weight_buffer_bytes(binary)
        if arena <= b.arena_budget < arena + wbuf:
            over.append(f"{base} needs {arena:,} B of arena + {wbuf:,} B of weight buffer; board {b.name} "
                        f"allows {b.arena_budget:,} B")
    if len(binary) > b.flash_budget:
        over.append(f"{base} needs {len(binary):,} B of model storage; board {b.name} allows "
                    f"{b.flash_budget:,} B")
    return over, warn
