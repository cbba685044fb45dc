"""Host side of the agent protocol (MLPerf Tiny framing + ert-* extensions) over pyserial.

Link sends one command and collects its reply lines up to "m-ready", with a timeout, and
re-sends idempotent commands when a reply is garbled (undecodable bytes, lines outside the
protocol, or the device reporting an unknown command we did not send). Device wraps the
commands: model upload with CRC32, input download, inference, outputs, per-op timings.
"""
from __future__ import annotations

import binascii
import os
import re
import time
from dataclasses import dataclass, field

from ..errors import EdgeRTError

READY = "m-ready"
_FIELDS = re.compile(r"\[([^\]]*)\]")


class GarbledReply(Exception):
    pass


def open_port(port: str, baud: int = 115200, timeout: float = 0.05):
    """A pyserial port for a device path or a pyserial URL (loop://, socket://host:port, ...)."""
    try:
        import serial
    except ImportError:
        raise EdgeRTError("talking to a board needs pyserial: pip install pyserial") from None
    try:
        return serial.serial_for_url(port, baudrate=baud, timeout=timeout, write_timeout=5)
    except (serial.SerialException, ValueError, OSError) as e:
        # pyserial nests the OSError's repr in its message: keep the cause's words only
        code = getattr(e, "errno", None)
        why = os.strerror(code) if isinstance(code, int) else str(e)
        raise EdgeRTError(f"cannot open serial port {port}: {why}") from None


class Link:
    """One command, one reply. `ser` is any object with read(n), write(b), in_waiting and
    reset_input_buffer() (a pyserial port); given a port name it is opened here."""

    def __init__(self, port=None, baud: int = 115200, timeout: float = 2.0, retries: int = 2,
                 ser=None):
        self.port = port or getattr(ser, "port", None) or "the port"
        self.baud = baud
        self.timeout = timeout
        self.retries = retries
        self.ser = ser if ser is not None else open_port(port, baud)
        self.line_times: list[float] = []   # host perf_counter() at which each reply line ended
        self.garbled = 0                      # replies thrown away and re-requested
        self._banner_open = False             # stale input ended inside a boot banner

    def close(self):
        try:
            self.ser.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _drain(self, quiet: float = 0.05):
        """Discard whatever the device still sends (the tail of a garbled reply)."""
        end = time.perf_counter() + max(quiet, 0.0) * 20
        last = time.perf_counter()
        while time.perf_counter() < end and time.perf_counter() - last < quiet:
            if self.ser.read(getattr(self.ser, "in_waiting", 0) or 1):
                last = time.perf_counter()
        try:
            self.ser.reset_input_buffer()
        except Exception:
            pass

    def _discard_stale(self):
        """Drop what arrived before a command. A boot banner cut after its m-init-done (the
        board printed it while the port opened) still owes its m-ready: remember that, so it
        is not taken for the reply."""
        stale = b""
        try:
            while getattr(self.ser, "in_waiting", 0):
                stale += self.ser.read(self.ser.in_waiting)
        except Exception:
            return
        if b"m-init-done" in stale:
            self._banner_open = READY.encode() not in stale.rsplit(b"m-init-done", 1)[1]

    def _read_reply(self, cmd: str, timeout: float):
        lines, times, buf = [], [], bytearray()
        deadline = time.perf_counter() + timeout
        got_any = False
        while True:
            n = getattr(self.ser, "in_waiting", 0) or 1
            chunk = self.ser.read(n)
            if chunk:
                got_any = True
                buf += chunk
                deadline = max(deadline, time.perf_counter() + min(timeout, 1.0))
                while b"\n" in buf:
                    raw, _, rest = bytes(buf).partition(b"\n")
                    buf = bytearray(rest)
                    try:
                        line = raw.decode("ascii").strip("\r\0 ")
                    except UnicodeDecodeError:
                        raise GarbledReply(f"undecodable bytes {raw[:24]!r}") from None
                    if not line:
                        continue
                    if line == READY:
                        # a boot banner (board reset on open), or the rest of one: skip
                        if "m-init-done" in lines or (self._banner_open and not lines):
                            self._banner_open = False
                            lines, times = [], []
                            continue
                        self.line_times = times
                        return lines
                    lines.append(line)
                    times.append(time.perf_counter())
            elif time.perf_counter() > deadline:
                if not got_any:
                    raise TimeoutError
                raise GarbledReply(f"reply to {cmd!r} stopped before m-ready: {bytes(buf[:40])!r}")

    def send(self, cmd: str, timeout: float | None = None, retry: bool = True) -> list[str]:
        """Send `cmd%` and return the reply lines (without m-ready). Raises EdgeRTError with
        the device's message on an e-[...] reply, or when nothing or garbage answers."""
        tries = 1 + (self.retries if retry else 0)
        tok = cmd.split(" ", 1)[0]
        why = ""
        for attempt in range(tries):
            self._discard_stale()
            self.ser.write((cmd + "%").encode("ascii"))
            try:
                lines = self._read_reply(cmd, self.timeout if timeout is None else timeout)
                errs = []
                for ln in lines:
                    if not (ln.startswith("m-") or ln.startswith("e-")) and tok != "help":
                        raise GarbledReply(f"unexpected line {ln[:40]!r}")
                    if ln.startswith("e-"):
                        m = re.match(r"^e-\[Unknown command: (.*)\]$", ln)
                        if m and m.group(1) != tok:   # the command was corrupted on the way
                            raise GarbledReply(ln)
                        errs.append(ln[3:-1] if ln.endswith("]") else ln[2:])
                if errs:
                    raise EdgeRTError(f"device ({self.port}): {'; '.join(errs)}")
                return lines
            except TimeoutError:
                why = "timeout"
                if attempt == 0:
                    raise EdgeRTError(
                        f"no answer from {self.port} within {self.timeout if timeout is None else timeout:g} s "
                        f"to {tok!r}: is the edge_rt agent running there (edge-rt agent MODEL.ert --port ...; "
                        f"main.py on MicroPython) at {self.baud} baud?") from None
            except GarbledReply as e:
                why = str(e)
            self.garbled += 1
            self._drain()
        raise EdgeRTError(f"garbled reply to {tok!r} from {self.port} after {tries} tries ({why}); "
                          f"check the baud rate ({self.baud}) and the cable")


