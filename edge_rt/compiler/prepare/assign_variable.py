"""ASSIGN_VARIABLE: the copy into a state tensor; checks and operands as READ_VARIABLE
(prepare/read_variable.py)."""
from .read_variable import prepare  # noqa: F401
