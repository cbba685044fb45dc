"""The .ert format: round trip, and every corruption class gives ModelFormatError."""
import os
import struct

import numpy as np
import pytest

import edge_rt
from edge_rt import format as F
from edge_rt.compiler.pack import pack
from edge_rt.testing.c_set import C_SETS
from edge_rt.reader import parse


@pytest.fixture
def ert(hello_world_bytes):
    return pack(hello_world_bytes, "hello_world_int8.tflite").binary


def _recrc(b: bytearray) -> bytes:
    import binascii
    struct.pack_into("<I", b, 12, binascii.crc32(memoryview(b)[F.CRC_START:]) & 0xFFFFFFFF)
    return bytes(b)


def test_round_trip(ert, hello_world_bytes):
    m = parse(ert)
    assert m.version == F.VERSION and m.total_length == len(ert)
    assert [op.name for op in m.ops] == ["FULLY_CONNECTED"] * 3
    assert m.meta["source_name"] == "hello_world_int8.tflite"
    assert len(m.meta["source_sha256"]) == 64
    assert m.arena_bytes > 0 and m.lower_bound <= m.arena_bytes
    # constants are aligned views into the file, not copies
    for t in m.tensors:
        if t.kind == F.KIND_CONST:
            assert t.offset % F.ALIGN == 0


def test_sections_aligned(ert):
    m = parse(ert)
    assert all(off % F.ALIGN == 0 for off, _ in m.sections.values())


def test_zero_copy_constants(tmp_path, hello_world_bytes):
    p = tmp_path / "m.ert"
    p.write_bytes(pack(hello_world_bytes, "hello_world_int8.tflite", kernels="np").binary)
    it = edge_rt.Interpreter(str(p), kernels="np")
    consts = [v for v, t in zip(it._views, it.model.tensors) if t.kind == F.KIND_CONST]
    assert consts and all(not v.flags.owndata and not v.flags.writeable for v in consts)
    it = edge_rt.Interpreter(str(p), kernels="ref")  # flat views (ref, c): read-only memoryviews of the map
    consts = [v for v, t in zip(it._views, it.model.tensors) if t.kind == F.KIND_CONST]
    assert consts and all(isinstance(v, memoryview) and v.readonly for v in consts)


@pytest.mark.parametrize("cut", [0, 10, 31, 100, -1])
def test_truncated(ert, cut):
    with pytest.raises(edge_rt.ModelFormatError, match="truncated|shorter"):
        edge_rt.Interpreter(ert[:cut] if cut >= 0 else ert[:-1])


def test_trailing_bytes(ert):
    with pytest.raises(edge_rt.ModelFormatError, match="header says"):
        edge_rt.Interpreter(ert + b"\0" * 16)


def test_bad_magic(ert):
    with pytest.raises(edge_rt.ModelFormatError, match="magic"):
        edge_rt.Interpreter(b"TFL3" + ert[4:])


def test_wrong_version(ert):
    b = bytearray(ert)
    struct.pack_into("<H", b, 4, F.VERSION + 1)
    with pytest.raises(edge_rt.ModelFormatError, match="version 2"):
        edge_rt.Interpreter(bytes(b))


def test_every_bit_flip_in_payload_is_caught(ert):
    rng = np.random.default_rng(1)
    for pos in rng.integers(F.CRC_START, len(ert), 200):
        b = bytearray(ert)
        b[pos] ^= 1 << int(rng.integers(8))
        with pytest.raises(edge_rt.ModelFormatError):
            edge_rt.Interpreter(bytes(b))


def test_offsets_outside_file_with_valid_crc(ert):
    m = parse(ert)
    t_off, _ = m.sections[F.SEC_TENSORS]
    b = bytearray(ert)
    const = next(t for t in m.tensors if t.kind == F.KIND_CONST)
    struct.pack_into("<I", b, t_off + const.index * F.TENSOR_SIZE + 28, 10 ** 8)
    with pytest.raises(edge_rt.ModelFormatError, match="outside CONSTS"):
        edge_rt.Interpreter(_recrc(b))
    # a section pointing past the end of the file
    b = bytearray(ert)
    struct.pack_into("<I", b, F.HEADER_SIZE + 4, len(ert) + 64)
    with pytest.raises(edge_rt.ModelFormatError, match="outside the file"):
        edge_rt.Interpreter(_recrc(b))
    # an op naming a tensor that does not exist
    b = bytearray(ert)
    o_off, _ = m.sections[F.SEC_OPS]
    struct.pack_into("<i", b, o_off + F.OP_SIZE, 999)
    with pytest.raises(edge_rt.ModelFormatError, match="out of range"):
        edge_rt.Interpreter(_recrc(b))


