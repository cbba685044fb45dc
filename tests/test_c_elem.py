"""The C kernels of the element-wise, pooling and data-movement ops: bit-exact against TFLite
Micro on every SIMD path this CPU has (each kernel body is compiled once per path), rows whose
exp sum wraps int32 agreeing with the other sets, and the C validator refusing records whose
params would make these kernels read or write out of bounds."""
import numpy as np
import pytest

from edge_rt import format as F
from edge_rt.compiler.pack import pack
from edge_rt.interpreter import Interpreter
from edge_rt.testing.c_set import C_BUILT, SKIP_REASON, simd_masks
from edge_rt.testing.conformance import check_bit_exact, run_edge
from edge_rt.testing.tflite_builder import ModelBuilder

pytestmark = pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)
MASKS = simd_masks()
NO_FOLD = ("fuse_lookup_chain", "fold_io_quantize")


def _pool_add_softmax():
    """AVERAGE_POOL_2D, MAX_POOL_2D, broadcast ADD/SUB/MUL, TANH, RESHAPE, SOFTMAX in one model."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 9, 7, 70), "int8", 0.05, 3)   # 70 channels: two channel blocks
    ap = b.tensor("ap", (1, 5, 4, 70), "int8", 0.05, 3)
    b.op("AVERAGE_POOL_2D", [x], [ap], "Pool2DOptions", Padding="SAME", StrideH=2, StrideW=2,
         FilterHeight=3, FilterWidth=3, FusedActivationFunction="NONE")
    mp = b.tensor("mp", (1, 5, 4, 70), "int8", 0.05, 3)
    b.op("MAX_POOL_2D", [x], [mp], "Pool2DOptions", Padding="SAME", StrideH=2, StrideW=2,
         FilterHeight=2, FilterWidth=3, FusedActivationFunction="RELU")
    s = b.tensor("s", (1, 5, 4, 70), "int8", 0.07, -2)
    b.op("ADD", [ap, mp], [s], "AddOptions", FusedActivationFunction="NONE")
    c = b.const("c", np.arange(-35, 35, dtype=np.int8), 0.02, 1)
    d = b.tensor("d", (1, 5, 4, 70), "int8", 0.09, 4)
    b.op("SUB", [s, c], [d], "SubOptions", FusedActivationFunction="NONE")
    w = b.const("w", np.arange(-2, 2, dtype=np.int8).reshape(1, 1, 4, 1), 0.5, 0)
    e = b.tensor("e", (1, 5, 4, 70), "int8", 0.1, -1)
    b.op("MUL", [d, w], [e], "MulOptions", FusedActivationFunction="NONE")
    t = b.tensor("t", (1, 5, 4, 70), "int8", 1 / 128, 0)
    b.op("TANH", [e], [t])
    r = b.tensor("r", (20, 70), "int8", 1 / 128, 0)
    b.op("RESHAPE", [t, b.const("shape", np.array([20, 70], np.int32))], [r])
    y = b.tensor("y", (20, 70), "int8", 1 / 256, -128)
    b.op("SOFTMAX", [r], [y], "SoftmaxOptions", Beta=1.0)
    return b.build([x], [y])


def _float_edges():
    """QUANTIZE from float32, int8 requantize, LOGISTIC, DEQUANTIZE (packed with NO_FOLD, so the
    float edges run as ops rather than as the interpreter's input/output conversion)."""
    b = ModelBuilder()
    xf = b.tensor("xf", (3, 50), "float32")
    x = b.tensor("x", (3, 50), "int8", 0.03, -2)
    b.op("QUANTIZE", [xf], [x])
    q = b.tensor("q", (3, 50), "int8", 0.05, 7)
    b.op("QUANTIZE", [x], [q])
    lg = b.tensor("lg", (3, 50), "int8", 1 / 256, -128)
    b.op("LOGISTIC", [q], [lg])
    yf = b.tensor("yf", (3, 50), "float32")
    b.op("DEQUANTIZE", [lg], [yf])
    return b.build([xf], [yf])


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("model", [_pool_add_softmax, _float_edges], ids=lambda f: f.__name__.strip("_"))
def test_every_simd_path(model, mask, monkeypatch):
    monkeypatch.setenv("EDGE_RT_C_FEATURES", str(mask))
    data = model()
    check_bit_exact(data, trials=3, kernel_sets=("c",), all_c=True, disable=NO_FOLD)
    r = pack(data, "m.tflite", kernels="c", disable=NO_FOLD)
    assert len(Interpreter(r.binary)._run) == 1 and len(r.graph.ops) >= 4


def test_float_edges_special_values():
    """NaN, infinities and values beyond int32 after the division take x86-64's INT32_MIN, as
    the reference (the other sets) does."""
    data = _float_edges()
    x = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38, 0.5 * 0.03, -0.5 * 0.03, 1e-30] * 18 + [0.0] * 6,
                 np.float32).reshape(3, 50)
    got = [run_edge(Interpreter(pack(data, "m.tflite", kernels=ks, disable=NO_FOLD).binary), [x])[0]
           for ks in ("c", "ref")]
    assert np.array_equal(got[0], got[1])


