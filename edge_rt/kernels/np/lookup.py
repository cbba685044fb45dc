# LOOKUP (fused chain of per-element int8 ops), numpy: the LOGISTIC kernel's table lookup.
from .logistic import bind  # noqa: F401
