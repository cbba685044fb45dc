# RESIZE_NEAREST_NEIGHBOR, pure Python: the readable specification.
# For each image b and output pixel (i, j), copy the C channels of input pixel
# (rows[i], cols[j]) (tables computed at pack time, see compiler/prepare). Wider elements are
# copied as bytes (a float read allocates on MicroPython).
from ...compat import retype


def bind(op, m, v, arena):
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    size = ty.nbytes // ty.size() if ty.size() else 1
    x = retype(v[op.inputs[0]], tx.nbytes, "B") if size > 1 else v[op.inputs[0]]
    y = retype(v[op.outputs[0]], ty.nbytes, "B") if size > 1 else v[op.outputs[0]]
    n, h, w, c, oh, ow = op.params[:6]
    pix = c * size  # bytes per pixel
    rows, cols = v[op.inputs[1]], v[op.inputs[2]]
    row_at = [rows[i] * w * pix for i in range(oh)]   # bind time: byte offsets in one image
    col_at = [cols[j] * pix for j in range(ow)]

    def run(x=x, y=y, n=n, img=h * w * pix, row_at=row_at, col_at=col_at, pix=pix):
        yo = 0
        for b in range(n):
            base = b * img
            for r in row_at:
                for cl in col_at:
                    xo = base + r + cl
                    for k in range(pix):
                        y[yo + k] = x[xo + k]
                    yo += pix
    return run
