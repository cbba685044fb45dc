# The broadcast walk shared by the viper ADD, SUB and MUL kernels (the plan of
# kernels/broadcast.py): each innermost run of the output is handed to a viper function
# elems(a, ia, a_step, b, ib, b_step, n, st, acc, y, yo) in chunks of CHUNK elements (the
# length of the bind-time accumulator row).
from ..broadcast import unpack_params

CHUNK = 256


def binary_run(params, at, a, b, y, elems, st):
    """run() for the broadcast plan packed at params[at:]."""
    dims, sa, sb = unpack_params(params, at)
    nd = len(dims)
    outer = 1
    for d in range(nd - 1):
        outer *= dims[d]

    def run(a=a, b=b, y=y, elems=elems, st=st, acc=bytearray(4 * CHUNK), dims=dims, sa=sa, sb=sb, nd=nd,
            outer=outer, inner=dims[nd - 1], ia_step=sa[nd - 1], ib_step=sb[nd - 1], chunk=CHUNK):
        yo = 0
        for o in range(outer):
            ia = 0
            ib = 0
            rem = o
            for d in range(nd - 2, -1, -1):
                c = rem % dims[d]
                rem //= dims[d]
                ia += c * sa[d]
                ib += c * sb[d]
            done = 0
            while done < inner:
                n = inner - done
                if n > chunk:
                    n = chunk
                elems(a, ia, ia_step, b, ib, ib_step, n, st, acc, y, yo)
                ia += n * ia_step
                ib += n * ib_step
                yo += n
                done += n
    return run
