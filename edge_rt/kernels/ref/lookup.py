# LOOKUP (fused chain of per-element int8 ops), pure Python: y = table[x + 128], the
# LOGISTIC kernel's table lookup.
from .logistic import bind  # noqa: F401