def test_set_input_errors(ert):
    it = edge_rt.Interpreter(ert)
    with pytest.raises(edge_rt.InputError, match=r"shape \(1, 2\) given, expected \(1, 1\)"):
        it.set_input(0, np.zeros((1, 2), np.int8))
    with pytest.raises(edge_rt.InputError, match="dtype float32 given, expected int8"):
        it.set_input(0, np.zeros((1, 1), np.float32))
    with pytest.raises(edge_rt.InputError, match="out of range"):
        it.set_input(3, np.zeros((1, 1), np.int8))
    with pytest.raises(edge_rt.InputError, match="2 bytes given, expected 1"):
        it.set_input(0, b"\0\0")
    it.set_input(0, b"\x05")  # raw bytes are accepted
    it.invoke()
    assert it.get_output(0).shape == (1, 1)


def test_details(ert):
    it = edge_rt.Interpreter(ert)
    (d,) = it.input_details()
    assert set(d) >= {"name", "shape", "dtype", "scale", "zero_point"}
    assert d["shape"] == (1, 1) and d["dtype"] == np.int8 and d["zero_point"] == -128


def test_tampered_payload_with_valid_crc_never_crashes_the_loader():
    """Bytes changed after the header and the CRC recomputed (so only the structural checks
    stand between the file and the kernels): loading gives the project's error or a model,
    never another exception, on both kernel sets."""
    import binascii
    with open(os.path.join(os.path.dirname(__file__), "..", "models", "hello_world_int8.tflite"), "rb") as f:
        ert = pack(f.read(), "hw.tflite").binary
    rng = np.random.default_rng(1)
    for _ in range(300):
        b = bytearray(ert)
        for _ in range(int(rng.integers(1, 3))):
            b[int(rng.integers(F.CRC_START, len(b)))] = int(rng.integers(0, 256))
        struct.pack_into("<I", b, 12, binascii.crc32(memoryview(b)[F.CRC_START:]) & 0xFFFFFFFF)
        for ks in ("np", "ref") + C_SETS:  # c: the C validator guards the kernels too
            try:
                edge_rt.Interpreter(bytes(b), kernels=ks)
            except edge_rt.EdgeRTError:
                pass


def test_numpy_kernel_layout_mismatch_is_one_clear_line(tmp_path, hello_world_bytes, monkeypatch):
    """A file packed for another numpy kernel layout (scratch geometry, np-only constants)
    is refused at load with one line naming both layouts, by the API and by the CLI; the
    pure-Python kernels, which do not use that layout, still run it."""
    import subprocess
    import sys
    from edge_rt.errors import ModelFormatError
    from edge_rt.kernels import np as np_kernels
    good = pack(hello_world_bytes, "hello.tflite", kernels="np").binary
    assert edge_rt.Interpreter(good, kernels="np").model.meta["np_layout"] == np_kernels.LAYOUT
    monkeypatch.setattr(np_kernels, "LAYOUT", 999)
    old = pack(hello_world_bytes, "hello.tflite", kernels="np").binary
    monkeypatch.undo()
    with pytest.raises(ModelFormatError, match=r"numpy kernel layout 999 .* need layout %d: repack" % np_kernels.LAYOUT):
        edge_rt.Interpreter(old, kernels="np")
    edge_rt.Interpreter(old, kernels="ref").invoke()
    path = tmp_path / "old.ert"
    path.write_bytes(old)
    r = subprocess.run([sys.executable, "-m", "edge_rt.host.cli", "run", str(path)], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "layout 999" in r.stderr, r.stderr
