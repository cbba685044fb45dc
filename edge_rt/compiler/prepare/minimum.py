"""MINIMUM: y = a < b ? a : b on raw values; dtypes, operands and params as MAXIMUM."""
from .maximum import prepare_binary

prepare = prepare_binary
