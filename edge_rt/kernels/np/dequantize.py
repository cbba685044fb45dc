# DEQUANTIZE: placeholder until its bit-exact implementation lands.
from ...errors import ModelFormatError


def bind(op, m, v, arena):
    raise ModelFormatError("no kernel for DEQUANTIZE yet")
