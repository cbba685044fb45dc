"""Memory planner: lifetimes, placement strategies, verifier, lower bound, aliasing
(eliminate_reshape), in-place planning kept bit-exact against TFLite Micro, boards, and the
`edge-rt inspect --memory` views."""
import itertools
import os
import random
import sys

import numpy as np
import pytest

from edge_rt.compiler import planner as P
from edge_rt.compiler.ir import Graph, Op, Tensor
from edge_rt.compiler.pack import pack
from edge_rt.compiler.passes import pass_names
from edge_rt.compiler.passes.eliminate_reshape import eliminate_reshape
from edge_rt.errors import EdgeRTError, UnsupportedModelError
from edge_rt.testing.tflite_builder import ModelBuilder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(ROOT, "models", "hello_world_int8.tflite")


def B(i, size, first, last, shares=None):
    return P.Buffer(("t", i), size, first, last, shares)


def bufs(spec):
    return [B(i, s, a, b) for i, (s, a, b) in enumerate(spec)]


def size_of(strategy, bs):
    offs = strategy(bs)
    assert P.verify(bs, offs) == [], strategy.__name__
    return P.arena_size(bs, offs)


# -- placement strategies: each one wins somewhere -------------------------------------------
# (size, first step, last step) lists found by a random search, kept as fixed cases.
SINGLE = [P.greedy_by_size, P.first_fit_in_order, P.greedy_by_conflicts]
WINS = {
    P.greedy_by_size: [(80, 0, 2), (64, 1, 4), (48, 2, 3), (96, 4, 5), (96, 5, 5), (64, 4, 5)],
    P.first_fit_in_order: [(64, 1, 1), (48, 1, 2), (32, 0, 1), (48, 2, 3), (64, 3, 3), (16, 3, 3)],
    P.greedy_by_conflicts: [(16, 3, 3), (32, 0, 0), (80, 1, 1), (48, 1, 2), (48, 2, 3), (48, 2, 2),
                            (96, 1, 3)],
}
BEST_OF_ORDERS_WINS = [(32, 3, 3), (32, 1, 3), (80, 1, 1), (80, 4, 4), (32, 3, 5)]
EXACT_WINS = [(80, 5, 5), (48, 0, 2), (80, 2, 3), (96, 5, 5), (48, 1, 4), (96, 4, 4), (96, 3, 3),
              (16, 2, 2), (48, 4, 5), (32, 4, 4), (112, 1, 1), (32, 1, 2)]


@pytest.mark.parametrize("winner", SINGLE, ids=lambda s: s.__name__)
def test_each_single_order_strategy_wins_a_case(winner):
    bs = bufs(WINS[winner])
    mine = size_of(winner, bs)
    for other in SINGLE:
        if other is not winner:
            assert mine < size_of(other, bs), other.__name__
    assert mine == P.lower_bound(bs)  # and it is optimal there


def test_best_of_orders_beats_every_single_order():
    bs = bufs(BEST_OF_ORDERS_WINS)
    assert size_of(P.best_of_orders, bs) < min(size_of(s, bs) for s in SINGLE)


def test_exact_search_beats_every_heuristic_and_reaches_the_bound():
    bs = bufs(EXACT_WINS)
    exact = size_of(P.exact_search, bs)
    assert exact < min(size_of(s, bs) for s in SINGLE + [P.best_of_orders])
    assert exact == P.lower_bound(bs)


def _brute_force(bs):
    top = sum(b.size for b in bs)
    best = top
    for offs in itertools.product(*[range(0, top - b.size + 1, P.ALIGN) for b in bs]):
        d = {b.key: o for b, o in zip(bs, offs)}
        if max(o + b.size for b, o in zip(bs, offs)) < best and not P.verify(bs, d):
            best = P.arena_size(bs, d)
    return best


def test_exact_search_is_optimal_on_small_random_cases():
    rng = random.Random(5)
    for _ in range(25):
        spec = []
        for _ in range(4):
            a = rng.randint(0, 3)
            spec.append((16 * rng.randint(1, 3), a, rng.randint(a, 3)))
        bs = bufs(spec)
        assert size_of(P.exact_search, bs) == _brute_force(bs), spec


def test_exact_search_declines_big_graphs():
    assert P.exact_search(bufs([(16, i, i + 1) for i in range(P.EXACT_MAX_UNITS + 1)])) is None


