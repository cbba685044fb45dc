# HARD_SWISH (int8), viper: y = table[x + 128] with the pack-time table (see kernels/ref/hard_swish.py).
from .lut import table_bind as bind  # noqa: F401
