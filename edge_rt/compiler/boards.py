"""Board definitions from boards/*.toml: memory budgets and the kernel set a board runs."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from ..errors import EdgeRTError

DEFAULT_BOARD = "rpi4"
# The checkout's top-level boards/ is the source of truth (or $EDGE_RT_BOARDS); an installed
# package has no checkout and reads edge_rt/boards/, where setup.py ships a copy of boards/.
BOARDS_DIR = os.environ.get("EDGE_RT_BOARDS") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "boards")


@dataclass
class Board:
    name: str
    title: str
    arena_budget: int     # bytes of activation memory (on-chip: SRAM / heap left / L2)
    flash_budget: int     # bytes for the model file
    kernels: str          # "np", "ref" or "viper" (format.KERNEL_SETS)
    raw: dict = field(default_factory=dict)
    # Linux boards: RAM, the arena's hard limit; arena_budget (L2) is then a performance
    # target that only warns. None on MCUs, where arena_budget is the hard limit.
    ram_bytes: int | None = None


def _dir() -> str:
    here = BOARDS_DIR
    if os.path.isdir(here):
        return here
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "boards")


def board_names() -> list[str]:
    d = _dir()
    return sorted(f[:-5] for f in os.listdir(d) if f.endswith(".toml")) if os.path.isdir(d) else []


def load_board(name: str | None) -> Board:
    name = name or DEFAULT_BOARD
    path = os.path.join(_dir(), name + ".toml")
    if not os.path.exists(path):
        raise EdgeRTError(f"unknown board {name!r}; available: {', '.join(board_names()) or 'none'}")
    with open(path, "rb") as f:
        try:
            raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise EdgeRTError(f"{path}: {e}") from None
    try:
        mem = raw["memory"]
        ram = mem.get("ram_bytes")
        return Board(name, raw.get("name", name), int(mem["arena_budget"]), int(mem["flash_budget"]),
                     raw.get("runtime", {}).get("kernels", "np"), raw, None if ram is None else int(ram))
    except (KeyError, TypeError, ValueError) as e:
        raise EdgeRTError(f"{path}: missing or bad field {e}") from None