# -- verifier ----------------------------------------------------------------------------
def test_verifier_catches_broken_plans():
    bs = bufs([(32, 0, 1), (32, 1, 2), (32, 2, 3)])
    good = P.greedy_by_size(bs)
    assert P.verify(bs, good) == []
    # buffers 0 and 1 are both live at step 1: putting them on the same bytes is caught
    bad = dict(good)
    bad[("t", 1)] = good[("t", 0)]
    errs = P.verify(bs, bad)
    assert errs and all("('t', 1)" in e for e in errs) and any("('t', 0)" in e for e in errs)
    # a partial overlap is caught too, as is a misaligned offset and a missing buffer
    bad[("t", 1)] = good[("t", 0)] + 16
    assert P.verify(bs, bad)
    assert any("aligned" in e for e in P.verify(bs, good | {("t", 2): 8}))
    assert any("no offset" in e for e in P.verify(bs, {k: v for k, v in good.items() if k != ("t", 2)}))
    # 0 and 2 never live together: sharing bytes is fine
    assert P.verify(bs, dict(good) | {("t", 2): good[("t", 0)]}) == []


def test_verifier_allows_in_place_only_at_the_hand_over_step():
    a, b = B(0, 64, 0, 2), B(1, 64, 2, 4, shares=("t", 0))
    assert P.verify([a, b], {("t", 0): 0, ("t", 1): 0}) == []
    assert P.verify([a, b], {("t", 0): 0, ("t", 1): 16})           # shifted: elements move
    longer = B(0, 64, 0, 3)                                          # input still read after
    assert P.verify([longer, b], {("t", 0): 0, ("t", 1): 0})
    stranger = B(1, 64, 2, 4)                                        # no in-place declared
    assert P.verify([a, stranger], {("t", 0): 0, ("t", 1): 0})


def test_plan_keeps_the_smallest_verified_result():
    g = _fc_chain_graph()

    def broken(bs):  # everything at offset 0: invalid, must never be chosen
        return {b.key: 0 for b in bs}

    def wasteful(bs):
        offs, top = {}, 0
        for b in bs:
            offs[b.key], top = top, top + b.size
        return offs

    p = P.plan(g, strategies=[broken, wasteful, P.greedy_by_size])
    assert "broken" not in p.tried and p.strategy == "greedy_by_size"
    assert p.tried["wasteful"] > p.arena_bytes == p.lower_bound
    with pytest.raises(RuntimeError):
        P.plan(g, strategies=[broken])


# -- lifetimes and lower bound on hand-built graphs ------------------------------------------
def _t(name, shape, dtype="int8", const=False):
    return Tensor(name, tuple(shape), dtype, np.array([0.1], np.float32), np.array([0]),
                  data=np.zeros(shape, dtype) if const else None)


def _fc_chain_graph(scratch=(0, 0, 0)):
    """x(1,40) -> FC -> a(1,100) -> FC -> b(1,60) -> FC -> y(1,8)"""
    ts = [_t("x", (1, 40)), _t("w0", (100, 40), const=True), _t("a", (1, 100)),
          _t("w1", (60, 100), const=True), _t("b", (1, 60)), _t("w2", (8, 60), const=True),
          _t("y", (1, 8))]
    ops = [Op("FULLY_CONNECTED", [0, 1, -1], [2]), Op("FULLY_CONNECTED", [2, 3, -1], [4]),
           Op("FULLY_CONNECTED", [4, 5, -1], [6])]
    for op, s in zip(ops, scratch):
        op.scratch_bytes = s
    return Graph(ts, ops, [0], [6])


def test_lifetimes_of_inputs_outputs_activations_and_scratch():
    g = _fc_chain_graph(scratch=(0, 200, 0))
    got = {b.key: (b.size, b.first, b.last) for b in P.lifetimes(g)}
    assert got == {("t", 0): (48, 0, 0), ("t", 2): (112, 0, 1), ("t", 4): (64, 1, 2),
                   ("t", 6): (16, 2, 2), ("scratch", 1): (208, 1, 1)}   # constants take no arena
    # step 1 holds a, b and the scratch: 112 + 64 + 208
    assert P.lower_bound(P.lifetimes(g)) == 384
    p = P.plan(g)
    assert p.arena_bytes == p.lower_bound == 384 and not P.verify(p.buffers, p.offsets)


