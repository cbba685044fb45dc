"""What every edge-rt command does with files and counts: read a model or an array, write an
output atomically, check a count; every problem as an EdgeRTError of one line naming the file."""
from __future__ import annotations

import argparse
import os

from ..errors import EdgeRTError, ModelFormatError


def _os_problem(e: OSError) -> str:
    """'PATH: problem' of an OSError, without Python's repr of it."""
    what = e.strerror or str(e)
    return f"{e.filename}: {what}" if e.filename is not None else what


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise EdgeRTError(f"cannot read {path}: {e.strerror or e}") from None


def model_file(path: str) -> str:
    """path, checked to be a readable file (the runtime's own message is device-side and terse)."""
    if os.path.isdir(path):
        raise EdgeRTError(f"{path} is a directory, not a model file")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise EdgeRTError(f"cannot read {path}: {e.strerror or e}") from None
    return path


def write_file(path: str, write) -> None:
    """Call write(f) on a temporary file beside path, then move it into place: a failed write
    never leaves a half-written file behind, and the error names path, not the temporary."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise EdgeRTError(f"cannot write {path}: {e.strerror or e}") from None


def check_output_name(path: str, n: int) -> None:
    """--output names what is written: NAME.npy for one output, NAME.npz for several."""
    ext = ".npy" if n == 1 else ".npz"
    if not path.endswith(ext):
        raise EdgeRTError(f"--output {path}: give a {ext} name (the model has {n} output"
                          f"{'s' if n != 1 else ''}, saved in numpy's {ext} format)")


def save_outputs(path: str, outs) -> None:
    """--output: one output as .npy, several as .npz, written to exactly that name."""
    import numpy as np
    check_output_name(path, len(outs))
    write_file(path, (lambda f: np.save(f, outs[0])) if len(outs) == 1 else (lambda f: np.savez(f, *outs)))


def positive_int(s: str) -> int:
    """argparse type of --repeat and friends: an integer >= 1."""
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} is not >= 1")
    return v


def open_interpreter(path: str, **kw):
    """Interpreter(path, **kw) for a command: errors about the file name the file."""
    from ..interpreter import Interpreter
    model_file(path)
    try:
        return Interpreter(path, **kw)
    except ModelFormatError as e:
        raise ModelFormatError(f"{path}: {e}") from None
