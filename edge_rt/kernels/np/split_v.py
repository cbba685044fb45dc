# SPLIT_V, numpy: the layout and kernel of SPLIT (np/split.py).
from .split import bind  # noqa: F401