def test_graph_output_lives_to_the_end_and_input_from_the_start():
    g = _fc_chain_graph()
    g.outputs = [2, 6]           # a is also a graph output: must survive the whole run
    got = {b.key: (b.first, b.last) for b in P.lifetimes(g)}
    assert got[("t", 2)] == (0, 2) and got[("t", 0)] == (0, 0)


def _unary_graph(op_type, x_is_input=False, out_dtype="int8"):
    """x(1,16) -> FC -> t(1,64) -> OP -> u(1,64) -> FC -> y  (or OP reading a (1,64) input x);
    the OP step is the busiest, so in place lowers the bound"""
    n = 64 if x_is_input else 16
    ts = [_t("x", (1, n)), _t("w", (64, n), const=True), _t("t", (1, 64)), _t("u", (1, 64), out_dtype),
          _t("w2", (8, 64), const=True), _t("y", (1, 8))]
    if x_is_input:
        ops = [Op(op_type, [0], [3]), Op("FULLY_CONNECTED", [3, 4, -1], [5])]
    else:
        ops = [Op("FULLY_CONNECTED", [0, 1, -1], [2]), Op(op_type, [2], [3]),
               Op("FULLY_CONNECTED", [3, 4, -1], [5])]
    return Graph(ts, ops, [0], [5])


ELEMENTWISE = ["ADD", "SUB", "MUL", "RELU", "RELU6", "LEAKY_RELU", "LOGISTIC", "TANH", "HARD_SWISH",
               "QUANTIZE"]


def test_in_place_table_lists_the_element_wise_ops():
    assert set(ELEMENTWISE) <= set(P.INPLACE)


@pytest.mark.parametrize("op_type", ELEMENTWISE)
def test_in_place_declared_for_every_table_op(op_type):
    g = _unary_graph(op_type)
    if op_type in ("ADD", "SUB", "MUL"):
        g.tensors.append(_t("c", (1, 64)))
        g.ops.insert(0, Op("FULLY_CONNECTED", [0, 1, -1], [6]))
        g.ops[2].inputs = [2, 6]
    bs = {b.key: b for b in P.lifetimes(g)}
    assert bs[("t", 3)].shares in (("t", 2), ("t", 6))
    no = {b.key: b for b in P.lifetimes(g, inplace=False)}
    assert P.lower_bound(list(bs.values())) < P.lower_bound(list(no.values()))
    p = P.plan(g)
    assert p.inplace == 1 and p.offsets[("t", 3)] == p.offsets[bs[("t", 3)].shares]
    assert p.arena_bytes == p.lower_bound


def test_in_place_refused_where_unsafe():
    assert not any(b.shares for b in P.lifetimes(_unary_graph("RELU", x_is_input=True)))  # user's input
    assert not any(b.shares for b in P.lifetimes(_unary_graph("RELU", out_dtype="int16")))  # dtype
    assert not any(b.shares for b in P.lifetimes(_unary_graph("SOFTMAX")))  # not element-wise
    g = _unary_graph("RELU")
    g.outputs = [2, 5]  # t is a graph output: must not be overwritten
    assert not any(b.shares for b in P.lifetimes(g))
    g = _unary_graph("RELU")
    g.ops[2].inputs = [2, 4, -1]  # t still read after the RELU
    assert not any(b.shares for b in P.lifetimes(g))
    g = _unary_graph("ADD")  # a broadcast input (1 element) never qualifies; the other may
    g.tensors.append(_t("s", (1, 1)))
    g.ops.insert(0, Op("FULLY_CONNECTED", [0, 1, -1], [6]))
    g.tensors[6] = _t("s", (1, 1))
    g.ops[2].inputs = [6, 2]
    assert {b.key: b.shares for b in P.lifetimes(g)}[("t", 3)] == ("t", 2)


