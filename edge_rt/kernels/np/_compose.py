# Build a fused numpy kernel out of the ordinary ones: each part is bound to a sub-op whose
# intermediate tensor is a view into the fused op's planned scratch.
import numpy as np


class SubOp:
    def __init__(self, opcode, inputs, outputs, params, scratch_offset, scratch_bytes=0):
        self.opcode = opcode
        self.inputs = inputs
        self.outputs = outputs
        self.params = params
        self.scratch_offset = scratch_offset
        self.scratch_bytes = scratch_bytes
        self.index = -1


def round16(n):
    return (n + 15) // 16 * 16


def scratch_tensor(arena, offset, shape):
    """An int8 intermediate tensor living in scratch: returns (view, bytes used)."""
    n = int(np.prod(shape))
    return np.frombuffer(arena, np.int8, n, offset).reshape(shape), round16(n)
