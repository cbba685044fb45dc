"""Graph passes, run in the order of PIPELINE. Each pass is a plain function
`graph -> (graph, note)` whose docstring's first line shows the rewrite; note is a short
human summary of what it changed ("" when nothing)."""
from __future__ import annotations

PIPELINE: list = []


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
