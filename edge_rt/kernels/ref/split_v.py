# SPLIT_V, pure Python: the layout and kernel of SPLIT (ref/split.py).
from .split import bind  # noqa: F401