def fields(line: str) -> list[str]:
    return _FIELDS.findall(line)


def _lines(lines, prefix):
    return [ln for ln in lines if ln.startswith(prefix)]


@dataclass
class TensorDesc:
    index: int
    dtype: str
    shape: tuple
    scale: float
    zero_point: int
    name: str

    @property
    def nbytes(self) -> int:
        import numpy as np
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize


@dataclass
class ModelDesc:
    name: str
    crc32: int
    arena_bytes: int
    n_ops: int
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)


@dataclass
class InferResult:
    n: int
    warmup: int
    start_us: int
    end_us: int
    results: list
    t_start: float   # host perf_counter() at the window's start (t_end - device elapsed time)
    t_end: float     # host perf_counter() when the end timestamp arrived

    @property
    def elapsed_us(self) -> int:
        return self.end_us - self.start_us


class Device:
    """The agent's commands, typed."""

    def __init__(self, link: Link):
        self.link = link

    def name(self) -> str:
        for ln in self.link.send("name"):
            m = re.match(r"^m-name-dut-\[([^\]]+)\]$", ln)
            if m:
                return m.group(1)
        raise EdgeRTError(f"{self.link.port}: no m-name-dut-[...] in the reply to 'name'")

    def version(self) -> dict:
        for ln in self.link.send("ert-version"):
            if ln.startswith("m-ert-version-"):
                f = fields(ln) + [""] * 5
                return {"edge_rt": f[0], "agent": f[1], "platform": f[2], "machine": f[3], "kernels": f[4]}
        raise EdgeRTError(f"{self.link.port}: the device does not speak the ert-* extensions")

    def info(self) -> ModelDesc:
        lines = self.link.send("ert-info")
        head = _lines(lines, "m-ert-model-")
        if not head:
            raise EdgeRTError(f"{self.link.port}: no model description in the reply to 'ert-info'")
        f = fields(head[0])
        d = ModelDesc(f[0], int(f[1], 16), int(f[2]), int(f[3]))
        for kind in ("input", "output"):
            for ln in _lines(lines, f"m-ert-{kind}-"):
                i, dt, shp, sc, zp, nm = fields(ln)
                t = TensorDesc(int(i), dt, tuple(int(x) for x in shp.split(",") if x), float(sc), int(zp), nm)
                getattr(d, kind + "s").append(t)
        return d

    def upload(self, data: bytes, name: str, chunk: int = 256, progress=None) -> int:
        """Store `data` as NAME.ert on the device; returns the CRC32. Chunks carry their offset,
        so a chunk re-sent after a garbled reply is recognised and not written twice."""
        crc = binascii.crc32(data) & 0xFFFFFFFF
        self.link.send(f"ert-upload {len(data)} {crc:08x} {name}")  # restarts cleanly: safe to retry
        try:
            for off in range(0, len(data), chunk):
                piece = data[off:off + chunk]
                self.link.send(f"ert-chunk {off} {piece.hex()}")
                if progress:
                    progress(off + len(piece), len(data))
        except BaseException:
            try:
                self.link.send("ert-abort", retry=False)
            except EdgeRTError:
                pass
            raise
        lines = self.link.send("ert-commit", timeout=max(self.link.timeout, 30.0))
        if not _lines(lines, "m-ert-stored-"):
            raise EdgeRTError(f"{self.link.port}: upload not confirmed: {lines}")
        return crc

    def select(self, name: str):
        self.link.send(f"ert-select {name}", timeout=max(self.link.timeout, 30.0))

    def load_input(self, data: bytes, chunk: int = 256):
        """The runner's `db load N` + `db HEX` sequence; the whole load restarts on a bad reply.
        The MLPerf runner sends 31 bytes a chunk (the reference firmware takes 80-char commands)."""
        for attempt in range(1 + self.link.retries):
            try:
                self.link.send(f"db load {len(data)}", retry=False)
                last = []
                for off in range(0, len(data), chunk):
                    last = self.link.send(f"db {data[off:off + chunk].hex()}", retry=False)
                if "m-load-done" in last:
                    return
                why = f"no m-load-done after {len(data)} bytes"
            except EdgeRTError as e:
                if "garbled" not in str(e) or attempt == self.link.retries:
                    raise
                why = str(e)
        raise EdgeRTError(f"{self.link.port}: input download failed: {why}")

    def infer(self, n: int = 1, warmup: int = 0, timeout: float | None = None) -> InferResult:
        lines = self.link.send(f"infer {n} {warmup}", timeout=timeout or max(self.link.timeout, 60.0))
        times = self.link.line_times
        laps = [(int(m.group(1)), times[i]) for i, ln in enumerate(lines)
                if (m := re.match(r"^m-lap-us-(\d+)$", ln))]
        res = [ln for ln in lines if ln.startswith("m-results-[")]
        if len(laps) < 2 or not res:
            raise EdgeRTError(f"{self.link.port}: incomplete reply to 'infer {n} {warmup}': {lines}")
        vals = [float(x) for x in res[-1][len("m-results-["):-1].split(",") if x.strip()]
        # The window on the host clock ends when the end stamp arrived and lasts what the device
        # measured: the start stamp may sit in a device or USB buffer while the board computes.
        t_end = laps[-1][1]
        t_start = t_end - max(0, laps[-1][0] - laps[-2][0]) / 1e6
        return InferResult(n, warmup, laps[-2][0], laps[-1][0], vals, t_start, t_end)

    def outputs(self, desc: ModelDesc) -> list:
        import numpy as np
        outs = []
        for ln in _lines(self.link.send("ert-output"), "m-ert-output-"):
            i, hx = fields(ln)
            t = desc.outputs[int(i)]
            outs.append(np.frombuffer(bytes.fromhex(hx), np.dtype(t.dtype).newbyteorder("<"))
                        .reshape(t.shape).astype(t.dtype))
        if len(outs) != len(desc.outputs):
            raise EdgeRTError(f"{self.link.port}: got {len(outs)} outputs, model has {len(desc.outputs)}")
        return outs

    def ops(self, k: int = 1) -> list[tuple[int, str, float]]:
        """Per-op (index, type, microseconds): median of k instrumented inferences on the device."""
        lines = self.link.send(f"ert-ops {k}", timeout=max(self.link.timeout, 60.0))
        return [(int(f[0]), f[1], float(f[2])) for f in (fields(ln) for ln in _lines(lines, "m-ert-op-["))]

    def timestamp(self) -> int:
        for ln in self.link.send("timestamp"):
            m = re.match(r"^m-lap-us-(\d+)$", ln)
            if m:
                return int(m.group(1))
        raise EdgeRTError(f"{self.link.port}: no m-lap-us-N in the reply to 'timestamp'")
