# SUB, pure Python: ADD's specification with the second input negated (see add.py).
from .add import bind_add_sub


def bind(op, m, v, arena):
    return bind_add_sub(op, m, v, -1)
