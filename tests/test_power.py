"""Power sources (fake hwmon tree, fake serial meter), energy integration with idle-baseline
subtraction on hand-computable traces, the op-count estimate, and `edge-rt profile`."""
import argparse
import json
import os
import sys
import threading
import time

import pytest

from edge_rt.host.cli_remote import add_commands
from edge_rt.compiler.pack import pack
from edge_rt.errors import EdgeRTError
from edge_rt.host import power as P
from edge_rt.reader import parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(ROOT, "models", "hello_world_int8.tflite")


@pytest.fixture(scope="module")
def ert():
    with open(HELLO, "rb") as f:
        return pack(f.read(), "hello_world_int8.tflite").binary


def cli(*argv):
    p = argparse.ArgumentParser(prog="edge-rt")
    add_commands(p.add_subparsers())
    a = p.parse_args([str(x) for x in argv])
    return a.fn(a)


def fake_hwmon(root, power_uw=None, mv=None, ma=None, name="ina219"):
    (root / "hwmon0").mkdir(parents=True)
    (root / "hwmon0" / "name").write_text("cpu_thermal\n")
    (root / "hwmon0" / "temp1_input").write_text("45000\n")
    d = root / "hwmon1"
    d.mkdir()
    (d / "name").write_text(name + "\n")
    if power_uw is not None:
        (d / "power1_input").write_text("%d\n" % power_uw)
    if mv is not None:
        (d / "in1_input").write_text("%d\n" % mv)
        (d / "curr1_input").write_text("%d\n" % ma)
    return d


STEP = [(round(0.1 * i, 1), 1.0 if (i < 10 or i > 30) else 3.0) for i in range(41)]
# idle 1 W on [0, 0.9], 3 W on [1.0, 3.0], idle again from 3.1 s: with 100 inferences in
# [1.0, 3.0] the energy per inference is (3 W x 2 s - 1 W x 2 s) / 100 = 0.04 J = 40,000 uJ.


def test_integrate_by_hand():
    tr = P.Trace([0.0, 1.0, 2.0], [0.0, 2.0, 2.0])
    assert P.integrate(tr, 0.0, 2.0) == pytest.approx(3.0)          # 1 (ramp) + 2 (flat)
    assert P.integrate(tr, 0.5, 1.5) == pytest.approx(0.75 + 1.0)   # ends interpolated: 1 W, 2 W
    assert P.mean_power(tr, 1.0, 2.0) == pytest.approx(2.0)
    step = P.Trace([t for t, _ in STEP], [w for _, w in STEP])
    r = P.energy_per_inference(step, (1.0, 3.0), 100, idle_window=(0.0, 0.9))
    assert r["idle_power_w"] == pytest.approx(1.0)
    assert r["avg_power_w"] == pytest.approx(3.0)
    assert r["energy_uj"] == pytest.approx(40000.0)
    assert r["samples_in_window"] == 21 and r["warning"] is None
    assert P.energy_per_inference(step, (1.0, 3.0), 100, idle_w=0.5)["energy_uj"] == pytest.approx(50000.0)
    with pytest.raises(EdgeRTError):
        P.energy_per_inference(step, (1.0, 3.0), 0)


def test_hwmon_sensor_modes_and_errors(tmp_path):
    d = fake_hwmon(tmp_path / "a", power_uw=2500000)
    s = P.HwmonSensor(str(tmp_path / "a"))
    assert s.path == str(d) and s.name == "ina219" and s.read() == pytest.approx(2.5)
    fake_hwmon(tmp_path / "b", mv=5000, ma=400, name="ina226")
    s = P.HwmonSensor(str(tmp_path / "b"), device="ina226")
    assert s.mode == "vi" and s.read() == pytest.approx(2.0)    # 5 V x 0.4 A
    assert P.HwmonSensor(str(d)).read() == pytest.approx(2.5)   # a device directory works too
    with pytest.raises(EdgeRTError, match=r"no hwmon power sensor .* named ina3221 .*hwmon0\(cpu_thermal\)"):
        P.HwmonSensor(str(tmp_path / "a"), device="ina3221")
    with pytest.raises(EdgeRTError, match="does not exist"):
        P.HwmonSensor(str(tmp_path / "nope"))


