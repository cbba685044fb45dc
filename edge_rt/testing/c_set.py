"""Test helpers for the compiled C kernel set: whether it is built here, the kernel-set tuples the
conformance sweeps run (the C set joins them when built), and the SIMD feature masks to sweep."""
from __future__ import annotations

from ..compiler.kernel_sets import c_available

C_BUILT = c_available()
C_SETS = ("c",) if C_BUILT else ()
SKIP_REASON = "C kernels not built here (python setup.py build_ext --inplace)"


def simd_masks() -> list[int]:
    """EDGE_RT_C_FEATURES values selecting each SIMD path this CPU has (portable C first)."""
    if not C_BUILT:
        return []
    from ..kernels import c
    masks, seen = [], set()
    for bit in (0, 1, 2, 4, 8, 0xFFFF):
        path = c.simd_path(bit)
        if path not in seen:
            seen.add(path)
            masks.append(bit)
    return masks
