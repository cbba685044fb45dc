"""Model inputs for every host command (run, run --profile, profile, remote run/bench): one
random generator, so the same --seed gives the same arrays locally and on a board, and one
.npy loader that names the file and the problem in one line."""
from __future__ import annotations

import numpy as np

from ..errors import EdgeRTError


def random_input(shape, dtype, rng):
    """Uniform over the whole integer range (both ends), or uniform in [-3, 3) for floats."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.uniform(-3, 3, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, size=shape, dtype=dtype)


def random_inputs(specs, seed: int = 0) -> list:
    """One array per (shape, dtype) in specs, in order, from one generator seeded with seed."""
    rng = np.random.default_rng(seed)
    return [random_input(tuple(shape), dtype, rng) for shape, dtype in specs]


def load_npy(path: str, shape=None, dtype=None, what: str = "the model input"):
    """The array in a .npy file, checked against shape/dtype when given."""
    try:
        x = np.load(path, allow_pickle=False)
    except OSError as e:
        raise EdgeRTError(f"cannot read {path}: {e.strerror or e}") from None
    except (ValueError, EOFError):
        raise EdgeRTError(f"{path}: not a .npy array file (numpy.save format)") from None
    if not isinstance(x, np.ndarray):  # an .npz archive
        raise EdgeRTError(f"{path}: an .npz archive; give one .npy array per input")
    if dtype is not None and (x.dtype != np.dtype(dtype) or (shape is not None and tuple(x.shape) != tuple(shape))):
        raise EdgeRTError(f"{path}: {x.dtype} {tuple(x.shape)} given, {what} is "
                          f"{np.dtype(dtype).name} {tuple(shape)}")
    return x


def to_le_bytes(xs) -> bytes:
    """The arrays' bytes back to back, little-endian as the agent expects."""
    return b"".join(np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes() for x in xs)
