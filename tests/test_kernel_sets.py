"""Per-op kernel-set resolution with int16 activations: an int16 op skips a set that runs the
opcode for int8 only, and lands on the first set of the chain that lists it in INT16_OPS (or the
chain's last set, whose prepare names what it lacks)."""
import edge_rt.kernels.np as np_set
from edge_rt import format as F
from edge_rt.compiler import kernel_sets as KS


def test_int8_op_runs_on_the_first_set_with_the_opcode():
    assert KS.resolve("c", F.OP_CONV_2D) == "c"
    assert KS.resolve("viper", F.OP_CONV_2D) == "viper"


def test_int16_op_skips_sets_without_int16(monkeypatch):
    monkeypatch.setattr(np_set, "INT16_OPS", frozenset())
    assert F.OP_CONV_2D not in KS.ops_of("c", "INT16_OPS")
    assert KS.resolve("c", F.OP_CONV_2D, int16=True) == "ref"  # the chain's last set
    assert KS.resolve("np", F.OP_CONV_2D, int16=True) == "ref"
    assert KS.resolve("viper", F.OP_CONV_2D, int16=True) == "ref"
    monkeypatch.setattr(np_set, "INT16_OPS", frozenset({F.OP_CONV_2D}))
    assert KS.resolve("c", F.OP_CONV_2D, int16=True) == "np"
    assert KS.resolve("ref", F.OP_CONV_2D, int16=True) == "ref"


def test_is_int16_reads_the_first_input_and_output():
    from edge_rt.compiler.ir import Graph, Op, Tensor
    t = lambda dt: Tensor(name=dt, shape=(1, 4), dtype=dt)
    g = Graph(tensors=[t("int16"), t("int8"), t("int16"), t("int64")], ops=[], inputs=[0], outputs=[2])
    assert KS.is_int16(g, Op("FULLY_CONNECTED", [0, 1, 3], [2]))
    assert KS.is_int16(g, Op("QUANTIZE", [1], [2]))      # int8 -> int16
    assert KS.is_int16(g, Op("QUANTIZE", [0], [1]))      # int16 -> int8
    assert not KS.is_int16(g, Op("ADD", [1, 0], [1]))    # only the first input counts
