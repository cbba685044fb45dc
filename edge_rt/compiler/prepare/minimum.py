"""MINIMUM: y = a < b ? a : b on raw values; dtypes, operands and params as MAXIMUM."""
from .maximum import DTYPES, prepare_binary  # noqa: F401 (DTYPES: the op table)

prepare = prepare_binary
