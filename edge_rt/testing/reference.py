"""Reference runtimes, the oracle for bit-exactness: TFLite Micro (tflite_micro wheel) and
LiteRT / tflite-runtime with the BUILTIN_REF reference kernels or the default XNNPACK path."""
from __future__ import annotations

import numpy as np

from ..host.inputs import random_input  # noqa: F401  (re-exported: tests and tools use it)


def litert_module():
    """The LiteRT/tflite-runtime interpreter module, whichever is installed, or None."""
    try:
        from ai_edge_litert import interpreter as mod
        return mod
    except ImportError:
        pass
    try:
        from tflite_runtime import interpreter as mod
        return mod
    except ImportError:
        return None


class TFLM:
    """TFLite Micro, the oracle."""

    def __init__(self, data: bytes, arena_size: int | None = None):
        from tflite_micro.python.tflite_micro import runtime
        import tflite as S
        self.n_out = S.Model.GetRootAsModel(data, 0).Subgraphs(0).OutputsLength()
        self.it = runtime.Interpreter.from_bytes(data, arena_size=arena_size or max(len(data) * 10, 1 << 21))

    def __call__(self, *inputs):
        for i, x in enumerate(inputs):
            self.it.set_input(x, i)
        self.it.invoke()
        return [np.array(self.it.get_output(i)) for i in range(self.n_out)]


class LiteRT:
    """LiteRT / tflite-runtime: kernels='ref' (BUILTIN_REF) or 'xnnpack' (the default path)."""

    def __init__(self, data: bytes, kernels: str = "ref", threads: int = 1):
        mod = litert_module()
        if mod is None:
            raise ImportError("neither ai_edge_litert nor tflite_runtime is installed")
        kw = {"model_content": data, "num_threads": threads}
        if kernels == "ref":
            kw["experimental_op_resolver_type"] = mod.OpResolverType.BUILTIN_REF
        self.it = mod.Interpreter(**kw)
        self.it.allocate_tensors()
        self.ins = [d["index"] for d in self.it.get_input_details()]
        self.outs = [d["index"] for d in self.it.get_output_details()]

    def __call__(self, *inputs):
        for i, x in zip(self.ins, inputs):
            self.it.set_tensor(i, x)
        self.it.invoke()
        return [self.it.get_tensor(o).copy() for o in self.outs]
