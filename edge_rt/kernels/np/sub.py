# SUB, numpy: ADD's table with the second input's scaled value negated (see add.py).
from .add import bind_add_sub
from .broadcast import bind_pair_table, pair_table


def bind(op, m, v, arena):
    return bind_pair_table(op, v, arena, 12, pair_table(bind_add_sub(op, m, v, -1)))
