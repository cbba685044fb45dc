# FULLY_CONNECTED's geometry, and its weights as the ref kernels read them, from the file: a file
# packed for the C set holds the weights only in their VNNI packing (compiler/prepare/common.py
# c_packing), so the ref set (kernels="ref" on such a file) unpacks them once at bind. Shared by
# the ref and c binders; imports nothing of either set (the c set's binder loads at reader import).
from array import array


def fc_geometry(op, m):
    """(n, k, batches) of FULLY_CONNECTED: n outputs of k inputs per batch row. A file packed for the
    C set holds the weights only in their VNNI packing, 4-D [ceil(n/16)][ceil(k/4)][16][4]
    (compiler/prepare/common.py c_packing): n is then the bias's length, k the input row's."""
    ws = m.tensors[op.inputs[1]].shape
    if len(ws) == 2:
        n, k = ws
        return n, k, m.tensors[op.inputs[0]].size() // k
    n = m.tensors[op.inputs[2]].size()
    xs, ys = m.tensors[op.inputs[0]].size(), m.tensors[op.outputs[0]].size()
    if len(ws) != 4 or n < 1 or ys < n or ys % n or xs % (ys // n):
        raise ValueError("weights of shape %s for %d outputs of %d inputs" % (ws, ys, xs))
    batches = ys // n
    k = xs // batches
    if tuple(ws) != ((n + 15) // 16, (k + 3) // 4, 16, 4):
        raise ValueError("packed weights of shape %s do not fit %d outputs of %d inputs" % (ws, n, k))
    return n, k, batches


def fc_weights(op, m, w, n, k):
    """The [n][k] weights of FULLY_CONNECTED as a flat int8 sequence: w itself, or unpacked (once, at
    bind) from the C set's packing (fc_geometry), whose [16][4] blocks hold 16 rows x 4 taps."""
    if len(m.tensors[op.inputs[1]].shape) == 2:
        return w
    k4 = (k + 3) // 4
    out = array("b", bytes(n * k))
    for o in range(n):
        base = (o >> 4) * k4 * 64 + (o & 15) * 4
        row = o * k
        for j in range(k):
            out[row + j] = w[base + (j >> 2) * 64 + (j & 3)]
    return out
