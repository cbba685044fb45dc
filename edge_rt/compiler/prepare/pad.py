"""PAD: placeholder until its bit-exact implementation lands."""
from .common import OpProblem


def prepare(g, op, ks):
    raise OpProblem("PAD is not implemented yet")
