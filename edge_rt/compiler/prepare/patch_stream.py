"""PATCH_STREAM: a chain of row-streaming ops (CONV_2D, DEPTHWISE_CONV_2D, DS_CONV_2D) from a
graph input to a cut tensor, run as ny x nx spatial patches of the cut (MCUNetV2-style
patch-based inference). Each patch back-propagates its output rectangle through the chain:
an op with output rows [a, b) needs input rows [a*sh - pt, (b-1)*sh - pt + (kh-1)*dh + 1),
clipped to the image; the overlap with neighbouring patches (the halo) is recomputed. Every
sub-op runs its own kernel on patch-shaped buffers with pad_top/pad_left reduced to the
padding that really lies outside the image (max(pt - a*sh, 0)): taps outside a patch buffer
are exactly the taps outside the image, so each output value gets the same arithmetic as in
the unpatched op.

A residual block (CONV_2D_ADD) may be part of the chain when its skip tensor is the output of
one of the two sub-ops before it (or the chain's input): that tensor's patch buffer is still
intact then, and the skip rectangle (the patch's output rectangle) is copied out of it into
buffer C before the sub-op runs.

Operands (docs/format.md): kernel inputs = [x] + every sub-op's constant kernel inputs, in
chain order. params = [n_sub, n_patch, a_bytes, b_bytes, c_bytes, sub_at,
  per sub-op j: opcode, n_const_inputs, n_params, c_out, skip_from, params... (as prepared for
             the whole op; skip_from: the sub-op whose output is the skip, -1 the chain's
             input, -2 none),
  per patch: iy0, ix0, hi, wi (the input rectangle), oy0, ox0 (where its output goes),
             then per sub-op: ho, wo, pad_top, pad_left, y0, x0 (its output rectangle)]
Scratch: [A: a_bytes][B: b_bytes][C: c_bytes][the sub-ops' own scratch]; sub-op j reads buffer
j % 2 and writes buffer (j + 1) % 2 (A holds the copied input rectangle)."""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, Op
from .common import OpProblem

PATCHABLE = ("CONV_2D", "DEPTHWISE_CONV_2D", "DS_CONV_2D", "CONV_2D_ADD")


@dataclass
class SubGeo:
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pl: int
    h: int
    w: int
    c: int
    oh: int
    ow: int
    oc: int
    macs_px: int    # MACs per output pixel


def sub_geometry(g: Graph, op: Op) -> SubGeo:
    """Geometry of a prepared sub-op (params[0:6] = sh, sw, dh, dw, pt, pl for all three)."""
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    w = g.tensors[op.inputs[1]].shape
    sh, sw, dh, dw, pt, pl = op.params[:6]
    _, h, wd, c = x.shape
    _, oh, ow, oc = y.shape
    if op.type in ("CONV_2D", "CONV_2D_ADD"):
        kh, kw, px = w[1], w[2], w[1] * w[2] * w[3] * oc
    elif op.type == "DEPTHWISE_CONV_2D":
        kh, kw, px = w[1], w[2], w[1] * w[2] * oc
    else:  # DS_CONV_2D: depthwise on w[3] channels, then 1x1 to oc
        kh, kw, px = w[1], w[2], w[1] * w[2] * w[3] + w[3] * oc
    return SubGeo(kh, kw, sh, sw, dh, dw, pt, pl, h, wd, c, oh, ow, oc, px)


