# MINIMUM, pure Python: y = a if a < b else b per output element (see maximum.py).
from . import maximum


def _min(a, b):
    return a if a < b else b


def bind(op, m, v, arena):
    return maximum.bind(op, m, v, arena, _min)
