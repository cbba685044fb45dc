"""Draw a packed model's memory plan: an ASCII timeline (one row per op, one column per slice
of the arena) and a PNG (matplotlib). Both read the dict of `edge_rt.host.cli.describe()`."""
from __future__ import annotations

from ..errors import EdgeRTError

SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@$%&*+=?"


def _entries(d: dict) -> list[dict]:
    """Plan entries with a display name, a symbol and what they share bytes with."""
    out = []
    for k, e in enumerate(d["plan"]):
        if e["tensor"] >= 0:
            t = d["tensors"][e["tensor"]]
            name = f"{t['name']} {t['dtype']}{tuple(t['shape'])}"
        else:
            op = d["ops"][e["first_op"]] if e["first_op"] < len(d["ops"]) else {"type": "?"}
            name = f"scratch of op {e['first_op']} ({op['type']})"
        out.append(dict(e, name=name, sym=SYMBOLS[k % len(SYMBOLS)], note="", over=None, taken=False))
    # an in-place pair: same bytes, the later one starts at the step where the earlier dies
    for a in out:
        for b in out:
            if (a is not b and a["offset"] == b["offset"] and a["bytes"] == b["bytes"]
                    and a["last_op"] == b["first_op"]):
                b["note"] = f"  (in place over {a['sym']})"
                b["over"], a["taken"] = a["sym"], True
            elif (a is not b and a["last_op"] == b["first_op"] and not b["note"]
                  and a["offset"] < b["offset"] + b["bytes"] and b["offset"] < a["offset"] + a["bytes"]):
                # a row overlap (planner.ROWWISE): the output streams over its dying input
                b["note"] = f"  (rows over {a['sym']}, starting {a['offset'] - b['offset']:+,} B from it)"
                b["over"] = a["sym"]
    return out


def _union_bytes(spans) -> int:
    """Bytes covered by (offset, size) spans: overlapping buffers count once."""
    total, end = 0, 0
    for lo, n in sorted(spans):
        hi = lo + n
        if hi > end:
            total += hi - max(lo, end)
            end = hi
    return total


def _steps(d: dict, entries: list[dict]) -> int:
    return max([len(d["ops"])] + [e["last_op"] + 1 for e in entries])


def render_ascii(d: dict, width: int = 64) -> str:
    """One row per op; column c covers arena bytes [c*w, (c+1)*w). A cell shows the buffer
    live at that op holding most of the column's bytes ('.' = free). In place, the output
    is shown at its hand-over step."""
    entries = _entries(d)
    arena = d["arena_bytes"]
    meta = d.get("meta", {})
    lines = [f"arena {arena:,} B, lower bound {d['lower_bound']:,} B"
             + (f" ({arena / d['lower_bound']:.3f}x)" if d["lower_bound"] else "")
             + (f", strategy {meta['plan_strategy']}" if meta.get("plan_strategy") else "")
             + (f", kernels {meta['kernel_set']}" if meta.get("kernel_set") else "")]
    if not arena or not entries:
        lines.append("(empty plan)")
        return "\n".join(lines)
    cols = max(1, min(width, arena // 16))
    per = -(-arena // cols)
    lines.append(f"one column = {per:,} B; rows = ops in schedule order; '.' = free")
    ops = d["ops"]
    name_w = max([len(f"{i:3d} {op['type']}") for i, op in enumerate(ops)] + [8])
    lines.append(f"{'op':{name_w}s} |0{' ' * (cols - 2)}{'|' if cols > 1 else ''} live B")
    for s in range(_steps(d, entries)):
        live = [e for e in entries if e["first_op"] <= s <= e["last_op"]]
        row = []
        for c in range(cols):
            lo, hi = c * per, min((c + 1) * per, arena)
            best, cover = None, 0
            for e in live:
                n = min(hi, e["offset"] + e["bytes"]) - max(lo, e["offset"])
                # ties (an in-place pair at its hand-over step) go to the later buffer
                if n > cover or (n == cover and n > 0 and e["first_op"] > best["first_op"]):
                    best, cover = e, n
            row.append(best["sym"] if best else ".")
        label = f"{s:3d} {ops[s]['type']}" if s < len(ops) else f"{s:3d}"
        used = _union_bytes((e["offset"], e["bytes"]) for e in live)  # shared bytes count once
        lines.append(f"{label:{name_w}s} |{''.join(row)}| {used:,}")
    lines.append("buffers:")
    for e in entries:
        lines.append(f"  {e['sym']} [{e['offset']:>8,} +{e['bytes']:>8,} B] ops {e['first_op']}-"
                     f"{e['last_op']}  {e['name']}{e['note']}")
    return "\n".join(lines)


def render_png(d: dict, path: str) -> None:
    """Rectangles in (op, arena offset) space, one per buffer, with the lower bound marked."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise EdgeRTError("--memory-png needs matplotlib: pip install matplotlib "
                          "(or pip install edge-rt[plot])") from None
    entries = _entries(d)
    steps = _steps(d, entries)
    fig, ax = plt.subplots(figsize=(min(4 + 0.5 * steps, 20), 6))
    cmap = plt.get_cmap("tab20")
    for k, e in enumerate(entries):
        scratch = e["tensor"] < 0
        # an in-place pair splits its hand-over step: the input is read, then overwritten
        x0 = e["first_op"] - (0.0 if e["over"] else 0.45)
        x1 = e["last_op"] + (0.0 if e["taken"] else 0.45)
        ax.add_patch(plt.Rectangle((x0, e["offset"]), x1 - x0, e["bytes"],
                                   facecolor="lightgrey" if scratch else cmap(k % 20),
                                   edgecolor="black", linewidth=0.6, hatch="//" if scratch else None))
        if e["bytes"] >= d["arena_bytes"] * 0.04:
            ax.text((x0 + x1) / 2, e["offset"] + e["bytes"] / 2, e["sym"],
                    ha="center", va="center", fontsize=8)
    ax.axhline(d["lower_bound"], color="red", linestyle="--", linewidth=1,
               label=f"lower bound {d['lower_bound']:,} B")
    ax.axhline(d["arena_bytes"], color="black", linewidth=1, label=f"arena {d['arena_bytes']:,} B")
    ax.set_xlim(-0.6, steps - 0.4)
    ax.set_ylim(0, max(d["arena_bytes"], d["lower_bound"], 1) * 1.05)
    ax.set_xticks(range(steps))
    ax.set_xticklabels([f"{i} {op['type']}" for i, op in enumerate(d["ops"])] + [""] * (steps - len(d["ops"])),
                       rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(f"{d.get('meta', {}).get('source_name', 'model')}: memory plan "
                 f"({d.get('meta', {}).get('kernel_set', '?')} kernels; hatched = scratch)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as e:
        raise EdgeRTError(f"cannot write {path}: {e.strerror}") from None
    except ValueError as e:  # matplotlib: an extension it has no writer for
        raise EdgeRTError(f"cannot write {path}: {e}") from None
    finally:
        plt.close(fig)
