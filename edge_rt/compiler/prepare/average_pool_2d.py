"""AVERAGE_POOL_2D: placeholder until its bit-exact implementation lands."""
from .common import OpProblem


def prepare(g, op, ks):
    raise OpProblem("AVERAGE_POOL_2D is not implemented yet")
