# TRANSPOSE_CONV (int8), numpy: the reference's scatter, one filter tap at a time. For tap
# (fy, fx) the input pixels whose target lies inside the output form a box, and their targets
# a strided box of the output: one int64 matmul of the box (x + in_off) with the tap's
# (IC, OC) weights into scratch, added into the strided output view. The int64 sums are
# exact (pack time bounds them below 2**31, so no int32 wrap to emulate); requant.Plan's
# steps then requantize per channel with the bias. Everything runs through out= into scratch.
import numpy as np

from ._conv_common import r16
from .requant import Plan, run_steps, setitem


def scratch_bytes(xshape, yshape):
    n, ih, iw, ic = xshape
    _, oh, ow, oc = yshape
    return r16(n * ih * iw * ic * 8) + r16(n * ih * iw * oc * 8) + 2 * r16(n * oh * ow * oc * 8)


def _span(n_out, n_in, stride, pad, f):
    """(first input, count, first output) of the inputs i with 0 <= i*stride - pad + f < n_out."""
    i0 = max(0, -(-(pad - f) // stride))
    i1 = min(n_in, (n_out - 1 + pad - f) // stride + 1)
    return i0, max(0, i1 - i0), i0 * stride - pad + f


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    sh, sw, pad_h, pad_w, in_off, out_off, lo, hi = op.params[:8]
    n, ih, iw, ic = m.tensors[i_x].shape
    oc, fh, fw, _ = m.tensors[i_w].shape
    _, oh, ow, _ = m.tensors[op.outputs[0]].shape
    x, y = v[i_x], v[op.outputs[0]]
    wt = np.ascontiguousarray(v[i_w].reshape(oc, fh, fw, ic).transpose(1, 2, 3, 0)).astype(np.int64)
    bias = v[i_b].astype(np.int64)
    o = op.scratch_offset
    x64 = np.frombuffer(arena, np.int64, n * ih * iw * ic, o).reshape(n, ih, iw, ic)
    o += r16(x64.nbytes)
    tmp = np.frombuffer(arena, np.int64, n * ih * iw * oc, o)
    o += r16(tmp.nbytes)
    acc = np.frombuffer(arena, np.int64, n * oh * ow * oc, o).reshape(n, oh, ow, oc)
    s = np.frombuffer(arena, np.int64, n * oh * ow * oc, o + r16(acc.nbytes)).reshape(-1, oc)
    steps = [(setitem, (x64, Ellipsis, x)), (np.add, (x64, np.array(in_off, np.int64), x64)),
             (np.ndarray.fill, (acc, 0))]
    for fy in range(fh):
        y0, ny, oy0 = _span(oh, ih, sh, pad_h, fy)
        for fx in range(fw):
            x0, nx, ox0 = _span(ow, iw, sw, pad_w, fx)
            if ny == 0 or nx == 0:
                continue
            src = x64[:, y0:y0 + ny, x0:x0 + nx, :]
            t = tmp[:n * ny * nx * oc].reshape(n, ny, nx, oc)
            dst = acc[:, oy0:oy0 + (ny - 1) * sh + 1:sh, ox0:ox0 + (nx - 1) * sw + 1:sw, :]
            steps += [(np.matmul, (src, wt[fy, fx], t)), (np.add, (dst, t, dst))]
    rows = n * oh * ow
    bound = int(np.abs(bias).max(initial=0)) + 255 * 128 * fh * fw * ic
    plan = Plan(v[i_m], v[i_s], out_off, lo, hi, oc, xmax=[bound] * oc, acc=np.int64, rows=rows)
    a2 = acc.reshape(rows, oc)
    steps += plan.steps(a2, a2, s, y.reshape(rows, oc), plan.tile(bias, np.int64))
    return run_steps(steps)