def _back(a: int, b: int, k: int, s: int, d: int, p: int, n: int) -> tuple[int, int, int]:
    """Input range [lo, hi) output range [a, b) reads, clipped to [0, n), and the local pad."""
    lo = a * s - p
    hi = (b - 1) * s - p + (k - 1) * d + 1
    return max(lo, 0), min(hi, n), max(-lo, 0)


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    cuts = [i * n // parts for i in range(parts + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(parts) if cuts[i + 1] > cuts[i]]


def patches(geos: list[SubGeo], ny: int, nx: int) -> list[tuple]:
    """Per patch: ((iy0, ix0, hi, wi), (oy0, ox0), [(ho, wo, pt, pl, y0, x0) per sub-op])."""
    last = geos[-1]
    out = []
    for ya, yb in _split(last.oh, ny):
        for xa, xb in _split(last.ow, nx):
            subs = []
            a, b, c, e = ya, yb, xa, xb
            for geo in reversed(geos):
                ylo, yhi, pt = _back(a, b, geo.kh, geo.sh, geo.dh, geo.pt, geo.h)
                xlo, xhi, pl = _back(c, e, geo.kw, geo.sw, geo.dw, geo.pl, geo.w)
                subs.append((b - a, e - c, pt, pl, a, c))
                a, b, c, e = ylo, yhi, xlo, xhi
            out.append(((a, c, b - a, e - c), (ya, xa), subs[::-1]))
    return out


def patch_cost(geos: list[SubGeo], ny: int, nx: int, skips=()) -> tuple[int, int, int, int, int]:
    """(a_bytes, b_bytes, c_bytes, MACs of the patched chain, MACs of the chain run whole);
    skips: the sub-ops with a skip input (their skip rectangle is copied into C)."""
    a_bytes = b_bytes = c_bytes = 0
    macs = 0
    for (_, _, hi, wi), _, subs in patches(geos, ny, nx):
        a_bytes = max(a_bytes, hi * wi * geos[0].c)
        for j, (ho, wo, *_) in enumerate(subs):
            n = ho * wo * geos[j].oc
            if j % 2:
                a_bytes = max(a_bytes, n)
            else:
                b_bytes = max(b_bytes, n)
            if j in skips:
                c_bytes = max(c_bytes, n)
            macs += ho * wo * geos[j].macs_px
    whole = sum(geo.oh * geo.ow * geo.macs_px for geo in geos)
    return _r16(a_bytes), _r16(b_bytes), _r16(c_bytes), macs, whole


def skip_sources(chain: list[Op]) -> dict:
    """Sub-op index -> the sub-op whose output is its skip (-1: the chain's input); raises
    OpProblem when a skip comes from further back (its patch buffer is overwritten by then)."""
    out = {}
    for j, o in enumerate(chain):
        if o.type != "CONV_2D_ADD":
            continue
        skip = o.kernel_inputs[5]
        srcs = [s for s in (j - 1, j - 2) if s >= 0 and chain[s].outputs[0] == skip]
        if srcs:
            out[j] = srcs[0]
        elif j <= 1 and chain[0].inputs[0] == skip:
            out[j] = -1
        else:
            raise OpProblem("a residual inside a patch chain must add the output of one of the two ops before it")
    return out


def _r16(n: int) -> int:
    return (n + 15) // 16 * 16


def make_patch_op(g: Graph, chain: list[Op], ny: int, nx: int) -> Op:
    """The PATCH_STREAM op for prepared ops `chain` cut into ny x nx patches of its output."""
    op = Op("PATCH_STREAM", [chain[0].inputs[0]], list(chain[-1].outputs), {"chain": chain, "grid": (ny, nx)},
            source=sorted(s for o in chain for s in o.source))
    prepare_patch(g, op, "ref")
    return op


def prepare_patch(g: Graph, op: Op, ks: str) -> None:
    from ... import format as F
    chain, (ny, nx) = op.options["chain"], op.options["grid"]
    if ks != "ref" or any(o.kernel_set != "ref" or o.type not in PATCHABLE for o in chain):
        raise OpProblem("patch streaming runs pure-Python CONV_2D / DEPTHWISE_CONV_2D / DS_CONV_2D only")
    for prev, o in zip(chain, chain[1:]):
        if o.kernel_inputs[0] != prev.outputs[0]:
            raise OpProblem("patch streaming needs a chain: each op reads the previous op's output")
    for o in chain:
        for t in (o.inputs[0], o.outputs[0]):
            tt = g.tensors[t]
            if tt.dtype != "int8" or len(tt.shape) != 4 or tt.shape[0] != 1:
                raise OpProblem("patch streaming needs int8 NHWC tensors of batch 1")
    geos = [sub_geometry(g, o) for o in chain]
    skips = skip_sources(chain)
    a_bytes, b_bytes, c_bytes, _, _ = patch_cost(geos, ny, nx, skips)
    sub_at = a_bytes + b_bytes + c_bytes
    params = [len(chain), 0, a_bytes, b_bytes, c_bytes, sub_at]
    ins = [chain[0].kernel_inputs[0]]
    for j, (o, geo) in enumerate(zip(chain, geos)):
        consts = list(o.kernel_inputs[1:5] if j in skips else o.kernel_inputs[1:])
        params += [F.OP_CODES[o.type], len(consts), len(o.params), geo.oc, skips.get(j, -2)] + list(o.params)
        ins += consts
    ps = patches(geos, ny, nx)
    params[1] = len(ps)
    for (iy0, ix0, hi, wi), (oy0, ox0), subs in ps:
        params += [iy0, ix0, hi, wi, oy0, ox0]
        for j, sub in enumerate(subs):
            if j in skips:  # the skip rectangle must lie inside its source's patch buffer
                src = (iy0, ix0, hi, wi) if skips[j] < 0 else (subs[skips[j]][4], subs[skips[j]][5],
                                                              subs[skips[j]][0], subs[skips[j]][1])
                if not (src[0] <= sub[4] and sub[4] + sub[0] <= src[0] + src[2]
                        and src[1] <= sub[5] and sub[5] + sub[1] <= src[1] + src[3]):
                    raise OpProblem("a residual's skip patch is not inside its source patch")
            params += list(sub)
    op.kernel_inputs = ins
    op.params = params
    op.scratch_bytes = sub_at + max(o.scratch_bytes for o in chain)
    op.kernel_set = "ref"
