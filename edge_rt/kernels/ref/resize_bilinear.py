# RESIZE_BILINEAR (int8), pure Python: the readable specification. Tables from
# compiler/prepare/resize_bilinear.py: rows[i] = (lo * W * C, hi * W * C, wy) and
# cols[j] = (lo * C, hi * C, wx), weights in 1/1024. For image b, output pixel (i, j),
# channel k, with p(r, c) the input value at row offset r and column offset c:
#   s = (p(lo_r, lo_c) * (1024 - wy) + p(hi_r, lo_c) * wy) * (1024 - wx)
#     + (p(lo_r, hi_c) * (1024 - wy) + p(hi_r, hi_c) * wy) * wx
# (the reference's four products, regrouped: integer arithmetic, the same sum) and
# y = s / 2**20 rounded half away from zero. |s| < 2**29: small ints on MicroPython.


def bind(op, m, v, arena):
    n, h, w, c, oh, ow = op.params[:6]
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    rt, ct = v[op.inputs[1]], v[op.inputs[2]]
    rows = [(rt[3 * i], rt[3 * i + 1], 1024 - rt[3 * i + 2], rt[3 * i + 2]) for i in range(oh)]
    cols = [(ct[3 * j], ct[3 * j + 1], 1024 - ct[3 * j + 2], ct[3 * j + 2]) for j in range(ow)]

    def run(x=x, y=y, n=n, img=h * w * c, c=c, rows=rows, cols=cols):
        yo = 0
        for b in range(n):
            base = b * img
            for r0, r1, wy0, wy1 in rows:
                r0 += base
                r1 += base
                for c0, c1, wx0, wx1 in cols:
                    # one assignment each: a 4-target tuple assignment builds a tuple
                    a = r0 + c0
                    bb = r1 + c0
                    cc = r0 + c1
                    d = r1 + c1
                    for k in range(c):
                        s = (x[a + k] * wy0 + x[bb + k] * wy1) * wx0 + (x[cc + k] * wy0 + x[d + k] * wy1) * wx1
                        y[yo] = ((s + 524288) >> 20) if s > 0 else -((524288 - s) >> 20)
                        yo += 1
    return run