# -- aliasing: eliminate_reshape -----------------------------------------------------------
def _reshape_graph(op_type="RESHAPE", out_is_output=False, in_is_input=False):
    """x -> FC -> a(1,64) -> RESHAPE -> r(1,8,8) -> FC -> y   (variants put RESHAPE at the edges)"""
    ts = [_t("x", (1, 64)), _t("w", (64, 64), const=True), _t("a", (1, 64)), _t("r", (1, 8, 8)),
          _t("w2", (8, 64), const=True), _t("y", (1, 8)), _t("shape", (3,), "int32", const=True)]
    if in_is_input and out_is_output:
        return Graph(ts, [Op(op_type, [0, 6], [3])], [0], [3])
    ops = [Op("FULLY_CONNECTED", [0, 1, -1], [2]), Op(op_type, [2, 6], [3]), Op("FULLY_CONNECTED", [3, 4, -1], [5])]
    if out_is_output:
        return Graph(ts, ops[:2], [0], [3])
    if in_is_input:
        return Graph(ts, [Op(op_type, [0, 6], [3]), ops[2]], [0], [5])
    return Graph(ts, ops, [0], [5])


@pytest.mark.parametrize("op_type", ["RESHAPE", "SQUEEZE"])
def test_eliminate_reshape_aliases_output(op_type):
    g, note = eliminate_reshape(_reshape_graph(op_type))
    assert [op.type for op in g.ops] == ["FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert g.tensors[3].alias_of == 2 and P.root(g, 3) == 2 and op_type in note
    got = {b.key: (b.size, b.first, b.last) for b in P.lifetimes(g)}
    assert ("t", 3) not in got and got[("t", 2)] == (64, 0, 1)  # one buffer, no copy
    assert eliminate_reshape.__doc__.splitlines()[0].startswith("RESHAPE(x) -> y  =>  y aliases x")


def test_eliminate_reshape_at_graph_edges():
    g, _ = eliminate_reshape(_reshape_graph(out_is_output=True))      # output aliases an activation
    assert len(g.ops) == 1 and g.tensors[3].alias_of == 2
    g, _ = eliminate_reshape(_reshape_graph(in_is_input=True))        # input feeds the next op directly
    assert [op.type for op in g.ops] == ["FULLY_CONNECTED"] and g.tensors[3].alias_of == 0
    g, note = eliminate_reshape(_reshape_graph(in_is_input=True, out_is_output=True))
    assert [op.type for op in g.ops] == ["RESHAPE"] and g.tensors[3].alias_of is None and note == ""


def test_eliminate_reshape_keeps_malformed_ops():
    g = _reshape_graph()
    g.tensors[3] = _t("r", (1, 8, 9))  # byte sizes differ: left for prepare to report
    g, note = eliminate_reshape(g)
    assert len(g.ops) == 3 and note == ""


def test_eliminate_reshape_is_in_the_pipeline():
    assert "eliminate_reshape" in pass_names()


# -- in place, end to end: bit-exact against TFLite Micro ------------------------------------
def _fc(b, x, n_in, n_out, name, q):
    rng = np.random.default_rng(n_in * 31 + n_out)
    w = b.const(name + "_w", rng.integers(-127, 128, (n_out, n_in), dtype=np.int8), scale=0.02, zero_point=0)
    y = b.tensor(name, (1, n_out), "int8", *q)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions", FusedActivationFunction="NONE")
    return y


UNARY = {  # op -> (output quantization, options)
    "RELU": ((0.05, -20), {}), "RELU6": ((0.05, -20), {}),
    "LEAKY_RELU": ((0.04, 5), {"options": "LeakyReluOptions", "Alpha": 0.2}),
    "LOGISTIC": ((1 / 256, -128), {}), "TANH": ((1 / 128, 0), {}),
    "HARD_SWISH": ((0.03, -40), {}), "QUANTIZE": ((0.07, 9), {}),
}
BINARY = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}


