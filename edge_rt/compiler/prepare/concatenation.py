"""CONCATENATION (int8, int16; also int32, float32 as TFLite Micro). Kernel inputs: the
op's inputs; params: [outer, chunk_0, ..., chunk_{n-1}] where outer is the product of the
output dims before the axis and chunk_i = input_i's axis dim * product of the dims after it:
the output is, for each of the `outer` blocks, chunk_0 elements of input 0, then of input 1..."""
import numpy as np

from ..ir import Graph, Op
from .common import need, need_dtype

DTYPES = ("int8", "int16", "int32", "float32")
MAX_INPUTS = 10  # TFLite Micro's kMaxInputNum


def prepare(g: Graph, op: Op, ks: str) -> None:
    n = len(op.inputs)
    need(1 <= n <= MAX_INPUTS, f"{n} inputs; supported: 1 to {MAX_INPUTS} (TFLite Micro's limit)")
    act = op.options.get("activation", "NONE")
    need(act == "NONE", f"fused activation {act} not supported; TFLite Micro requires NONE")
    y = need_dtype(g, op.outputs[0], "output", *DTYPES)
    rank = len(y.shape)
    axis = op.options.get("axis", 0)
    a = axis + rank if axis < 0 else axis
    need(0 <= a < rank, f"axis {axis} out of range for a {rank}-D output")
    total = 0
    chunks = []
    for k, tid in enumerate(op.inputs):
        x = need_dtype(g, tid, f"input {k}", y.dtype)
        need(len(x.shape) == rank and all(x.shape[d] == y.shape[d] for d in range(rank) if d != a),
             f"input {k} shape {tuple(x.shape)} does not match output {tuple(y.shape)} off axis {a}")
        if y.dtype in ("int8", "int16"):
            # int8: exact equality of the float32 scales, as TFLite Micro checks them. int16: TFLite
            # Micro copies the values whatever the scales (it does not requantize), which is only
            # right when they are equal, so we require it too.
            need(x.qparams() == y.qparams(),
                 f"input {k} and output quantization must be equal (TFLite Micro "
                 f"{'requires it' if y.dtype == 'int8' else 'copies int16 values without rescaling'}); got "
                 f"scale {x.qparams()[0]:g}/{y.qparams()[0]:g}, zero point {x.qparams()[1]}/{y.qparams()[1]}")
        total += x.shape[a]
        chunks.append(int(np.prod(x.shape[a:], dtype=np.int64)))
    need(total == y.shape[a], f"inputs sum to {total} along axis {a}; output has {y.shape[a]}")
    op.kernel_inputs = list(op.inputs)
    op.params = [int(np.prod(y.shape[:a], dtype=np.int64))] + chunks