def _softmax(depth):
    b = ModelBuilder()
    x = b.tensor("x", (1, depth), "int8", 0.001, 0)
    y = b.tensor("y", (1, depth), "int8", 1 / 256, -128)
    b.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=1.0)
    return b.build([x], [y])


@pytest.mark.parametrize("depth,fill", [(4100, 5), (8192, 0), (5000, None)])
def test_softmax_row_sum_wrapping_int32(depth, fill):
    """Beyond the reference (TFLite Micro aborts long before): >= 4096 equal values make the
    Q12.19 row sum wrap; the C set follows the same int32 arithmetic as the other sets."""
    data = _softmax(depth)
    rng = np.random.default_rng(depth)
    x = (np.full((1, depth), fill, np.int8) if fill is not None else
         rng.integers(-128, 128, size=(1, depth)).astype(np.int8))
    got = [run_edge(Interpreter(pack(data, "m.tflite", kernels=ks).binary), [x])[0] for ks in ("c", "np", "ref")]
    assert np.array_equal(got[0], got[1]) and np.array_equal(got[0], got[2])


def _refused(opcode, prm, opd, consts=4096, arena=4096):
    from edge_rt.kernels.c import _ert
    with pytest.raises(ValueError):
        _ert.Program(bytearray(consts), bytearray(arena), [(opcode, prm, opd)])


def _ok(opcode, prm, opd):
    from edge_rt.kernels.c import _ert
    _ert.Program(bytearray(4096), bytearray(4096), [(opcode, prm, opd)]).run()


