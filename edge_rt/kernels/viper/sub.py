# SUB, viper: ADD's kernel with the second input negated (see add.py).
from .add import bind_add_sub


def bind(op, m, v, arena):
    return bind_add_sub(op, m, v, -1)