def test_hwmon_trace_energy_by_hand(tmp_path):
    d = fake_hwmon(tmp_path, power_uw=0)
    clock = iter([t for t, _ in STEP])
    s = P.Sampler(P.HwmonSensor(str(tmp_path)), clock=lambda: next(clock))
    for _, w in STEP:
        (d / "power1_input").write_text("%d\n" % int(w * 1e6))
        s.sample_once()
    r = P.energy_per_inference(s.trace, (1.0, 3.0), 100, idle_window=(0.0, 0.9))
    assert r["energy_uj"] == pytest.approx(40000.0)


def test_hwmon_threaded_measure(tmp_path):
    """The sampling thread's trace gives the energy of a 1 W step. The workload waits for the
    samples it needs instead of sleeping, so the result does not depend on scheduling."""
    d = fake_hwmon(tmp_path, power_uw=1000000)
    src = P.open_source("hwmon", str(tmp_path))

    def put(uw):  # atomically, as sysfs never shows a half-written value
        (d / "tmp").write_text("%d\n" % uw)
        os.replace(d / "tmp", d / "power1_input")

    def wait_for(cond):
        deadline = time.monotonic() + 60
        while not cond(list(zip(src.trace.t, src.trace.w))):
            assert time.monotonic() < deadline, "the sampler thread recorded nothing"
            time.sleep(0.001)

    def work():  # 1 W idle, 2 W "inferring" over a window bounded by two 2 W samples
        start = time.perf_counter()
        wait_for(lambda s: s[-1][0] > start)      # a 1 W sample after the idle window ends
        put(2000000)
        wait_for(lambda s: sum(w == 2.0 for _, w in s) >= 12)
        high = [t for t, w in zip(list(src.trace.t), list(src.trace.w)) if w == 2.0]
        put(1000000)
        return high[0], high[-1], 10
    r = P.measure(src, work, idle_s=0.05)
    t0, t1 = r["window"]
    assert r["idle_power_w"] == pytest.approx(1.0, rel=1e-9)
    # (2 W - 1 W) x window / 10 inferences
    assert r["energy_uj"] == pytest.approx((t1 - t0) / 10 * 1e6, rel=1e-9)
    assert r["samples_in_window"] >= 12 and r["warning"] is None


def test_parse_reading():
    assert P.parse_reading("0.532") == pytest.approx(0.532)
    assert P.parse_reading("532 mW") == pytest.approx(0.532)
    assert P.parse_reading("850uW") == pytest.approx(850e-6)
    assert P.parse_reading("P=1.2W") == pytest.approx(1.2)
    assert P.parse_reading("3.30 V, 0.120 A") == pytest.approx(0.396)
    assert P.parse_reading("3300mV 120mA") == pytest.approx(0.396)
    assert P.parse_reading("3.3,0.12") == pytest.approx(0.396)
    assert P.parse_reading("meter ready") is None and P.parse_reading("") is None


def test_serial_meter_stream_by_hand():
    import serial
    port = serial.serial_for_url("loop://", timeout=0.01)
    forms = ["3 W", "3000 mW", "3.0", "6 V, 0.5 A", "3000mV 1000mA"]
    lines = ["# meter v1"] + ["%d mW" % int(w * 1000) if w == 1.0 else forms[i % len(forms)]
                             for i, (_, w) in enumerate(STEP)]
    port.write(("\r\n".join(lines) + "\r\n").encode())
    clock = iter([t for t, _ in STEP])
    m = P.SerialMeter(port, clock=lambda: next(clock))
    while len(m.trace) < len(STEP):
        assert m.read_available() or port.in_waiting
    assert m.bad_lines == 1 and m.trace.w == [w for _, w in STEP]
    r = P.energy_per_inference(m.trace, (1.0, 3.0), 100, idle_window=(0.0, 0.9))
    assert r["energy_uj"] == pytest.approx(40000.0)


