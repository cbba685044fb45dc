"""LEAKY_RELU: placeholder until its bit-exact implementation lands."""
from .common import OpProblem


def prepare(g, op, ks):
    raise OpProblem("LEAKY_RELU is not implemented yet")
