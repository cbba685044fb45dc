"""Graph passes, run in the order of PIPELINE. Each pass is a plain function
`graph -> (graph, note)` whose docstring's first line shows the rewrite; note is a short
human summary of what it changed ("" when nothing)."""
from __future__ import annotations

from .eliminate_reshape import eliminate_reshape
from .fold_activation import fold_activation
from .fold_pad import fold_pad
from .fuse import fuse_depthwise_separable, fuse_residual
from .remove_dead import remove_dead, remove_identity_requantize

PIPELINE: list = [eliminate_reshape, remove_identity_requantize, fold_pad, fold_activation,
                  fuse_depthwise_separable, fuse_residual, remove_dead]


def pass_names() -> list[str]:
    return [p.__name__ for p in PIPELINE]


def run_passes(g, disable=()):
    unknown = set(disable) - set(pass_names())
    if unknown:
        from ...errors import EdgeRTError
        raise EdgeRTError(f"unknown pass {', '.join(sorted(unknown))}; passes: {', '.join(pass_names()) or 'none'}")
    report = []
    for p in PIPELINE:
        if p.__name__ in disable:
            report.append((p.__name__, "disabled"))
            continue
        g, note = p(g)
        report.append((p.__name__, note))
    return g, report
