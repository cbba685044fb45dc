# SVDF (int8; int16 or int8 time weights and activation state), pure Python: the readable
# specification of TFLite Micro's integer SVDF (operands: compiler/prepare/svdf.py).
#   the state (batches x filters x memory, oldest first) moves one step older; then per batch b,
#   unit u and filter f = u * rank + r:
#     state[b, f, M-1] = wrap(s_zp + clamp(mbqm(sum_i wf[f, i] * x[b, i] + fb[f], scale1)))
#     y[b, u] = clamp8(mbqm(bias[u] + sum_r (sum_m wt[f, m] * state[b, f, m] + tb[f]), scale2) + y_zp)
# No scratch: each filter's row is complete before its time product reads it.
from ...compat import retype
from ..quant import mbqm_halves


def bind(op, m, v, arena):
    i_x, i_wf, i_wt, i_fb, i_tb, i_b, i_m, i_s, i_st = op.inputs[:9]
    mh = retype(v[i_m], m.tensors[i_m].nbytes, "H")  # int32 multipliers as uint16 halves
    nb, ni, nf, nm, rank, szp, yzp, bits = op.params
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    k = (v[i_x], v[i_wf], v[i_wt], v[i_fb], v[i_tb], v[i_b], mh, v[i_s], v[i_st], v[op.outputs[0]],
         nb, ni, nf, nm, rank, szp, yzp, lo, hi, (1 << bits) - 1)

    def run(k=k):
        x, wf, wt, fb, tb, bias, mh, shift, st, y, nb, ni, nf, nm, rank, szp, yzp, lo, hi, mask = k
        for i in range(nb * nf * nm - 1):
            st[i] = st[i + 1]
        nu = nf // rank
        for b in range(nb):
            xo = b * ni
            for u in range(nu):
                acc = bias[u]
                for r in range(rank):
                    f = u * rank + r
                    d = fb[f]
                    wo = f * ni
                    for i in range(ni):
                        d += wf[wo + i] * x[xo + i]
                    d = mbqm_halves(d, mh[0], mh[1], shift[0])
                    d = (lo if d < lo else (hi if d > hi else d)) + szp
                    so = (b * nf + f) * nm
                    st[so + nm - 1] = ((d - lo) & mask) + lo  # the C store into int16 / int8 wraps
                    t = tb[f]
                    wo = f * nm
                    for j in range(nm):
                        t += wt[wo + j] * st[so + j]
                    acc += t
                acc = mbqm_halves(acc, mh[2], mh[3], shift[1]) + yzp
                y[b * nu + u] = -128 if acc < -128 else (127 if acc > 127 else acc)
    return run
