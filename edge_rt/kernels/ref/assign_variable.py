# ASSIGN_VARIABLE, pure Python: the byte copy of READ_VARIABLE (ref/read_variable.py), into the state.
from .read_variable import bind  # noqa: F401