def test_serial_meter_thread_on_socket():
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    done, ready = threading.Event(), threading.Event()

    def meter():
        c, _ = srv.accept()
        ready.wait(60)  # opening the port discards what arrived before (pyserial resets its input)
        for _ in range(50):
            c.sendall(b"250 mW\n")
            time.sleep(0.005)
        done.wait(60)  # the connection stays up until the recorder has stopped: no race with EOF
        c.close()
    threading.Thread(target=meter, daemon=True).start()
    m = P.open_source("serial:socket://127.0.0.1:%d" % srv.getsockname()[1]).start()
    ready.set()
    deadline = time.monotonic() + 60   # wait for the readings, however slow the machine is
    while len(m.trace) < 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    tr = m.stop()
    done.set()
    srv.close()
    assert len(tr) == 50 and set(tr.w) == {0.25}
    assert "serial power meter" in m.describe()


def write_board(d, energy):
    d.mkdir(exist_ok=True)
    (d / "tiny.toml").write_text('name = "Tiny"\n[memory]\narena_budget = 100000\nflash_budget = 1000000\n'
                                 + energy)


def test_estimate_from_op_counts(tmp_path, monkeypatch, ert):
    import edge_rt.compiler.boards as B
    monkeypatch.setattr(B, "BOARDS_DIR", str(tmp_path))
    m = parse(ert)
    from edge_rt.host.profile import op_costs
    costs = op_costs(m)
    # hello_world is 1 -> 16 -> 16 -> 1 fully connected: 16 + 256 + 16 MACs
    assert [c["macs"] for c in costs] == [16, 256, 16]
    nbytes = sum(c["bytes"] for c in costs)
    write_board(tmp_path, "[energy]\npj_per_mac = 2.0\npj_per_byte = 0.5\n")
    e = P.estimate_energy(m, "tiny")
    assert e["energy_uj"] == pytest.approx((288 * 2.0 + nbytes * 0.5) * 1e-6)
    assert not e["measured"] and not e["note"] and "ESTIMATE" in P.format_energy(e)
    write_board(tmp_path, "")
    e = P.estimate_energy(m, "tiny")
    assert e["pj_per_mac"] == P.DEFAULT_PJ_PER_MAC and "default placeholders" in e["note"]
    e = P.estimate_energy(m, "nosuchboard")
    assert "unknown board" in e["note"]


def test_profile_cli_local(tmp_path, ert, capsys):
    path = tmp_path / "hw.ert"
    path.write_bytes(ert)
    out = tmp_path / "r.json"
    assert cli("profile", path, "--runs", 30, "--json", out) == 0
    s = capsys.readouterr().out
    assert "p50" in s and "p90" in s and "p99" in s and s.count("FULLY_CONNECTED") >= 3
    assert "ESTIMATE" in s
    d = json.loads(out.read_text())
    assert d["stats"]["n"] == 30 and d["stats"]["p50"] <= d["stats"]["p90"] <= d["stats"]["p99"]
    assert [o["type"] for o in d["ops"]] == ["FULLY_CONNECTED"] * 3
    fake_hwmon(tmp_path / "hw", power_uw=1500000)
    assert cli("profile", path, "--runs", 10, "--power", "hwmon", "--hwmon-root", tmp_path / "hw",
               "--idle", 0.05, "--power-seconds", 0.1) == 0
    s = capsys.readouterr().out
    assert "uJ measured (hwmon" in s and "ESTIMATE" not in s
    with pytest.raises(EdgeRTError, match="give MODEL.ert"):
        cli("profile")


def test_plots(tmp_path, ert, monkeypatch):
    from edge_rt.host import profile as PR
    tr = P.Trace([t for t, _ in STEP], [w for _, w in STEP])
    try:
        import matplotlib  # noqa: F401
        have = True
    except ImportError:
        have = False
    if have:
        PR.plot_latency([100.0 + i % 7 for i in range(100)], str(tmp_path / "lat.png"))
        PR.plot_ops([{"index": 0, "type": "CONV_2D", "us": 5.0}], str(tmp_path / "ops.png"))
        P.plot_trace(tr, (1.0, 3.0), str(tmp_path / "p.png"), (0.0, 0.9))
        for f in ("lat.png", "ops.png", "p.png"):
            assert (tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(EdgeRTError, match=r"plots need matplotlib.*pip install"):
        P.plot_trace(tr, (1.0, 3.0), str(tmp_path / "q.png"))
    path = tmp_path / "hw.ert"
    path.write_bytes(ert)
    with pytest.raises(EdgeRTError, match="plots need matplotlib"):
        cli("profile", path, "--plot", tmp_path / "x")