def _in_place_model(op_type) -> bytes:
    """x(1,32) -> FC -> t(1,96) -> OP -> y: t dies at OP, so y may overwrite it."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 32), "int8", 0.05, 3)
    t = _fc(b, x, 32, 96, "t", (0.06, -4))
    if op_type in BINARY:
        u = _fc(b, x, 32, 96, "u", (0.05, 7))
        y = b.tensor("y", (1, 96), "int8", *((0.2, -3) if op_type == "MUL" else (0.1, 2)))
        b.op(op_type, [t, u], [y], BINARY[op_type], FusedActivationFunction="NONE")
    else:
        q, opts = UNARY[op_type]
        opts = dict(opts)
        y = b.tensor("y", (1, 96), "int8", *q)
        b.op(op_type, [t], [y], opts.pop("options", None), **opts)
    return b.build([x], [y])


@pytest.mark.parametrize("op_type", sorted(UNARY) + sorted(BINARY))
def test_in_place_plan_stays_bit_exact(op_type):
    from edge_rt.testing.conformance import check_bit_exact
    data = _in_place_model(op_type)
    # other passes could fold the op into the FC; keep the graph as written
    off = tuple(n for n in pass_names() if n != "eliminate_reshape")
    try:
        r = pack(data, "inplace.tflite", kernels="np", disable=off)
    except UnsupportedModelError as e:
        pytest.skip(f"{op_type} does not pack yet: {e.problems[0]}")
    assert r.plan.inplace == 1, r.plan.tried
    assert r.plan.arena_bytes == r.plan.lower_bound
    check_bit_exact(data, trials=4, kernel_sets=("np", "ref"), disable=off)


def test_in_place_switch_off(monkeypatch):
    g = _unary_graph("RELU")
    monkeypatch.setenv("EDGE_RT_NO_INPLACE", "1")
    assert P.plan(g).inplace == 0
    monkeypatch.delenv("EDGE_RT_NO_INPLACE")
    assert P.plan(g).inplace == 1


# -- boards ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,arena", [("rpi4", 1 << 20), ("rpi5", 512 << 10), ("rpi_zero2w", 512 << 10)])
def test_linux_boards_budget_their_l2_and_carry_estimates(name, arena):
    from edge_rt.compiler.boards import load_board
    b = load_board(name)
    assert b.arena_budget == arena and b.kernels == "c" and b.flash_budget >= 16 << 20
    assert b.raw["serial"]["baud"] == 115200 and b.raw["serial"]["port"].startswith("/dev/")
    assert 1 < b.raw["energy"]["pj_per_mac"] < 1000 and 1 < b.raw["energy"]["pj_per_byte"] < 1000
    assert b.raw["cpu"]["clock_mhz"] >= 1000


# -- edge-rt inspect --memory / --memory-png -----------------------------------------------
@pytest.fixture
def hello_ert(tmp_path):
    from edge_rt.host.cli import main
    out = tmp_path / "hw.ert"
    assert main(["pack", HELLO, "-o", str(out), "--kernels", "ref"]) == 0
    return str(out)


def test_inspect_memory_ascii(hello_ert, capsys):
    from edge_rt.host.cli import describe, main
    capsys.readouterr()
    assert main(["inspect", hello_ert, "--memory"]) == 0
    text = capsys.readouterr().out
    d = describe(hello_ert)
    assert f"arena {d['arena_bytes']:,} B, lower bound {d['lower_bound']:,} B" in text
    rows = [l for l in text.splitlines() if "FULLY_CONNECTED" in l and "|" in l]
    assert len(rows) == len(d["ops"]) == 3
    legend = text.split("buffers:\n")[1].splitlines()
    assert len(legend) == len(d["plan"])
    # every row's live bytes equal the plan's live bytes at that op
    for s, row in enumerate(rows):
        live = sum(e["bytes"] for e in d["plan"] if e["first_op"] <= s <= e["last_op"])
        assert row.rstrip().endswith(f"| {live:,}")


def test_inspect_memory_marks_in_place(tmp_path, capsys):
    from edge_rt.compiler.memviz import render_ascii
    from edge_rt.host.cli import describe
    off = tuple(n for n in pass_names() if n != "eliminate_reshape")
    try:
        r = pack(_in_place_model("RELU"), "relu.tflite", kernels="ref", disable=off)
    except UnsupportedModelError as e:
        pytest.skip(f"RELU does not pack yet: {e.problems[0]}")
    p = tmp_path / "relu.ert"
    p.write_bytes(r.binary)
    text = render_ascii(describe(str(p)))
    assert "(in place over" in text


def test_inspect_memory_png(hello_ert, tmp_path, monkeypatch):
    from edge_rt.host.cli import describe
    from edge_rt.compiler.memviz import render_png
    png = tmp_path / "plan.png"
    try:
        import matplotlib  # noqa: F401
        render_png(describe(hello_ert), str(png))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        pass
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    with pytest.raises(EdgeRTError, match="pip install matplotlib"):
        render_png(describe(hello_ert), str(tmp_path / "x.png"))
