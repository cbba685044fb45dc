"""Host-side graph IR: what the importer produces, passes rewrite, the planner places
and the writer serializes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DTYPES = ("int8", "uint8", "int16", "int32", "float32")


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str  # one of DTYPES
    scale: np.ndarray | None = None       # float32, one per channel (or one)
    zero_point: np.ndarray | None = None  # int64, same length as scale
    quant_dim: int = 0
    data: np.ndarray | None = None        # constant contents, None for activations
    alias_of: int | None = None           # shares the bytes of another tensor (RESHAPE)
    # a persistent state tensor (a resource variable of a streaming model): its initial value,
    # which the runtime copies into the state region at load and on reset_state()
    state_init: np.ndarray | None = None

    @property
    def is_state(self) -> bool:
        return self.state_init is not None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    @property
    def per_channel(self) -> bool:
        return self.scale is not None and len(self.scale) > 1

    def qparams(self) -> tuple[float, int]:
        """Per-tensor (scale, zero_point); (0.0, 0) for an unquantized tensor."""
        if self.scale is None or len(self.scale) == 0:
            return 0.0, 0
        return float(self.scale[0]), int(self.zero_point[0]) if self.zero_point is not None else 0


@dataclass
class Op:
    type: str                     # TFLite builtin name, e.g. "CONV_2D"
    inputs: list[int]             # tensor ids; -1 for an absent optional input
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    source: list[int] = field(default_factory=list)  # indices of the .tflite ops it came from
    # Filled by lowering (compiler/ops): what the device kernel receives.
    params: list[int] = field(default_factory=list)
    kernel_inputs: list[int] = field(default_factory=list)  # inputs + prepared constants
    scratch_bytes: int = 0
    kernel_set: str = ""          # the kernel set that runs it (pack.prepare_all; format.KERNEL_CHAINS)

    def where(self) -> str:
        idx = ",".join(str(s) for s in self.source) if self.source else "?"
        return f"op {idx} ({self.type})"


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    meta: dict[str, Any] = field(default_factory=dict)

    def add_const(self, name: str, data: np.ndarray) -> int:
        self.tensors.append(Tensor(name=name, shape=tuple(data.shape), dtype=str(data.dtype),
                                   data=np.ascontiguousarray(data)))
        return len(self.tensors) - 1

    @property
    def state(self) -> list[int]:
        """Ids of the persistent state tensors (compiler/importers/variables.py)."""
        return [i for i, t in enumerate(self.tensors) if t.is_state]

    def producers(self) -> dict[int, int]:
        return {t: i for i, op in enumerate(self.ops) for t in op.outputs}

    def consumers(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i, op in enumerate(self.ops):
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(i)
        return out
