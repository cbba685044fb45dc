"""Graph passes, run in the order of PIPELINE. Each pass is a plain function
`graph -> (graph, note)` whose docstring's first line shows the rewrite; note is a short
human summary of what it changed ("" when nothing)."""
from __future__ import annotations

from .alias_read_variable import alias_read_variable
from .assign_in_place import assign_in_place
from .eliminate_reshape import eliminate_reshape
from .fold_activation import fold_activation
from .fold_io_quantize import fold_io_quantize
from .fold_pad import fold_pad
from .fuse import fuse_depthwise_separable, fuse_residual
from .fuse_lookup import fuse_lookup_chain
from .dedupe_constants import dedupe_constants
from .patch_streaming import stream_patches
from .schedule_projection import schedule_projection_first
from .remove_dead import remove_dead, remove_identity_requantize

# alias_read_variable and assign_in_place decide by op order: they run after every pass that merges ops
PIPELINE: list = [eliminate_reshape, fold_io_quantize, remove_identity_requantize, fold_pad, fold_activation,
                  fuse_lookup_chain, fuse_depthwise_separable, fuse_residual, alias_read_variable, assign_in_place,
                  remove_dead,
                  dedupe_constants]


# Run by pack after prepare (they need the prepared ops and their kernel set): plain functions
# `(graph, kernel set) -> (graph, note)`.
AFTER_PREPARE: list = [schedule_projection_first, stream_patches]


def pass_names() -> list[str]:
    return [p.__name__ for p in PIPELINE + AFTER_PREPARE]


def run_passes(g, disable=()):
    unknown = set(disable) - set(pass_names())
    if unknown:
        from ...errors import EdgeRTError
        raise EdgeRTError(f"unknown pass {', '.join(sorted(unknown))}; passes: {', '.join(pass_names()) or 'none'}")
    from ..planner import lifetimes, lower_bound
    report = []
    bound = lower_bound(lifetimes(g))
    for p in PIPELINE:
        if p.__name__ in disable:
            report.append((p.__name__, "disabled"))
            continue
        g, note = p(g)
        if note:
            after = lower_bound(lifetimes(g))
            if after != bound:  # activation bytes only: kernel scratch is decided later
                note += f"; activation lower bound {bound:,} -> {after:,} B"
            bound = after
        report.append((p.__name__, note))
    return g, report


def run_after_prepare(g, ks: str, disable=()):
    """The AFTER_PREPARE passes, with run_passes' report format."""
    report = []
    for p in AFTER_PREPARE:
        if p.__name__ in disable:
            report.append((p.__name__, "disabled"))
            continue
        g, note = p(g, ks)
        report.append((p.__name__, note))
    return g, report
