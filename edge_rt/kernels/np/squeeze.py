# SQUEEZE, numpy: the same byte copy as RESHAPE.
from .reshape import bind  # noqa: F401
