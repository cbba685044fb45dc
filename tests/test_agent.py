"""The serial agent: MLPerf Tiny protocol strings, ert-* upload with CRC, host link retries and
timeouts, over an in-process stream, a loopback socket (pyserial socket://) and a pty."""
import argparse
import ast
import binascii
import os
import re
import select
import socket
import threading
import time

import numpy as np
import pytest

from edge_rt import Interpreter
from edge_rt.agent import Agent, fmt3, serve
from edge_rt.host.cli_remote import add_commands
from edge_rt.compiler.pack import pack
from edge_rt.errors import EdgeRTError
from edge_rt.host.link import Device, Link
from edge_rt.testing.reference import TFLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(ROOT, "models", "hello_world_int8.tflite")


@pytest.fixture(scope="module")
def tfl():
    with open(HELLO, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def ert_np(tfl):
    return pack(tfl, "hello_world_int8.tflite", kernels="np").binary


@pytest.fixture(scope="module")
def ert_ref(tfl):
    return pack(tfl, "hello_world_int8.tflite", kernels="ref").binary


@pytest.fixture
def store(tmp_path, ert_np):
    (tmp_path / "hw.ert").write_bytes(ert_np)
    return tmp_path


def talk(agent, out, cmd):
    del out[:]
    agent.feed(cmd.encode())
    return out.decode().split("\r\n")[:-1]


def parser():
    p = argparse.ArgumentParser(prog="edge-rt")
    add_commands(p.add_subparsers())
    return p


def cli(*argv):
    a = parser().parse_args([str(x) for x in argv])
    return a.fn(a)


# -- transports -------------------------------------------------------------------------
class InProcPort:
    """A pyserial-like port wired straight to an Agent; can garble chosen replies."""

    def __init__(self, agent, garble=()):
        self.rx = bytearray()
        self.agent, self.garble, self.n = agent, set(garble), 0
        agent._write = self._reply
        self.port = "inproc"

    def _reply(self, b):
        self.rx += b

    def write(self, b):
        before = len(self.rx)
        self.agent.feed(b)
        if self.n in self.garble:   # flip bits in the reply, as line noise would
            self.rx[before:] = bytes(c ^ 0xA5 for c in self.rx[before:])
        self.n += 1

    @property
    def in_waiting(self):
        return len(self.rx)

    def read(self, n=1):
        if not self.rx:
            time.sleep(0.002)
        out, self.rx[:] = bytes(self.rx[:n]), self.rx[n:]
        return out

    def reset_input_buffer(self):
        del self.rx[:]

    def close(self):
        pass


@pytest.fixture
def socket_agent(store):
    """An agent served on a loopback TCP socket; the host opens socket://127.0.0.1:PORT."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    agent = Agent(None, str(store / "hw.ert"), store=str(store))

    def run():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            agent._write = c.sendall
            agent.banner()
            serve(agent, lambda: c.recv(4096) or None)
            c.close()
    threading.Thread(target=run, daemon=True).start()
    yield "socket://127.0.0.1:%d" % srv.getsockname()[1], agent
    srv.close()


# -- MLPerf Tiny protocol ---------------------------------------------------------------
def test_mlperf_strings_exact(store, tfl):
    out = bytearray()
    a = Agent(out.extend, str(store / "hw.ert"), store=str(store))
    assert talk(a, out, "name%") == ["m-name-dut-[edge_rt]", "m-ready"]
    prof = talk(a, out, "profile%")
    assert prof[-1] == "m-ready"
    got = dict(re.match(r"^m-(model|profile)-\[([^]]+)]$", ln).groups() for ln in prof[:-1])
    assert got == {"profile": "ULPMark for tinyML Firmware V0.0.1", "model": "hello_world_int8"}
    ts = talk(a, out, "timestamp%")
    assert re.match(r"^m-lap-us-[0-9]+$", ts[0]) and ts[1:] == ["m-ready"]
    assert talk(a, out, "db load 1%") == ["m-[Expecting 1 bytes]", "m-ready"]
    assert talk(a, out, "db 07%") == ["m-load-done", "m-ready"]
    assert talk(a, out, "db print%") == ["m-buffer-07", "m-ready"]
    r = talk(a, out, "infer 3 2%")
    assert r[:3] == ["m-warmup-start-2", "m-warmup-done", "m-infer-start-3"]
    laps = [int(re.match(r"^m-lap-us-([0-9]+)$", ln).group(1)) for ln in r[3:5]]
    assert laps[1] >= laps[0]
    assert r[5] == "m-infer-done" and r[7] == "m-ready"
    m = re.match(r"^m-results-\[([^]]+)\]$", r[6])
    want_q = int(TFLM(tfl)(np.array([[7]], np.int8))[0].reshape(-1)[0])
    it = Interpreter(str(store / "hw.ert"))
    sc, zp = it.output_details()[0]["scale"], it.output_details()[0]["zero_point"]
    assert m.group(1) == fmt3((want_q - zp) * sc)
    assert [float(x) for x in m.group(1).split(",")] == [float(fmt3((want_q - zp) * sc))]
    assert talk(a, out, "results%") == [r[6], "m-ready"]
    assert talk(a, out, "bogus 1 2%") == ["e-[Unknown command: bogus]", "m-ready"]
    assert talk(a, out, "%") == ["m-ready"]


def test_fmt3_matches_reference_digits():
    # reference: "0.%d%d%d" of int(v*10), int(v*100)%10, int(v*1000)%10 for softmax outputs
    for k in range(256):
        v = k / 256.0
        ref = "0.%d%d%d" % (int(v * 10), int(v * 100) % 10, int(v * 1000) % 10)
        assert fmt3(v) == ref
    assert fmt3(-0.1749) == "-0.174" and fmt3(1.5) == "1.500" and fmt3(-0.0004) == "0.000"


def test_db_runner_chunks_and_errors(store):
    out = bytearray()
    a = Agent(out.extend, str(store / "hw.ert"), store=str(store))
    data = bytes(range(100))
    assert talk(a, out, "db load 100%")[0] == "m-[Expecting 100 bytes]"
    for i in range(0, 100, 31):   # the MLPerf runner's chunking: 31 bytes per `db` command
        r = talk(a, out, "db %s%%" % data[i:i + 31].hex())
        assert r == (["m-load-done", "m-ready"] if i + 31 >= 100 else ["m-ready"])
    lines = talk(a, out, "db print%")[:-1]
    assert len(lines) == 13 and lines[0] == "m-buffer-00-01-02-03-04-05-06-07"
    assert bytes.fromhex("".join(ln[len("m-buffer-"):].replace("-", "") for ln in lines)) == data
    assert talk(a, out, "infer 1 0%")[0].startswith("e-[Input db has 100 bytes, expected 1")
    assert talk(a, out, "infer 0%")[0] == "e-[Inference iterations must be >0]"
    assert talk(a, out, "db 123%")[0] == "e-[Insufficent number of hex digits]"
    assert talk(a, out, "db load 0%")[0] == "e-[Command 'db load' must be >0 bytes]"
    assert talk(a, out, "results%")[0].startswith("e-[")
    assert talk(a, out, ("x" * 5000) + "%") == ["e-[Command too long (max 4096 chars)]", "m-ready"]
    assert talk(a, out, "name%")[0] == "m-name-dut-[edge_rt]"   # still in sync


def test_float32_db_is_quantized_like_ad01(store):
    # the runner sends ad01 inputs as float32; an int8 model quantizes them on the device
    out = bytearray()
    a = Agent(out.extend, str(store / "hw.ert"), store=str(store))
    it = Interpreter(str(store / "hw.ert"))
    d = it.input_details()[0]
    x = np.float32(1.3)
    q = int(np.floor(abs(x / d["scale"]) + 0.5)) * (1 if x >= 0 else -1) + d["zero_point"]
    assert talk(a, out, "db load 4%")[0] == "m-[Expecting 4 bytes]"
    talk(a, out, "db %s%%" % np.array([x], "<f4").tobytes().hex())
    talk(a, out, "infer 1 0%")
    raw = [ln for ln in talk(a, out, "ert-output%") if ln.startswith("m-ert-output-")][0]
    it.set_input(0, np.array([[q]], np.int8))
    it.invoke()
    assert bytes.fromhex(raw.split("[")[2][:-1]) == it.get_output(0).tobytes()


# -- upload -----------------------------------------------------------------------------
def upload_cmds(data, crc=None, name="hw", stop_after=None, chunk=200):
    crc = binascii.crc32(data) & 0xFFFFFFFF if crc is None else crc
    cmds = ["ert-upload %d %08x %s%%" % (len(data), crc, name)]
    for k, off in enumerate(range(0, len(data), chunk)):
        if stop_after is not None and k >= stop_after:
            break
        cmds.append("ert-chunk %d %s%%" % (off, data[off:off + chunk].hex()))
    return cmds + ["ert-commit%"]


def run_cmds(a, out, cmds):
    return [talk(a, out, c) for c in cmds]


def test_upload_commit_broken_and_bad_crc_keep_previous(store, ert_np, ert_ref):
    out = bytearray()
    a = Agent(out.extend, str(store / "hw.ert"), store=str(store), kernels="ref")
    path = store / "hw.ert"
    r = run_cmds(a, out, upload_cmds(ert_ref))
    assert r[-1] == ["m-ert-stored-[hw]-[%08x]" % (binascii.crc32(ert_ref) & 0xFFFFFFFF), "m-ready"]
    assert path.read_bytes() == ert_ref
    assert talk(a, out, "ert-commit%") == r[-1]     # a retried commit answers the same
    crc_ref = "%08x" % (binascii.crc32(ert_ref[16:]) & 0xFFFFFFFF)

    def still_ok():
        assert path.read_bytes() == ert_ref
        assert not [f for f in os.listdir(store) if f.endswith(".tmp")]
        info = talk(a, out, "ert-info%")
        assert info[0].startswith("m-ert-model-[hw]-")
        talk(a, out, "db load 1%")
        talk(a, out, "db 07%")
        assert talk(a, out, "infer 1 0%")[-2].startswith("m-results-[")

    # broken transfer: only 3 chunks of 200 bytes arrive, then a commit
    r = run_cmds(a, out, upload_cmds(ert_np, stop_after=3))
    assert r[-1][0].startswith("e-[Upload incomplete: 600 of %d bytes" % len(ert_np))
    still_ok()
    # broken transfer: the host gives up and starts over later (a new upload aborts the old)
    run_cmds(a, out, upload_cmds(ert_np, stop_after=3)[:-1])
    assert talk(a, out, "ert-abort%") == ["m-ert-aborted", "m-ready"]
    still_ok()
    # every byte arrives but the CRC does not match
    r = run_cmds(a, out, upload_cmds(ert_np, crc=0x12345678))
    assert r[-1][0].startswith("e-[CRC32 mismatch")
    still_ok()
    # CRC fine but not a model
    junk = bytes(range(256)) * 4
    r = run_cmds(a, out, upload_cmds(junk))
    assert r[-1][0].startswith("e-[Uploaded model does not load")
    still_ok()
    # a chunk at the wrong offset is refused
    talk(a, out, upload_cmds(ert_np)[0])
    assert talk(a, out, "ert-chunk 400 00%")[0] == "e-[ert-chunk at offset 400, expected 0]"
    talk(a, out, "ert-abort%")
    still_ok()
    assert talk(a, out, "ert-select nosuch%")[0].startswith("e-[cannot select nosuch")
    still_ok()
    assert crc_ref


# -- host link ---------------------------------------------------------------------------
def test_link_retries_garbled_replies(store, ert_ref):
    a = Agent(None, str(store / "hw.ert"), store=str(store), kernels="ref")
    port = InProcPort(a, garble={0, 4})   # garble the first `name` reply and one ert-chunk reply
    dev = Device(Link(ser=port, timeout=0.5))
    assert dev.name() == "edge_rt"
    assert dev.link.garbled == 1
    dev.upload(ert_ref, "hw2", chunk=512)   # upload, chunk 0 (n=2), chunk 1 (n=3), chunk 2 (n=4: garbled)
    assert dev.link.garbled == 2
    assert (store / "hw2.ert").read_bytes() == ert_ref   # the re-sent chunk was not written twice
    always = InProcPort(Agent(None, str(store / "hw.ert")), garble=set(range(10)))
    with pytest.raises(EdgeRTError, match="garbled reply to 'name'.* after 3 tries"):
        Device(Link(ser=always, timeout=0.3)).name()


def test_link_skips_the_rest_of_a_boot_banner(store):
    """The board's boot banner was cut by the first command: its m-init-done arrived before
    the command, its m-ready after. That m-ready must not be taken for the reply."""
    a = Agent(None, str(store / "hw.ert"), store=str(store))
    port = InProcPort(a)
    a.say("m-timestamp-mode-performance")
    a.say("m-init-done")
    late = [b"m-ready\r\n"]
    feed = port.write

    def write(b):
        port.rx += late.pop() if late else b""
        feed(b)
    port.write = write
    dev = Device(Link(ser=port, timeout=0.5))
    assert dev.info().name == "hw" and dev.link.garbled == 0


def test_socket_remote_run_matches_local(socket_agent, store, tmp_path):
    url, agent = socket_agent
    it = Interpreter(str(store / "hw.ert"))
    with Link(url, timeout=2.0) as link:
        dev = Device(link)
        desc = dev.info()
        assert desc.inputs[0].dtype == "int8" and desc.inputs[0].shape == (1, 1)
        for v in (-128, -40, 0, 7, 90, 127):
            dev.load_input(np.array([[v]], np.int8).tobytes(), chunk=31)
            r = dev.infer(2, 1)
            y = dev.outputs(desc)[0]
            it.set_input(0, np.array([[v]], np.int8))
            it.invoke()
            assert np.array_equal(y, it.get_output(0))
            q = int(y.reshape(-1)[0])
            assert r.results == [float(fmt3((q - desc.outputs[0].zero_point) * desc.outputs[0].scale))]
        ops = dev.ops(3)
        assert [o[1] for o in ops] == ["FULLY_CONNECTED"] * 3 and all(o[2] >= 0 for o in ops)
    x = tmp_path / "x.npy"
    np.save(x, np.array([[33]], np.int8))
    assert cli("remote", "run", "--port", url, "--input", x, "--output", tmp_path / "y.npy", "--repeat", 3) == 0
    it.set_input(0, np.load(x))
    it.invoke()
    assert np.array_equal(np.load(tmp_path / "y.npy"), it.get_output(0))


def test_same_seed_same_input_locally_and_on_the_board(socket_agent, store, tmp_path, capsys):
    """`run --seed S` and `remote run --seed S` draw their random input from one generator."""
    from edge_rt.host.cli import main
    url, _ = socket_agent
    outs = []
    for seed in range(6):
        assert main(["run", str(store / "hw.ert"), "--seed", str(seed), "--output", str(tmp_path / "a.npy")]) == 0
        assert cli("remote", "run", "--port", url, "--seed", seed, "--output", tmp_path / "b.npy") == 0
        a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
        assert np.array_equal(a, b), seed
        outs.append(int(a.reshape(-1)[0]))
    assert len(set(outs)) > 1  # the seeds really gave different inputs
    capsys.readouterr()


def test_socket_deploy_and_bench(socket_agent, store, ert_np, tmp_path, capsys):
    url, agent = socket_agent
    other = tmp_path / "fresh.ert"
    other.write_bytes(ert_np)
    assert cli("deploy", other, "--port", url, "--name", "fresh", "--chunk", 300) == 0
    s = capsys.readouterr().out
    assert "deployed" in s and f"file CRC32 0x{binascii.crc32(ert_np):08x} (whole file)" in s
    assert (store / "fresh.ert").read_bytes() == ert_np and agent.model_name == "fresh"
    assert cli("remote", "bench", "--port", url, "--iterations", 20, "--warmup", 2, "--loops", 5) == 0
    s = capsys.readouterr().out
    assert len(re.findall(r"^loop \d/5: 20 inferences", s, re.M)) == 5
    assert "median over 5 loops" in s
    with pytest.raises(EdgeRTError, match="not a valid .ert"):
        cli("deploy", HELLO, "--port", url)


def test_pty_agent_cli(store, tmp_path):
    """`edge-rt agent MODEL --port /dev/pts/N` through pyserial on a real pty; the host holds the master."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    errors = []

    def run():
        try:
            cli("agent", store / "hw.ert", "--port", path)
        except EdgeRTError as e:
            errors.append(e)
    threading.Thread(target=run, daemon=True).start()

    class MasterPort:
        port = path
        in_waiting = 0

        def write(self, b):
            os.write(master, b)

        def read(self, n=1):
            if select.select([master], [], [], 0.05)[0]:
                return os.read(master, 4096)
            return b""

        def reset_input_buffer(self):
            pass

        def close(self):
            pass
    try:
        # wait (however long a loaded machine takes) for the agent's banner: it has opened the port
        seen, deadline = b"", time.monotonic() + 120
        while b"m-ready" not in seen and time.monotonic() < deadline and not errors:
            seen += MasterPort().read()
        assert b"m-ready" in seen, (seen, errors)
        dev = Device(Link(ser=MasterPort(), timeout=3.0))
        assert dev.name() == "edge_rt"
        dev.load_input(bytes([5]))
        r = dev.infer(1, 0)
        it = Interpreter(str(store / "hw.ert"))
        it.set_input(0, np.array([[5]], np.int8))
        it.invoke()
        assert np.array_equal(dev.outputs(dev.info())[0], it.get_output(0))
        assert r.elapsed_us >= 0
    finally:
        os.close(master)
        os.close(slave)


def test_no_answer_is_one_clear_line(tmp_path):
    master, slave = os.openpty()   # a port nobody answers on
    try:
        with pytest.raises(EdgeRTError) as e:
            cli("remote", "run", "--port", os.ttyname(slave), "--timeout", 0.3)
        msg = str(e.value)
        assert "no answer from /dev/pts/" in msg and "within 0.3 s" in msg and "\n" not in msg
    finally:
        os.close(master)
        os.close(slave)
    with pytest.raises(EdgeRTError, match="cannot open serial port /nonexistent/tty"):
        cli("remote", "bench", "--port", "/nonexistent/tty")


def test_cli_help_texts():
    p = parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("agent", "deploy", "remote", "profile"):
        assert sub.choices[name].description
    assert cli("remote") == 2


# -- device safety -----------------------------------------------------------------------
@pytest.mark.parametrize("module", ["agent.py", "agent_store.py"])
def test_agent_is_micropython_safe(module):
    src = open(os.path.join(ROOT, "edge_rt", module)).read()
    tree = ast.parse(src)
    compile(src, module, "exec")
    allowed = {"binascii", "struct", "sys", "time", "os", "gc", "micropython"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for n in node.names:
                assert n.name in allowed, n.name
        elif isinstance(node, ast.ImportFrom):
            mods = [node.module] if node.module else [n.name for n in node.names]
            assert node.level == 1 and set(mods) <= {"format", "errors", "version", "interpreter",
                                                     "agent_store"}, mods
        assert not isinstance(node, (ast.JoinedStr, ast.NamedExpr, ast.AnnAssign)), ast.dump(node)[:80]
        if isinstance(node, ast.FunctionDef):
            assert node.returns is None and all(x.annotation is None for x in node.args.args)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            assert node.attr in ("rename", "remove", "listdir", "uname", "read"), node.attr


MP_PKG = os.path.join(ROOT, "node_modules", "@micropython", "micropython-webassembly-pyscript", "micropython.mjs")
MP_RUNNER = r"""
import { loadMicroPython } from %(pkg)s;
import fs from "fs";
import path from "path";
let out = "";
const mp = await loadMicroPython({ stdout: (t) => { out += t + "\n"; }, stderr: (t) => { out += t + "\n"; } });
function copy(dir, dst) {
  mp.FS.mkdirTree(dst);
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isDirectory()) {
      if (!["compiler", "testing", "host", "np", "__pycache__"].includes(f)) copy(p, dst + "/" + f);
    } else if (f.endsWith(".py")) mp.FS.writeFile(dst + "/" + f, fs.readFileSync(p));
  }
}
copy(%(src)s, "/lib/edge_rt");
mp.FS.mkdirTree("/store");
mp.FS.writeFile("/store/hw.ert", fs.readFileSync(%(model)s));
try { mp.runPython(fs.readFileSync(%(script)s, "utf8")); } catch (e) { out += "EXC " + e + "\n"; }
process.stdout.write(out);
"""
MP_SCRIPT = r"""
import sys, binascii
sys.path.insert(0, "/lib")
import edge_rt.interpreter as I
from edge_rt import reader

class FakeInterp:
    # The agent is what is under test here: a stand-in interpreter echoes the input
    def __init__(self, path, kernels=None):
        f = open(path, "rb"); data = f.read(); f.close()
        self.model = reader.parse(data)
        self.kernel_set = "fake"
        self._run = [self.op for op in self.model.ops]
        self.x = None
    def op(self):
        pass
    def set_input(self, i, data):
        self.x = bytes(data)
    def invoke(self):
        for r in self._run: r()
    def get_output(self, i):
        return bytearray(self.x)
I.Interpreter = FakeInterp
from edge_rt.agent import Agent
buf = bytearray()
a = Agent(buf.extend, "/store/hw.ert", store="/store")
def talk(c):
    buf[:] = b""
    a.feed(c.encode())
    return buf.decode().split("\r\n")[:-1]
assert sys.implementation.name == "micropython"
assert talk("name%") == ["m-name-dut-[edge_rt]", "m-ready"]
assert talk("db load 1%") == ["m-[Expecting 1 bytes]", "m-ready"]
assert talk("db 90%") == ["m-load-done", "m-ready"]
r = talk("infer 3 1%")
assert r[0] == "m-warmup-start-1" and r[3].startswith("m-lap-us-") and r[-1] == "m-ready", r
assert r[-2] == "m-results-[WANT]", r  # the echoed 0x90 = -112, dequantized
assert talk("ert-output%")[0] == "m-ert-output-[0]-[90]"
assert talk("ert-ops 2%")[-1] == "m-ready"
assert talk("ert-version%")[0].startswith("m-ert-version-[")
data = open("/store/hw.ert", "rb").read()
crc = binascii.crc32(data) & 0xFFFFFFFF
for bad in (1, 0):
    talk("ert-upload %d %08x hw2%%" % (len(data), crc ^ bad))
    for off in range(0, len(data), 512):
        talk("ert-chunk %d %s%%" % (off, binascii.hexlify(data[off:off + 512]).decode()))
    r = talk("ert-commit%")
    assert r[0].startswith("e-[CRC32 mismatch" if bad else "m-ert-stored-[hw2]"), r
assert open("/store/hw2.ert", "rb").read() == data
print("MICROPYTHON-AGENT-OK")
"""


@pytest.mark.skipif(not (os.path.exists(MP_PKG) and __import__("shutil").which("node")),
                    reason="MicroPython (WebAssembly port under node) not installed")
def test_agent_runs_on_micropython(tmp_path, ert_np):
    import json
    import subprocess
    (tmp_path / "hw.ert").write_bytes(ert_np)
    t = Interpreter(ert_np).output_details()[0]
    (tmp_path / "t.py").write_text(MP_SCRIPT.replace("WANT", fmt3((-112 - t["zero_point"]) * t["scale"])))
    (tmp_path / "run.mjs").write_text(MP_RUNNER % {k: json.dumps(v) for k, v in dict(
        pkg="file://" + MP_PKG, src=os.path.join(ROOT, "edge_rt"), model=str(tmp_path / "hw.ert"),
        script=str(tmp_path / "t.py")).items()})
    p = subprocess.run(["node", str(tmp_path / "run.mjs")], capture_output=True, text=True, timeout=120)
    assert "MICROPYTHON-AGENT-OK" in p.stdout, p.stdout + p.stderr
