"""Bind at pack time (compiler/cprog.py): a C-packed file carries its C ops' records in a CPROG
section, and the Interpreter hands them to the C validator instead of running the Python binders.
Checked here: the stored records equal what the binders return for the same file (shared and
sweep models), both paths run identically, a file from other binders or whose tables changed is
bound again, and a crafted section is refused in one line naming the op."""
import binascii
import struct

import numpy as np
import pytest

from edge_rt import format as F
from edge_rt import reader
from edge_rt.compiler.cprog import records_of
from edge_rt.compiler.pack import pack
from edge_rt.errors import ModelFormatError
from edge_rt.interpreter import Interpreter
from edge_rt.testing import shared_models
from edge_rt.testing.c_set import C_BUILT, SKIP_REASON
from edge_rt.testing.reference import random_input

pytestmark = pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)

SHARED = ["hello_world_int8", "micro_speech_int8", "kws_dscnn_int8", "ic_resnet8_int8", "ad_autoencoder_int8",
          "mww_okay_nabu_v2"]


def _sweep():
    """{name: .tflite bytes}: the C conformance builders' convolutions, fused chains, FC, element-wise
    and data-movement models."""
    import test_c_conv as cc
    import test_c_elem as ce
    import test_c_kernels as ck
    import test_ops_slice_split as sl
    out = {"conv_%d" % i: cc.conv_model(*c[:8]) for i, c in enumerate(cc.CONV_CASES)}
    for i, c in enumerate(cc.DW_CASES):
        xshape, k, stride, dil, padding, dm = c[:6]
        out["dw_%d" % i] = cc.conv_model(xshape, 0, k, stride, dil, padding, "RELU6", depthwise=True, dm=dm, seed=i)
    out.update(ds=cc._chain("ds", (1, 5, 5, 4)), conv_add=cc._chain("conv_add", (1, 4, 4, 3)),
               fc_add=cc._chain("fc_add", (2, 6)), fc=ck.fc_model(5, 12, 2, "RELU"),
               fc_chain=ck.fc_chain([8, 6, 4], ["RELU", "NONE"]), pool_add_softmax=ce._pool_add_softmax(),
               float_edges=ce._float_edges(),
               strided_slice=sl.slice_model((2, 5, 4, 3), [0, 4, 1, 0], [2, 0, 4, 3], [1, -2, 2, 1]),
               split_v=sl.split_model((1, 15, 1, 64), -1, None, sizes=[10, -1, 20]))
    return out


def _binder_records(binary):
    """[(op index, spec)] the Python binders return for every C op of the file."""
    from edge_rt.kernels import c as ck
    m = reader.parse(binary)
    out = []
    for op, s in zip(m.ops, m.meta["op_kernels"]):
        if s == "c":
            opcode, params, operands = ck.KERNELS[op.opcode](op, m, None, None)
            out.append((op.index, (opcode, [int(p) for p in params], [tuple(o) for o in operands])))
    return out


def _packed(name, data):
    return pack(data, name + ".tflite", kernels="c", check_budget=False).binary


def _outputs(it, xs):
    for i, x in enumerate(xs):
        it.set_input(i, x)
    it.invoke()
    return [it.get_output(i) for i in range(len(it.output_details()))]


def _inputs(it, seed=0):
    rng = np.random.default_rng(seed)
    return [random_input(tuple(d["shape"]), np.dtype(d["dtype"]).name, rng) for d in it.input_details()]


@pytest.mark.parametrize("name", SHARED)
def test_stored_records_equal_the_binders_on_shared_models(name):
    binary = _packed(name, shared_models.load(name))
    stored = records_of(binary)
    assert stored and stored == _binder_records(binary)


def test_stored_records_equal_the_binders_on_sweep_models():
    models = _sweep()
    assert len(models) > 20
    for name, data in models.items():
        binary = _packed(name, data)
        assert records_of(binary) == _binder_records(binary), name


def _bind_path(monkeypatch):
    """Make the Interpreter ignore stored records (as a runtime with other binders would)."""
    from edge_rt.kernels import c as ck
    monkeypatch.setattr(ck, "records", lambda m: None)


@pytest.mark.parametrize("name", ["kws_dscnn_int8", "mww_okay_nabu_v2"])
def test_stored_records_run_as_the_binders_do(name, monkeypatch):
    """The load takes the stored records (no binder runs) and the outputs equal the binder path's."""
    from edge_rt.kernels import c as ck
    binary = _packed(name, shared_models.load(name))
    with monkeypatch.context() as mp:  # a binder call would fail the load
        for code in list(ck.KERNELS):
            mp.setitem(ck.KERNELS, code, None)
        it = Interpreter(binary)
        assert it._recs is not None
        xs = _inputs(it)
        got = _outputs(it, xs)
        steps = it.op_steps()  # per-op programs from the stored records too
        assert len(steps) == len(it.model.ops)
    _bind_path(monkeypatch)
    ref = Interpreter(binary)
    assert ref._recs is None
    for a, b in zip(got, _outputs(ref, xs)):
        np.testing.assert_array_equal(a, b)


