# ASSIGN_VARIABLE, numpy: the copy of READ_VARIABLE (np/read_variable.py), into the state.
from .read_variable import bind  # noqa: F401
