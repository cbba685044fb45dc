# PATCH_STREAM (patch-based streaming, compiler/prepare/patch_stream.py), pure Python: for
# each spatial patch of the output, copy the input rectangle it reads into buffer A, run the
# chain's sub-ops (their own kernels of this set) between buffers A and B on patch-shaped
# views with the patch's own pad_top/pad_left, and copy the result into its place in the
# output. A residual sub-op (CONV_2D_ADD) first gets its skip rectangle copied into buffer C
# from the patch buffer of the tensor it adds. Sub-kernels are bound once per distinct patch
# geometry (interior patches share one).
# MicroPython-safe: copies are element loops over flat views (slicing would allocate), all
# state is bound as default arguments of run().
from ... import format as F
from ...compat import typed_view
from ...reader import OpInfo


class _Buf:
    """A patch buffer as a sub-kernel sees a tensor: shape, bytes, place (int8)."""

    def __init__(self, offset):
        self.kind = F.KIND_ARENA
        self.offset = offset
        self.dtype = F.DT_INT8
        self.shape = (1, 1, 1, 1)
        self.nbytes = 1
        self.scale = 1.0
        self.zero_point = 0

    def set(self, h, w, c):
        self.shape = (1, h, w, c)
        self.nbytes = h * w * c

    def size(self):
        return self.nbytes


class _Model:
    def __init__(self, tensors):
        self.tensors = tensors


def bind(op, m, v, arena):
    from . import KERNELS
    p = op.params
    n_sub, n_patch, a_bytes, b_bytes, c_bytes, sub_at = p[:6]
    at = 6
    k = 1
    subs = []
    for j in range(n_sub):
        code, n_in, n_par, c_out, skip_from = p[at:at + 5]
        at += 5
        subs.append((code, list(op.inputs[k:k + n_in]), list(p[at:at + n_par]), c_out, skip_from))
        at += n_par
        k += n_in
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    if tx.kind != F.KIND_ARENA or ty.kind != F.KIND_ARENA:
        raise ValueError("patch streaming reads and writes arena tensors only")
    c_in, w_in = tx.shape[3], tx.shape[2]
    w_out, c_out = ty.shape[2], ty.shape[3]
    base = op.scratch_offset
    bufs = (_Buf(base), _Buf(base + a_bytes), _Buf(base + a_bytes + b_bytes))
    n_t = len(m.tensors)
    mm = _Model(list(m.tensors) + list(bufs))
    whole = (typed_view(arena, base, a_bytes, "b"), typed_view(arena, base + a_bytes, b_bytes, "b"))
    cview = typed_view(arena, base + a_bytes + b_bytes, c_bytes, "b")
    vv = list(v) + [None, None, cview]
    sub_off, sub_bytes = base + sub_at, op.scratch_bytes - sub_at
    cache = {}
    plan = []
    for _ in range(n_patch):
        iy0, ix0, hi, wi, oy0, ox0 = p[at:at + 6]
        at += 6
        runs = []
        rects = [(iy0, ix0, hi, wi, c_in)]  # rects[s + 1]: sub-op s's output rectangle
        h, w, c = hi, wi, c_in
        for j in range(n_sub):
            ho, wo, pt, pl, y0, x0 = p[at:at + 6]
            at += 6
            code, consts, prm, co, skip_from = subs[j]
            key = (j, h, w, ho, wo, pt, pl)
            f = cache.get(key)
            if f is None:
                src, dst = j % 2, (j + 1) % 2
                bufs[src].set(h, w, c)
                bufs[dst].set(ho, wo, co)
                bufs[2].set(ho, wo, co)
                vv[n_t + src] = typed_view(arena, bufs[src].offset, h * w * c, "b")
                vv[n_t + dst] = typed_view(arena, bufs[dst].offset, ho * wo * co, "b")
                prm2 = list(prm)
                prm2[4], prm2[5] = pt, pl
                ins = [n_t + src] + consts + ([n_t + 2] if skip_from > -2 else [])
                sub = OpInfo(op.index, code, ins, [n_t + dst], prm2, sub_off, sub_bytes)
                f = KERNELS[code](sub, mm, vv, arena)
                cache[key] = f
            copy = None
            if skip_from > -2:  # (source view, first element, source row, rows, row elements)
                sy, sx, _, sw, sc = rects[skip_from + 1]
                copy = (whole[(skip_from + 1) % 2], ((y0 - sy) * sw + (x0 - sx)) * sc, sw * sc, ho, wo * co)
            runs.append((f, copy))
            rects.append((y0, x0, ho, wo, co))
            h, w, c = ho, wo, co
        plan.append((iy0 * w_in + ix0, hi, wi * c_in, (oy0 * w_out + ox0) * c_out, h, w * c_out, tuple(runs)))
    plan = tuple(plan)
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    a = typed_view(arena, base, a_bytes, "b")
    last = typed_view(arena, base + (a_bytes if n_sub % 2 else 0), b_bytes if n_sub % 2 else a_bytes, "b")

    def run(plan=plan, x=x, y=y, a=a, last=last, cview=cview, xrow=w_in * c_in, yrow=w_out * c_out,
            c_in=c_in):
        for x0, hi, rin, y0, ho, rout, runs in plan:
            s = x0 * c_in
            d = 0
            for _ in range(hi):
                for i in range(rin):
                    a[d + i] = x[s + i]
                s += xrow
                d += rin
            for f, copy in runs:
                if copy is not None:
                    src, s, srow, rows, n = copy
                    d = 0
                    for _ in range(rows):
                        for i in range(n):
                            cview[d + i] = src[s + i]
                        s += srow
                        d += n
                f()
            s = 0
            d = y0
            for _ in range(ho):
                for i in range(rout):
                    y[d + i] = last[s + i]
                s += rout
                d += yrow
    return run