def _restamp(b):
    struct.pack_into("<I", b, 12, binascii.crc32(memoryview(b)[F.CRC_START:]) & 0xFFFFFFFF)
    return bytes(b)


def _fc_file():
    import test_c_kernels as ck
    return bytearray(_packed("fc", ck.fc_chain([8, 6, 4], ["RELU", "NONE"])))


def test_other_binders_or_changed_tables_bind_again(monkeypatch):
    """The header names what the records came from: another binders' digest, C layout or ABI, or
    TENSORS/OPS bytes changed since (a crafted edit the CRC was re-stamped for) mean binding in Python."""
    from edge_rt.kernels import c as ck
    b = _fc_file()
    assert Interpreter(bytes(b))._recs is not None
    monkeypatch.setattr(ck, "BINDERS_DIGEST", ck.BINDERS_DIGEST ^ 1)
    assert Interpreter(bytes(b))._recs is None
    monkeypatch.undo()
    m = reader.parse(bytes(b))
    off, _ = m.sections[F.SEC_OPS]
    sc = struct.unpack_from("<I", b, off + 12)[0]
    struct.pack_into("<I", b, off + 12, sc + 16)  # scratch size of op 0: still inside the arena
    it = Interpreter(_restamp(b))
    assert it._recs is None
    it.invoke()


def test_a_reader_without_the_section_id_ignores_it():
    """An older reader skips a section id it does not know: the file loads and binds in Python."""
    b = _fc_file()
    m = reader.parse(bytes(b))
    nsec = struct.unpack_from("<I", b, 16)[0]
    for i in range(nsec):
        at = F.HEADER_SIZE + i * F.SECTION_SIZE
        if struct.unpack_from("<I", b, at)[0] == F.SEC_CPROG:
            struct.pack_into("<I", b, at, 99)
    it = Interpreter(_restamp(b))
    assert it._recs is None and reader.parse(bytes(b)).cprog is None
    ref = Interpreter(bytes(_fc_file()))
    xs = _inputs(ref)
    np.testing.assert_array_equal(_outputs(it, xs)[0], _outputs(ref, xs)[0])
    assert m.cprog is not None


def _record_at(b, k):
    """Byte offset of record k in b's CPROG section, and its (index, opcode, npar, nopd)."""
    m = reader.parse(bytes(b))
    pos = m.sections[F.SEC_CPROG][0] + F.CPROG_SIZE
    for _ in range(k):
        _, _, npar, nopd, _ = struct.unpack_from(F.CPROG_REC_FMT, b, pos)
        pos += F.CPROG_REC_SIZE + 4 * npar + 12 * nopd
    return pos, struct.unpack_from(F.CPROG_REC_FMT, b, pos)[:4]


def _refused(b, pattern):
    with pytest.raises(ModelFormatError, match=pattern) as e:
        Interpreter(_restamp(b))
    assert "\n" not in str(e.value)


def test_crafted_records_are_refused_naming_the_op():
    """Records are checked by the C validator as the binders' are: each edit is one line naming the op."""
    base = _fc_file()
    pos, (idx, opcode, npar, nopd) = _record_at(base, 1)
    assert idx == 1 and opcode == F.OP_FULLY_CONNECTED
    opd = pos + F.CPROG_REC_SIZE + 4 * npar
    name = r"op 1 \(FULLY_CONNECTED\): the c kernel refuses it: "
    b = bytearray(base)  # the input's room one byte short
    struct.pack_into("<I", b, opd + 8, struct.unpack_from("<I", b, opd + 8)[0] - 1)
    _refused(b, name + r"operand would be accessed past the end of its tensor \(operand 0\)")
    b = bytearray(base)  # the output in the read-only constants
    struct.pack_into("<I", b, opd + 12 * 5, 0)
    _refused(b, name + r"output or scratch operand is not in the arena \(operand 5\)")
    b = bytearray(base)  # an offset past the arena
    struct.pack_into("<I", b, opd + 12 * 5 + 4, 1 << 30)
    _refused(b, name + r"operand lies outside its region \(operand 5\)")
    b = bytearray(base)  # an unknown region
    struct.pack_into("<I", b, opd, 7)
    _refused(b, name + r"operand lies outside its region \(operand 0\)")
    b = bytearray(base)  # another opcode
    struct.pack_into("<H", b, pos + 4, F.OP_RELU)
    _refused(b, name + r"its CPROG record is for another opcode")
    b = bytearray(base)  # the record names op 2: op 1 has none
    struct.pack_into("<I", b, pos, 2)
    _refused(b, name + r"its CPROG section has no record for it")
    b = bytearray(base)  # more params than the record holds
    struct.pack_into("<H", b, pos + 6, 0xFFFF)
    _refused(b, name + r"its CPROG record runs past the section")
    b = bytearray(base)  # records out of order
    p0, _ = _record_at(base, 0)
    struct.pack_into("<I", b, p0, 5)
    _refused(b, r"op 0 \(FULLY_CONNECTED\): the c kernel refuses it: its CPROG section has no record")
    b = bytearray(base)  # a params edit inconsistent with the operands
    struct.pack_into("<i", b, pos + F.CPROG_REC_SIZE, 1000)  # batches
    _refused(b, name + r"operand would be accessed past")
    m = reader.parse(bytes(base))
    hdr = m.sections[F.SEC_CPROG][0]
    b = bytearray(base)  # more records claimed than the section holds
    struct.pack_into("<I", b, hdr + 16, 50)
    Interpreter(_restamp(b))  # the ops' own records come first: still fine


