# RESIZE_BILINEAR (int8), numpy: per image, the input widened to int32 in scratch, then for
# each of the four taps one take of whole pixels through the packer's pixel table, times the
# tap's weight (OH*OW int32), summed in int32 (|sum| < 2**29); the sum is rounded half away
# from zero at bit 20 as sign * ((|s| + 2**19) >> 20), exactly the reference's division.
# Every step writes into scratch through out=: nothing is allocated per invoke.
import numpy as np


def scratch_bytes(h, w, c, oh, ow):
    """int32 copy of one image, the accumulator and one tap's product."""
    return 4 * (h * w * c + 2 * oh * ow * c)


def bind(op, m, v, arena):
    n, h, w, c, oh, ow = op.params[:6]
    x = v[op.inputs[0]].reshape(n, h * w, c)
    y = v[op.outputs[0]].reshape(n, oh * ow, c)
    idx = [t.astype(np.intp) for t in v[op.inputs[3]].reshape(4, oh * ow)]
    wts = [t.reshape(oh * ow, 1) for t in v[op.inputs[4]].reshape(4, oh * ow)]
    off = op.scratch_offset
    x32 = np.frombuffer(arena, np.int32, h * w * c, off).reshape(h * w, c)
    acc = np.frombuffer(arena, np.int32, oh * ow * c, off + 4 * h * w * c).reshape(oh * ow, c)
    tmp = np.frombuffer(arena, np.int32, oh * ow * c, off + 4 * (h * w * c + oh * ow * c)).reshape(oh * ow, c)
    half, twenty = np.int32(1 << 19), np.int32(20)
    copyto, take, mul, add = np.copyto, x32.take, np.multiply, np.add
    sign, absolute, rshift = np.sign, np.absolute, np.right_shift
    taps = list(zip(idx, wts))
    images = [(x[b], y[b]) for b in range(n)]

    def run():
        for xb, yb in images:
            copyto(x32, xb)
            first = True
            for ix, wt in taps:
                if first:
                    take(ix, 0, acc, "clip")
                    mul(acc, wt, acc)
                    first = False
                else:
                    take(ix, 0, tmp, "clip")
                    mul(tmp, wt, tmp)
                    add(acc, tmp, acc)
            sign(acc, tmp)
            absolute(acc, acc)
            add(acc, half, acc)
            rshift(acc, twenty, acc)
            mul(acc, tmp, acc)
            copyto(yb, acc, "unsafe")
    return run
