# LOGISTIC (int8), viper: y = table[x + 128] with the pack-time table (see kernels/ref/logistic.py).
from .lut import table_bind as bind  # noqa: F401
