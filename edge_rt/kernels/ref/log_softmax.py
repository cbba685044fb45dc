# LOG_SOFTMAX (int8, last axis), pure Python: the readable specification. Tables and params:
# compiler/prepare/log_softmax.py. Per row of `depth` values, with d = max - x:
# 1. sum = sum of exp_q12[d] (Q12.19, wrapped to int32 as the reference's adds).
# 2. L = log(sum) in Q5.26 (fixedpoint.log_ge_1, gemmlowp's log for x >= 1).
# 3. cutoff = max(diff_min - 1, mbqm(L + INT32_MIN, reverse multiplier, reverse shift)).
# 4. y = clamp(rdbpot(q5[d] - L, 22) + 127, -128, 127) if -d > cutoff, else -128.
# Steps 2-3 work on Q0.31 values up to 2**31 - 1 and q5 reaches -2**31: on 32-bit
# MicroPython they are big ints, so this kernel allocates there (it runs, exactly, with the
# heap unlocked; tests/test_micropython.py lists it). Allocation-free on 64-bit ports.
from ..fixedpoint import log_ge_1
from ..quant import INT32_MIN, mbqm, rdbpot, wrap32


def bind(op, m, v, arena):
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    q5, e12 = v[op.inputs[1]], v[op.inputs[2]]
    diff_min, rev_mult, rev_shift = op.params[:3]
    shape = m.tensors[op.inputs[0]].shape
    depth = shape[-1]
    rows = m.tensors[op.inputs[0]].size() // depth if depth else 0

    def run(x=x, y=y, q5=q5, e12=e12, depth=depth, rows=rows, dmin1=diff_min - 1, rm=rev_mult, rs=rev_shift):
        for r in range(rows):
            base = r * depth
            end = base + depth
            mx = -128
            for i in range(base, end):
                if x[i] > mx:
                    mx = x[i]
            total = 0
            for i in range(base, end):
                total += e12[mx - x[i]]
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
    return run
