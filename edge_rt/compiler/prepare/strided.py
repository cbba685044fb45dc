"""Strided copy plans shared by the data-movement ops (TRANSPOSE, SLICE, PACK, UNPACK,
BROADCAST_TO, REDUCE_MAX's walk): a plan (dims, src_strides, dst_strides), in elements,
walks `dims` in row-major order and copies src[sbase + sum(c_d * ss_d)] to
dst[dbase + sum(c_d * ds_d)]. Kernels read it from op params as
[nd, dims..., ss..., ds...] (kernels/ref/_strided.py, kernels/np/_strided.py)."""
from __future__ import annotations


def contiguous(shape) -> list[int]:
    """Row-major element strides of shape."""
    out, acc = [], 1
    for d in reversed(list(shape)):
        out.append(acc)
        acc *= int(d)
    return out[::-1]


def merge(dims, *strides) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 axes and merge an axis into its inner neighbour when stepping it equals
    stepping past the whole inner axis in every stride list (fewer, longer inner loops; the
    same element pairs). Zero-size dims keep one axis of 0 so nothing is copied."""
    if any(int(d) == 0 for d in dims):
        return [0], [[0] for _ in strides]
    nd, ns = [], [[] for _ in strides]
    for d in range(len(dims) - 1, -1, -1):
        n = int(dims[d])
        if n == 1:
            continue
        if nd and all(int(s[d]) == o[-1] * nd[-1] for s, o in zip(strides, ns)):
            nd[-1] *= n
            continue
        nd.append(n)
        for s, o in zip(strides, ns):
            o.append(int(s[d]))
    if not nd:
        return [1], [[0] for _ in strides]
    return nd[::-1], [o[::-1] for o in ns]


def copy_params(dims, src_strides, dst_strides=None) -> list[int]:
    """[nd, dims..., ss..., ds...] of a merged plan; dst_strides default to dims contiguous."""
    if dst_strides is None:
        dst_strides = contiguous(dims)
    d, (ss, ds) = merge(dims, src_strides, dst_strides)
    return [len(d)] + d + ss + ds