def test_validator_refuses_out_of_bounds_element_records():
    pool = [1, 4, 4, 2, 2, 2, 2, 2, 2, 2, 0, 0, -128, 127]
    io = [(0, 0, 32), (1, 0, 8)]
    _ok(F.OP_AVERAGE_POOL_2D, pool, io)
    _refused(F.OP_AVERAGE_POOL_2D, pool, [(0, 0, 31), (1, 0, 8)])            # input a byte short
    _refused(F.OP_MAX_POOL_2D, pool, [(0, 0, 32), (1, 0, 7)])                # output a byte short
    _refused(F.OP_AVERAGE_POOL_2D, pool[:10] + [2, 0] + pool[12:], io)      # a window all padding
    _refused(F.OP_AVERAGE_POOL_2D, pool[:4] + [3] + pool[5:], io)           # last window past the input
    add = [-3, 2, 20, 1 << 30, -1, 1 << 30, -1, 0, 1 << 30, -1, -128, 127]
    plan = [2, 4, 8, 8, 1, 0, 1]   # 4 x 8 output, a: contiguous, b: one row of 8 repeated
    _ok(F.OP_ADD, add + plan, [(1, 0, 32), (1, 64, 8), (1, 128, 32)])
    _refused(F.OP_ADD, add + plan, [(1, 0, 32), (1, 64, 7), (1, 128, 32)])
    _refused(F.OP_SUB, add + [2, 4, 8, 9, 1, 0, 1], [(1, 0, 32), (1, 64, 8), (1, 128, 32)])  # stride 9
    _refused(F.OP_ADD, add + plan, [(1, 0, 32), (1, 64, 8), (0, 128, 32)])   # output in the file
    _refused(F.OP_MUL, [0, 0, 0, 1 << 30, 31, -128, 127] + plan, [(1, 0, 32), (1, 64, 8), (1, 128, 32)])
    _ok(F.OP_SOFTMAX, [2, 10], [(1, 0, 20), (0, 0, 1024), (0, 1024, 1024), (1, 32, 20)])
    _refused(F.OP_SOFTMAX, [2, 10], [(1, 0, 20), (0, 0, 1020), (0, 1024, 1024), (1, 32, 20)])
    _refused(F.OP_SOFTMAX, [2, 10], [(1, 0, 20), (0, 2, 1024), (0, 1024, 1024), (1, 32, 20)])  # misaligned
    _refused(F.OP_LOGISTIC, [64], [(1, 0, 64), (0, 0, 255), (1, 64, 64)])     # a short table
    _refused(F.OP_MEAN, [1 << 30, -1, 0, 0, 2, 8, 4, 1, 0], [(1, 0, 31), (1, 64, 4)])
    _ok(F.OP_MEAN, [1 << 30, -1, 0, 0, 2, 8, 4, 1, 0], [(1, 0, 32), (1, 64, 4)])
    _refused(F.OP_PAD, [1, 2, 3, 4, 1, 1, 1, 1], [(1, 0, 12), (0, 0, 1), (1, 64, 29)])  # 5 x 6 output
    _ok(F.OP_PAD, [1, 2, 3, 4, 1, 1, 1, 1], [(1, 0, 12), (0, 0, 1), (1, 64, 30)])
    ins = [(1, 0, 8), (1, 8, 8)] + [(1, 64, 0)] * 8
    _ok(F.OP_CONCATENATION, [1, 2, 4, 4], ins + [(1, 64, 16)])
    _refused(F.OP_CONCATENATION, [1, 2, 4, 5], ins + [(1, 64, 18)])          # input 1 too short
    _refused(F.OP_CONCATENATION, [1, 2] + [1] * 11, ins + [(1, 64, 22)])      # 11 inputs
    _refused(F.OP_RESHAPE, [33], [(1, 0, 32), (1, 64, 33)])
    _refused(F.OP_DEQUANTIZE, [8, 0, 0x3F800000], [(1, 0, 8), (1, 64, 31)])
    # STRIDED_SLICE of a (4, 6) int16 input: rows 3, 1 (stride -2), columns 1, 3, 5
    ss = [2, 1, 1, 1, 4, 6] + [0, 1, 1] * 3 + [3, -2, 2, 1, 2, 3]
    _ok(F.OP_STRIDED_SLICE, ss, [(1, 0, 48), (1, 64, 12)])
    _refused(F.OP_STRIDED_SLICE, ss, [(1, 0, 47), (1, 64, 12)])             # input a byte short
    _refused(F.OP_STRIDED_SLICE, ss, [(1, 0, 48), (1, 64, 11)])             # output a byte short
    _refused(F.OP_STRIDED_SLICE, ss[:15] + [3, -2, 3] + ss[18:], [(1, 0, 4096), (1, 64, 4096)])  # row -1
    _refused(F.OP_STRIDED_SLICE, ss[:15] + [4, -1, 1] + ss[18:], [(1, 0, 4096), (1, 64, 4096)])  # row 4
    _refused(F.OP_STRIDED_SLICE, ss[:18] + [1, 2, 4], [(1, 0, 4096), (1, 64, 4096)])  # column 7
    _refused(F.OP_STRIDED_SLICE, ss[:18] + [1, 0, 3], [(1, 0, 4096), (1, 64, 4096)])  # stride 0
    _refused(F.OP_STRIDED_SLICE, [3] + ss[1:], [(1, 0, 4096), (1, 64, 4096)])        # element size 3
    _refused(F.OP_STRIDED_SLICE, ss[:-1], [(1, 0, 4096), (1, 64, 4096)])            # a param short
    outs = [(1, 64, 6), (1, 96, 10)] + [(1, 64, 0)] * 13
    for code in (F.OP_SPLIT, F.OP_SPLIT_V):
        _ok(code, [1, 2, 8, 3, 5], [(1, 0, 16)] + outs)
        _refused(code, [1, 2, 8, 3, 5], [(1, 0, 15)] + outs)                 # input a byte short
        _refused(code, [1, 2, 8, 3, 6], [(1, 0, 4096)] + [(1, 64, 64)] * 15)  # chunks past the block
        _refused(code, [1, 2, 8, 3, 4], [(1, 0, 4096)] + [(1, 64, 64)] * 15)  # chunks short of it
        _refused(code, [1, 2, 8, 3, 5], [(1, 0, 16), (1, 64, 6), (1, 96, 9)] + outs[2:])  # output 1 short
        _refused(code, [1, 2, 8, 3, 5], [(1, 0, 16), (0, 64, 6)] + outs[1:])  # output in the file
        _refused(code, [1, 1, 16] + [1] * 16, [(1, 0, 4096)] + [(1, 64, 64)] * 15)  # 16 outputs