def test_groups_between_fallback_ops_take_their_records(monkeypatch):
    """MAX_POOL_2D taken out of the C set (as an op it lacked): the records cover the C ops only,
    the C groups before and after the numpy op are built from them (the second from op 2 on), and
    the outputs equal the binder path's and TFLite Micro's."""
    import test_c_elem as ce
    from edge_rt.kernels import c
    from edge_rt.kernels.c import ops
    from edge_rt.testing.conformance import check_bit_exact
    monkeypatch.setattr(ops, "OPS", tuple(o for o in ops.OPS if o != F.OP_MAX_POOL_2D))
    monkeypatch.delitem(c.KERNELS, F.OP_MAX_POOL_2D)
    data = ce._pool_add_softmax()
    binary = _packed("pool", data)
    sets = reader.parse(binary).meta["op_kernels"]
    assert sets[:3] == ["c", "np", "c"]
    assert [i for i, _ in records_of(binary)] == [i for i, s in enumerate(sets) if s == "c"]
    assert records_of(binary) == _binder_records(binary)
    it = Interpreter(binary)
    assert it._recs is not None and len(it._run) == 3  # C group, numpy op, C group
    xs = _inputs(it)
    got = _outputs(it, xs)
    with monkeypatch.context() as mp:
        _bind_path(mp)
        ref = Interpreter(binary)
        assert ref._recs is None
        for a, b in zip(got, _outputs(ref, xs)):
            np.testing.assert_array_equal(a, b)
    check_bit_exact(data, kernel_sets=("c",))


def test_inspect_says_whether_the_records_are_used(tmp_path, monkeypatch, capsys):
    """`edge-rt inspect` names the section, the ops it covers and whether this runtime takes them."""
    from edge_rt.host import cli
    from edge_rt.kernels import c as ck
    path = tmp_path / "fc.ert"
    path.write_bytes(bytes(_fc_file()))
    assert cli.describe(str(path))["c_records"] == {"ops": 3, "used": True}
    assert cli.main(["inspect", str(path)]) == 0
    assert "C records bound at pack time (CPROG): 3 ops, used at load" in capsys.readouterr().out
    monkeypatch.setattr(ck, "BINDERS_DIGEST", ck.BINDERS_DIGEST ^ 1)
    assert cli.describe(str(path))["c_records"] == {"ops": 3, "used": False}


def test_scratch_over_another_operand_is_refused():
    """A record whose scratch lies over another operand (here CONV_2D's patches moved onto its input,
    which the kernel copies from with memcpy) is refused: the planner never places an op's scratch
    over its own operands."""
    import test_c_conv as cc
    base = bytearray(_packed("conv", cc.conv_model((1, 6, 5, 3), 4, 3, seed=1)))
    pos, (idx, opcode, npar, nopd) = _record_at(base, 0)
    assert opcode == F.OP_CONV_2D and nopd > 6
    opd = pos + F.CPROG_REC_SIZE + 4 * npar
    region, x_off, x_room = struct.unpack_from("<III", base, opd)  # operand 0: the input
    s_region, s_off, s_room = struct.unpack_from("<III", base, opd + 12 * 6)  # operand 6: the scratch
    assert region == s_region == 1 and s_room > 0
    arena = reader.parse(bytes(base)).arena_bytes
    # the scratch moved (4-byte aligned, inside the arena) to take some bytes of the input
    at = next(a for a in range(0, arena - s_room + 1, 4) if a < x_off + x_room and x_off < a + s_room)
    b = bytearray(base)
    struct.pack_into("<I", b, opd + 12 * 6 + 4, at)
    _refused(b, r"op 0 \(CONV_2D\): the c kernel refuses it: scratch operand overlaps another operand \(operand 6\)")
