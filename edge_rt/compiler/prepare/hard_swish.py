"""HARD_SWISH: placeholder until its bit-exact implementation lands."""
from .common import OpProblem


def prepare(g, op, ks):
    raise OpProblem("HARD_SWISH is not implemented yet")
