# SUB, numpy: ADD's table with the second input's scaled value negated (see add.py).
from .add import bind_add_sub


def bind(op, m, v, arena):
    return bind_add_sub(op, v, arena, -1)
