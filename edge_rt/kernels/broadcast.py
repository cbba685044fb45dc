# Numpy-style broadcasting of two inputs onto one output, shared by the binary element-wise
# ops (ADD, SUB, MUL). Device-safe: pure Python, no numpy. The host calls plan() at pack time
# and stores its result in the op's params; kernels only read that result.
#
# A plan is (dims, a_strides, b_strides): the output is walked in row-major order over
# `dims`, and input k's element for output coordinates (c0, c1, ...) sits at flat index
# sum(c_d * k_strides[d]); a stride of 0 repeats the input along that axis. Steps:
#   1. left-pad all three shapes with 1s to the same rank (numpy/TFLite rule);
#   2. per axis, each input must equal the output size or be 1 (then its stride is 0);
#   3. drop size-1 output axes and merge neighbours whose strides are all contiguous or all
#      0, so e.g. [2,3,4] + [2,3,4] becomes one axis of 24 and [1,8,8,3] + [3] two axes.
# The merging only reduces loop overhead; any plan walks the same element pairs.

MAX_RANK = 6  # the .ert tensor record holds at most 6 dimensions


def _extend(shape, rank):
    return [1] * (rank - len(shape)) + list(shape)


def plan(shape_a, shape_b, shape_out):
    """(dims, a_strides, b_strides) for broadcasting a and b to shape_out; raises ValueError
    naming the first axis that does not broadcast."""
    rank = max(len(shape_a), len(shape_b), len(shape_out))
    ea, eb, eo = _extend(shape_a, rank), _extend(shape_b, rank), _extend(shape_out, rank)
    dims, sa, sb = [], [], []
    acc_a = acc_b = 1
    for d in range(rank - 1, -1, -1):
        a, b, o = ea[d], eb[d], eo[d]
        want = a if a == b or b == 1 else (b if a == 1 else -1)
        if want < 0:
            raise ValueError("shapes %s and %s do not broadcast (axis %d: %d vs %d)" % (
                tuple(shape_a), tuple(shape_b), d, a, b))
        if o != want:
            raise ValueError("output shape %s is not the broadcast of %s and %s" % (
                tuple(shape_out), tuple(shape_a), tuple(shape_b)))
        if o != 1:
            stride_a = acc_a if a != 1 else 0
            stride_b = acc_b if b != 1 else 0
            # dims are built innermost first; merge into the previous (inner) axis when
            # stepping this axis is the same as stepping past the whole inner one.
            if dims and stride_a == sa[-1] * dims[-1] and stride_b == sb[-1] * dims[-1]:
                dims[-1] *= o
            else:
                dims.append(o)
                sa.append(stride_a)
                sb.append(stride_b)
        acc_a *= a
        acc_b *= b
    if not dims:
        return [1], [0], [0]
    dims.reverse()
    sa.reverse()
    sb.reverse()
    return dims, sa, sb


def pack_params(p):
    """Flatten a plan into op params: [ndim, dims..., a_strides..., b_strides...]."""
    dims, sa, sb = p
    return [len(dims)] + list(dims) + list(sa) + list(sb)


def unpack_params(params, start):
    """Inverse of pack_params for params[start:]."""
    n = params[start]
    s = start + 1
    return (list(params[s:s + n]), list(params[s + n:s + 2 * n]), list(params[s + 2 * n:s + 3 * n]))


def run_binary(dims, sa, sb, a, b, y, fn):
    """y[i] = fn(a[ia], b[ib]) over the output in row-major order, with ia/ib from the plan:
    each run of the innermost axis starts at offsets computed from the outer coordinates."""
    nd = len(dims)
    inner = dims[nd - 1]
    ia_step = sa[nd - 1]
    ib_step = sb[nd - 1]
    outer = 1
    for d in range(nd - 1):
        outer *= dims[d]
    yo = 0
    for o in range(outer):
        ia = ib = 0
        rem = o
        for d in range(nd - 2, -1, -1):
            c = rem % dims[d]
            rem //= dims[d]
            ia += c * sa[d]
            ib += c * sb[d]
        for _ in range(inner):
            y[yo] = fn(a[ia], b[ib])
            yo += 1
            ia += ia_step
            ib += ib_step
