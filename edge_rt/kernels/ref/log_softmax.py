# LOG_SOFTMAX (int8, last axis), pure Python: the readable specification. Tables and params:
# compiler/prepare/log_softmax.py. Per row of `depth` values, with d = max - x:
# 1. sum = sum of exp_q12[d] (Q12.19, wrapped to int32 as the reference's adds).
# 2. L = log(sum) in Q5.26 (fixedpoint.log_ge_1, gemmlowp's log for x >= 1).
# 3. cutoff = max(diff_min - 1, mbqm(L + INT32_MIN, reverse multiplier, reverse shift)).
# 4. y = clamp(rdbpot(q5[d] - L, 22) + 127, -128, 127) if -d > cutoff, else -128.
# Allocation-free on 32-bit MicroPython (small ints are 31 bits there) for rows shorter than 2,048
# (the sum stays below 2**30) and reverse shifts of -2..-30 (input scales from about 1e-7 up), so:
# step 2 by fixedpoint.log_ge_1_small (Q0.31 values as uint16 halves); step 3 as
# -((K - srdhm(L, M)) >> R) with R the right shift and K = M + 2**(R-1) split at bind into
# K >> R and K mod 2**R (mbqm(L - 2**31, M, -R) is exactly that, as L >= 0); step 4 with q5[d]
# read as int16 halves, L split likewise, the int32 wrap and rdbpot done on the halves. Other
# rows take the exact steps above (they allocate big ints there).
from ...compat import retype
from ..fixedpoint import log_ge_1, log_ge_1_small
from ..quant import INT32_MIN, mbqm, rdbpot, srdhm_halves, wrap32
from .softmax import exp_sum, last_axis, row_max


def run_exact(x, y, q5, base, end, mx, total, dmin1, rm, rs):
    """Steps 2-4 of one row as the reference states them (big ints on a 32-bit port)."""
    lg = log_ge_1(wrap32(total), 12, 5)
    cut = mbqm(lg + INT32_MIN, rm, rs)
    if cut < dmin1:
        cut = dmin1
    for i in range(base, end):
        d = mx - x[i]
        if -d > cut:
            q = rdbpot(wrap32(q5[d] - lg), 22) + 127
            y[i] = -128 if q < -128 else (127 if q > 127 else q)
        else:
            y[i] = -128


def bind(op, m, v, arena):
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    q5, e12 = v[op.inputs[1]], v[op.inputs[2]]
    q5h = retype(q5, 1024, "h")  # q5[d] = q5h[2d + 1] * 2**16 + (q5h[2d] & 0xFFFF)
    diff_min, rev_mult, rev_shift = op.params[:3]
    depth, rows = last_axis(m.tensors[op.inputs[0]])
    r = -rev_shift
    small = depth < 2048 and 2 <= r <= 30
    # -d lies in [-255, 0]: a cutoff below -256 (diff_min - 1 may be -2**30 - 1) compares alike
    cmin = diff_min - 1 if diff_min - 1 > -256 else -256
    kk = rev_mult + (1 << (r - 1)) if small else 0
    kq, kr = (kk >> r, kk & ((1 << r) - 1)) if small else (0, 0)
    w = [0, 0, 0]  # log_ge_1_small's scratch
    # bound as defaults, not closed over: a closure of more than a few cells allocates per call
    k = (x, y, q5, q5h, e12, depth, rows, small, cmin, kq, kr, r, rev_mult & 0xFFFF, rev_mult >> 16, w,
         (diff_min - 1, rev_mult, rev_shift))

    def run(k=k):
        x, y, q5, q5h, e12, depth, rows, small, cmin, kq, kr, r, m_lo, m_hi, w, exact = k
        for row in range(rows):
            base = row * depth
            end = base + depth
            mx = row_max(x, base, end, -128)
            total = exp_sum(x, e12, base, end, mx)
            if not (small and log_ge_1_small(total, 12, 5, w)):
                run_exact(x, y, q5, base, end, mx, total, exact[0], exact[1], exact[2])
                continue
            lg = w[0]  # 0 <= lg < 2**30
            w[0] = w[1] = w[2] = 0  # CPython: hold no int made by this invoke
            cut = -(kq + ((kr - srdhm_halves(lg, m_lo, m_hi)) >> r))
            if cut < cmin:
                cut = cmin
            lg_h, lg_l = lg >> 16, lg & 0xFFFF
            for i in range(base, end):
                d = mx - x[i]
                if -d > cut:
                    # v = q5[d] - lg = hi * 2**16 + lo (0 <= lo < 2**16), hi wrapped to int16
                    lo = (q5h[2 * d] & 0xFFFF) - lg_l
                    hi = q5h[2 * d + 1] - lg_h + (lo >> 16)
                    lo &= 0xFFFF
                    hi = ((hi + 0x8000) & 0xFFFF) - 0x8000
                    # rdbpot(v, 22): v >> 22 = hi >> 6; remainder ((hi & 63) << 16) | lo
                    q = (hi >> 6) + (1 if (((hi & 63) << 16) | lo) > (0x1FFFFF if hi >= 0 else 0x200000) else 0)
                    q += 127
                    y[i] = -128 if q < -128 else (127 if q > 127 else q)
                else:
                    y[i] = -128
    return run
