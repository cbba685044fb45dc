"""The edge-rt command on the shipped model."""
import json
import os
import subprocess
import sys

import pytest

from edge_rt.host.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(ROOT, "models", "hello_world_int8.tflite")


def test_pack_run_inspect(tmp_path, capsys):
    out = tmp_path / "hw.ert"
    assert main(["pack", HELLO, "-o", str(out)]) == 0
    s = capsys.readouterr().out
    assert "ops:" in s and "constant bytes:" in s and "arena bytes:" in s
    import numpy as np
    x = tmp_path / "x.npy"
    np.save(x, np.array([[7]], np.int8))
    y = tmp_path / "y.npy"
    assert main(["run", str(out), "--input", str(x), "--output", str(y), "--repeat", "5"]) == 0
    s = capsys.readouterr().out
    assert "median" in s
    from edge_rt.testing.reference import TFLM
    with open(HELLO, "rb") as f:
        want = TFLM(f.read())(np.array([[7]], np.int8))[0]
    assert np.array_equal(np.load(y), want)
    assert main(["inspect", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for k in ("format_version", "ops", "arena_bytes", "constant_bytes", "inputs", "outputs"):
        assert k in d
    assert isinstance(d["ops"], list) and len(d["ops"]) == 3
    assert main(["inspect", str(out)]) == 0
    assert "FULLY_CONNECTED" in capsys.readouterr().out


@pytest.mark.parametrize("sub", [[], ["pack"], ["run"], ["inspect"], ["boards"], ["bench"],
                                 ["agent"], ["deploy"], ["remote"], ["profile"], ["bundle"]])
def test_help(sub):
    r = subprocess.run([sys.executable, "-m", "edge_rt.host.cli", *sub, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: edge-rt" in r.stdout


def test_errors_are_one_line_no_traceback(tmp_path):
    bad = tmp_path / "bad.ert"
    bad.write_bytes(b"garbage" * 10)
    for args in (["run", str(bad)], ["inspect", str(bad)], ["pack", str(bad)],
                 ["run", str(tmp_path / "missing.ert")], ["pack", HELLO, "--board", "nosuch"]):
        r = subprocess.run([sys.executable, "-m", "edge_rt.host.cli", *args], capture_output=True, text=True)
        assert r.returncode == 1, args
        assert "Traceback" not in r.stderr and r.stderr.startswith("edge-rt: error: "), (args, r.stderr)


def test_board_budget_errors(tmp_path):
    boards = tmp_path / "boards"
    boards.mkdir()
    (boards / "rpi4.toml").write_text((open(os.path.join(ROOT, "boards", "rpi4.toml")).read()))
    (boards / "tiny.toml").write_text('name = "tiny"\n[memory]\narena_budget = 1000\nflash_budget = 100000\n'
                                      '[runtime]\nkernels = "ref"\n')
    (boards / "noflash.toml").write_text('name = "noflash"\n[memory]\narena_budget = 100000\n'
                                         'flash_budget = 2000\n[runtime]\nkernels = "ref"\n')
    kws = os.path.join(ROOT, "models", "kws_dscnn_int8.tflite")
    env = dict(os.environ, EDGE_RT_BOARDS=str(boards))
    out = tmp_path / "k.ert"
    r = subprocess.run([sys.executable, "-m", "edge_rt.host.cli", "pack", kws, "-o", str(out), "--board", "tiny"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and not out.exists()
    from edge_rt.compiler.pack import pack
    with open(kws, "rb") as f:
        need = pack(f.read(), kws, kernels="ref", check_budget=False).plan.arena_bytes
    assert r.stderr.strip().splitlines() == [
        f"edge-rt: error: kws_dscnn_int8.tflite needs {need:,} B of arena; board tiny allows 1,000 B"]
    r = subprocess.run([sys.executable, "-m", "edge_rt.host.cli", "pack", kws, "-o", str(out), "--board", "noflash"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "B of model storage; board noflash allows 2,000 B" in r.stderr
    r = subprocess.run([sys.executable, "-m", "edge_rt.host.cli", "boards"], capture_output=True, text=True, env=env)
    assert "tiny" in r.stdout and "1,000 B" in r.stdout


def test_a_file_packed_for_an_mcu_runs_on_cpython_as_packed(tmp_path, capsys):
    """A --board pico file records kernel set ref: Interpreter() and `edge-rt run` follow it
    without being told, bit-exact."""
    import numpy as np
    from edge_rt import Interpreter
    from edge_rt.testing.reference import TFLM
    kws = os.path.join(ROOT, "models", "kws_dscnn_int8.tflite")
    out = tmp_path / "kws_pico.ert"
    assert main(["pack", kws, "-o", str(out), "--board", "pico"]) == 0
    it = Interpreter(str(out))
    assert set(it.op_kernel_sets) == {"ref"}
    d = it.input_details()[0]
    x = np.random.default_rng(1).integers(-128, 128, d["shape"], dtype=np.int8)
    it.set_input(0, x)
    it.invoke()
    with open(kws, "rb") as f:
        assert np.array_equal(it.get_output(0), TFLM(f.read())(x)[0])
    capsys.readouterr()
    assert main(["run", str(out)]) == 0
    assert "kernels ref" in capsys.readouterr().out
    # asking for numpy on it: the plan has no numpy scratch, so every op falls back to ref
    it = Interpreter(str(out), kernels="np")
    assert set(it.op_kernel_sets) == {"ref"}


def test_linux_board_l2_is_a_target_and_ram_the_limit(tmp_path, monkeypatch):
    """On a Linux board (ram_bytes set) an arena over the L2 figure packs with a warning that
    gives the figures; over the RAM it is refused. An MCU's budget stays hard, and
    --no-budget-check writes an over-budget file with a warning."""
    import edge_rt.compiler.boards as B
    from edge_rt.compiler.pack import pack
    from edge_rt.errors import BudgetError
    (tmp_path / "lin.toml").write_text('name = "lin"\n[memory]\narena_budget = 1000\nram_bytes = 1000000\n'
                                       'flash_budget = 10000000\n')
    (tmp_path / "linsmall.toml").write_text('name = "ls"\n[memory]\narena_budget = 1000\nram_bytes = 2000\n'
                                            'flash_budget = 10000000\n')
    (tmp_path / "mcu.toml").write_text('name = "mcu"\n[memory]\narena_budget = 1000\nflash_budget = 10000000\n'
                                       '[runtime]\nkernels = "ref"\n')
    monkeypatch.setattr(B, "BOARDS_DIR", str(tmp_path))
    kws = os.path.join(ROOT, "models", "kws_dscnn_int8.tflite")
    data = open(kws, "rb").read()
    r = pack(data, kws, board="lin")
    need = r.plan.arena_bytes
    assert 1000 < need <= 1_000_000
    assert r.warnings == [f"kws_dscnn_int8.tflite needs {need:,} B of arena, more than board lin's 1,000 B "
                          f"L2 cache: activations spill to RAM and run slower"]
    with pytest.raises(BudgetError, match=f"needs {need:,} B of arena; board linsmall has 2,000 B of RAM"):
        pack(data, kws, board="linsmall")
    with pytest.raises(BudgetError, match="board mcu allows 1,000 B"):
        pack(data, kws, board="mcu")
    # the command line: the warning on stderr, the file written
    env = dict(os.environ, EDGE_RT_BOARDS=str(tmp_path))
    out = tmp_path / "k.ert"
    cmd = [sys.executable, "-m", "edge_rt.host.cli", "pack", kws, "-o", str(out)]
    p = subprocess.run(cmd + ["--board", "lin"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and out.exists() and "L2 target 1,000, RAM limit 1,000,000" in p.stdout
    assert p.stderr.strip() == f"edge-rt: warning: {r.warnings[0]}"
    out.unlink()
    p = subprocess.run(cmd + ["--board", "mcu", "--no-budget-check"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and out.exists()
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edge-rt: warning: kws_dscnn_int8.tflite needs ")
    assert "board mcu allows 1,000 B" in lines[0] and "--no-budget-check" in lines[0]


def test_shipped_linux_boards_give_their_ram_and_mcus_do_not():
    from edge_rt.compiler.boards import board_names, load_board
    names = board_names()
    assert {"rpi4", "rpi5", "rpi_zero2w", "pico", "esp32s3"} <= set(names)
    for n in names:
        b = load_board(n)
        if "micropython" in b.raw:   # an MCU: the arena budget is the hard limit
            assert b.ram_bytes is None, n
        else:
            assert b.ram_bytes is not None and b.ram_bytes > b.arena_budget, n
    assert load_board("rpi_zero2w").ram_bytes == 512 * 2**20


def test_inspect_labels_both_crc32_figures(tmp_path, capsys):
    """The header's CRC32 covers bytes [16, end); deploy checks the CRC32 of the whole file."""
    import binascii
    out = tmp_path / "hw.ert"
    assert main(["pack", HELLO, "-o", str(out)]) == 0
    data = out.read_bytes()
    capsys.readouterr()
    assert main(["inspect", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert int(d["crc32"], 16) == binascii.crc32(data[16:]) and int(d["file_crc32"], 16) == binascii.crc32(data)
    assert main(["inspect", str(out)]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert f"header CRC32 {d['crc32']} (bytes 16..end)" in head and f"file CRC32 {d['file_crc32']} (whole" in head