def _random_records(rng):
    """Valid-looking records of the geometric ops, small and odd-sized, some perturbed."""
    r = lambda a, b: int(rng.integers(a, b + 1))  # noqa: E731
    h, w, c, f, s = r(1, 9), r(1, 9), r(1, 70), r(1, 4), r(1, 3)
    oh, ow = -(-h // s), -(-w // s)
    pt, pl = r(0, f - 1), r(0, f - 1)
    yield F.OP_AVERAGE_POOL_2D, [r(1, 2), h, w, c, oh, ow, s, s, f, f, pt, pl, -128, 127]
    yield F.OP_MAX_POOL_2D, [r(1, 2), h, w, c, oh, ow, s, s, f, f, pt, pl, r(-128, 0), 127]
    nd = r(1, 4)
    dims = [r(1, 5) for _ in range(nd)]
    sa, sb, acc_a, acc_b = [], [], 1, 1
    for d in reversed(dims):
        ka, kb = rng.random() < 0.7, rng.random() < 0.7
        sa.insert(0, acc_a if ka else 0)
        sb.insert(0, acc_b if kb else 0)
        acc_a *= d if ka else 1
        acc_b *= d if kb else 1
    plan = [nd] + dims + sa + sb
    yield F.OP_ADD, [-3, 2, 20, 1 << 30, -1, 1 << 30, -1, 0, 1 << 30, -1, -128, 127] + plan
    yield F.OP_SUB, [5, -1, 20, 1 << 29, -2, 1 << 30, -1, 3, 1 << 30, -3, -128, 127] + plan
    yield F.OP_MUL, [1, -2, 4, 1 << 30, r(-31, 30), -128, 127] + plan
    yield F.OP_SOFTMAX, [r(0, 4), r(0, 40)]
    md = r(1, 4)
    yield F.OP_MEAN, [1 << 30, -1, 0, 7, md] + [r(1, 6) for _ in range(md)] + [r(0, 1) for _ in range(md)]
    pr = r(0, 4)
    yield F.OP_PAD, [rng.choice([1, 2, 4]), pr] + [r(1, 5) for _ in range(pr)] + [r(0, 3) for _ in range(2 * pr)]
    yield F.OP_CONCATENATION, [rng.choice([1, 2, 4]), r(0, 5)] + [r(0, 9) for _ in range(r(1, 10))]
    yield F.OP_RESHAPE, [r(0, 100)]
    dims = [r(1, 5) for _ in range(5)]
    walk = []
    for d in dims:  # a start inside the axis, a stride either way, a count that may overrun
        s0, st = r(0, d - 1), rng.choice([1, 2, -1, -2, 3])
        walk += [s0, st, r(0, 1 + (d - 1 - s0) // st if st > 0 else 1 + s0 // -st + (rng.random() < 0.2))]
    yield F.OP_STRIDED_SLICE, [rng.choice([1, 2, 4])] + dims + walk
    chunks = [r(0, 9) for _ in range(r(1, 15))]
    yield rng.choice([F.OP_SPLIT, F.OP_SPLIT_V]), [rng.choice([1, 2, 4]), r(0, 5), sum(chunks) + (rng.random() < 0.1)] + chunks
    yield F.OP_LOOKUP, [r(0, 100)]


def test_kernels_touch_nothing_past_their_validated_extents():
    """For random records, each operand in turn is placed at the very end of its region with
    exactly the smallest room the validator accepts; the record then runs. Under an
    AddressSanitizer build (docs/c_kernels.md) any access past that room is reported; here
    the test checks the validator's extents are tight enough for the kernels to run."""
    from edge_rt.kernels.c import _ert
    sigs = _ert.kernels()
    rng = np.random.default_rng(11)
    big = 1 << 16

    def program(code, prm, opd, consts, arena):
        # numpy buffers end exactly at their size (a bytearray keeps one spare byte)
        return _ert.Program(np.zeros(consts, np.uint8), np.zeros(arena, np.uint8), [(code, prm, opd)])

    ran = 0
    for _ in range(40):
        for code, prm in _random_records(rng):
            sig = sigs[code][1]
            base = [(1, 4096 * (i + 1), big) if ch in "os" else (0, 4096 * (i + 1), big)
                    for i, ch in enumerate(sig)]
            size = 4096 * (len(sig) + 1) + big
            try:
                program(code, prm, base, size, size)
            except ValueError:
                continue  # params out of bounds: refused whatever the rooms
            for j, ch in enumerate(sig):
                lo, hi = 0, big  # the smallest room accepted for operand j
                while lo < hi:
                    mid = (lo + hi) // 2
                    opd = list(base)
                    opd[j] = (base[j][0], base[j][1], mid)
                    try:
                        program(code, prm, opd, size, size)
                        hi = mid
                    except ValueError:
                        lo = mid + 1
                end = (size + 3) & ~3
                opd = list(base)
                opd[j] = (base[j][0], end, lo)
                consts = end + lo if base[j][0] == 0 else size
                arena = end + lo if base[j][0] == 1 else size
                program(code, prm, opd, consts, arena).run()
                ran += 1
    assert ran > 500
