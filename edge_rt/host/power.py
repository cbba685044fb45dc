"""Power and energy per inference.

Sources of power readings, each producing a Trace of (host time s, watts):
  - HwmonSensor: a Linux hwmon power monitor (INA219/INA226/... under the ina2xx driver):
    power1_input in microwatts, or in1_input (bus mV) x curr1_input (mA). The root
    (/sys/class/hwmon) is a parameter so tests can point it at a fake tree.
  - SerialMeter: a meter streaming one reading per line over a serial port (parse_reading).
When nothing is measured, estimate_energy() gives an ESTIMATE from op counts (MACs and bytes
moved) and per-board coefficients (boards/*.toml [energy] pj_per_mac, pj_per_byte).

Energy per inference = (integral of power over the inference window - idle power x window
length) / inferences in the window; idle power is the time-weighted mean over an idle window.
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field

from ..errors import EdgeRTError

DEFAULT_HWMON_ROOT = "/sys/class/hwmon"
# Placeholder coefficients for a boards/*.toml without [energy]: order of magnitude of a
# Cortex-M class MCU running int8 kernels (~0.3 nJ per MAC, ~0.1 nJ per byte of SRAM/flash
# traffic incl. core overhead). Not measured; every estimate says which were used.
DEFAULT_PJ_PER_MAC = 300.0
DEFAULT_PJ_PER_BYTE = 100.0


@dataclass
class Trace:
    t: list = field(default_factory=list)
    w: list = field(default_factory=list)

    def add(self, t: float, w: float):
        self.t.append(t)
        self.w.append(w)

    def __len__(self):
        return len(self.t)


def _interp(tr: Trace, x: float) -> float:
    import bisect
    i = bisect.bisect_left(tr.t, x)
    if i <= 0:
        return tr.w[0]
    if i >= len(tr.t):
        return tr.w[-1]
    t0, t1 = tr.t[i - 1], tr.t[i]
    if t1 == t0:
        return tr.w[i]
    return tr.w[i - 1] + (tr.w[i] - tr.w[i - 1]) * (x - t0) / (t1 - t0)


def integrate(tr: Trace, t0: float, t1: float) -> float:
    """Joules over [t0, t1]: trapezoids through the samples, linearly interpolated at the ends."""
    if len(tr) == 0:
        raise EdgeRTError("no power samples were recorded")
    if t1 <= t0:
        return 0.0
    pts = [(t0, _interp(tr, t0))] + [(t, w) for t, w in zip(tr.t, tr.w) if t0 < t < t1] \
        + [(t1, _interp(tr, t1))]
    return sum((b[0] - a[0]) * (a[1] + b[1]) / 2.0 for a, b in zip(pts, pts[1:]))


def mean_power(tr: Trace, t0: float, t1: float) -> float:
    return integrate(tr, t0, t1) / (t1 - t0) if t1 > t0 else _interp(tr, t0)


def energy_per_inference(tr: Trace, window: tuple, count: int, idle_window: tuple | None = None,
                         idle_w: float | None = None) -> dict:
    t0, t1 = window
    if count <= 0:
        raise EdgeRTError("energy per inference needs at least one inference in the window")
    if idle_w is None:
        idle_w = mean_power(tr, *idle_window) if idle_window else 0.0
    joules = integrate(tr, t0, t1)
    inside = sum(1 for t in tr.t if t0 <= t <= t1)
    net = joules - idle_w * (t1 - t0)
    return {"energy_uj": net / count * 1e6, "window_s": t1 - t0, "inferences": count,
            "avg_power_w": joules / (t1 - t0) if t1 > t0 else 0.0, "idle_power_w": idle_w,
            "samples_in_window": inside, "measured": True,
            "warning": None if inside >= 2 else "fewer than 2 power samples in the inference "
            "window; run more inferences per window or sample faster"}


class HwmonSensor:
    """First hwmon device under `root` with power1_input, or in1_input and curr1_input.
    `device` picks one by hwmon name (the `name` file, e.g. ina219) or directory (hwmon3)."""

    def __init__(self, root: str | None = None, device: str | None = None):
        root = root or DEFAULT_HWMON_ROOT
        if not os.path.isdir(root):
            raise EdgeRTError(f"hwmon root {root} does not exist (no power sensor driver loaded?)")
        dirs = [root] if _has(root, "power1_input") or _has(root, "curr1_input") else \
            [os.path.join(root, d) for d in sorted(os.listdir(root))]
        seen = []
        for d in dirs:
            name = _read(os.path.join(d, "name"), "").strip()
            seen.append(f"{os.path.basename(d)}({name or '?'})")
            if device and device not in (name, os.path.basename(d)):
                continue
            if _has(d, "power1_input"):
                self.path, self.name, self.mode = d, name, "power"
                return
            if _has(d, "in1_input") and _has(d, "curr1_input"):
                self.path, self.name, self.mode = d, name, "vi"
                return
        raise EdgeRTError(f"no hwmon power sensor (power1_input, or in1_input + curr1_input)"
                          f"{' named ' + device if device else ''} under {root}; found: "
                          f"{', '.join(seen) or 'nothing'}")

    def read(self) -> float:
        """Watts."""
        try:
            if self.mode == "power":
                return int(_read(os.path.join(self.path, "power1_input"))) / 1e6
            mv = int(_read(os.path.join(self.path, "in1_input")))
            ma = int(_read(os.path.join(self.path, "curr1_input")))
            return mv * ma / 1e6
        except (OSError, ValueError) as e:
            raise EdgeRTError(f"reading {self.path}: {e}") from None

    def describe(self) -> str:
        what = "power1_input" if self.mode == "power" else "in1_input x curr1_input"
        return f"hwmon {self.path} ({self.name or 'unnamed'}, {what})"


def _has(d, f):
    return os.path.isfile(os.path.join(d, f))


def _read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        if default is not None:
            return default
        raise


class _Recorder:
    """A trace filled by a background thread running self._step() until stop(); a subclass
    says which exceptions end the recording (CATCH) and whether that fails it (_failure)."""
    CATCH = (Exception,)

    def _init_recording(self):
        self.trace = Trace()
        self.error = None
        self._stop = threading.Event()
        self._thread = None

    def _loop(self):
        try:
            while not self._stop.is_set():
                self._step()
        except self.CATCH as e:
            self.error = e

    def start(self):
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Trace:
        self._stop.set()
        if self._thread:
            self._thread.join(2.0)
        failure = self._failure()
        if failure is not None:
            raise failure
        return self.trace


class Sampler(_Recorder):
    """Polls a sensor (read() -> watts) in a thread every `interval` seconds."""
    CATCH = (EdgeRTError,)

    def __init__(self, sensor, interval: float = 0.001, clock=time.perf_counter):
        self.sensor, self.interval, self.clock = sensor, interval, clock
        self._init_recording()

    def sample_once(self):
        w = self.sensor.read()
        self.trace.add(self.clock(), w)

    def _step(self):
        self.sample_once()
        self._stop.wait(self.interval)

    def start(self):
        self.sample_once()   # fail here, not silently in the thread
        return _Recorder.start(self)

    def _failure(self):
        return self.error

    def describe(self):
        return self.sensor.describe()


_UNITS = {"w": 1.0, "mw": 1e-3, "uw": 1e-6, "µw": 1e-6, "v": 1.0, "mv": 1e-3, "a": 1.0, "ma": 1e-3,
          "ua": 1e-6, "µa": 1e-6}
_NUM = re.compile(r"(?<![\w.])([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(mw|uw|µw|w|mv|v|ma|ua|µa|a)?\b", re.I)


def parse_reading(line: str):
    """Watts from one meter line, or None for a line that is not a reading. Accepted:
    "0.532" (watts), "532 mW", "850uW", "1.2 W", and a voltage/current pair
    "3.30 V, 0.120 A" / "3300mV 120mA" / "3.3,0.12" (two bare numbers: volts, amps)."""
    vals = [(float(m.group(1)), (m.group(2) or "").lower()) for m in _NUM.finditer(line)]
    if not vals:
        return None
    units = [u for _, u in vals]
    for v, u in vals:
        if u in ("w", "mw", "uw", "µw"):
            return v * _UNITS[u]
    volts = [v * _UNITS[u] for v, u in vals if u in ("v", "mv")]
    amps = [v * _UNITS[u] for v, u in vals if u in ("a", "ma", "ua", "µa")]
    if volts and amps:
        return volts[0] * amps[0]
    if len(vals) == 1 and not units[0]:
        return vals[0][0]
    if len(vals) == 2 and not any(units):
        return vals[0][0] * vals[1][0]
    return None


class SerialMeter(_Recorder):
    """A power meter streaming text lines; each reading is stamped with the host clock at
    arrival. `port` is a pyserial port name/URL or an open port object."""

    def __init__(self, port, baud: int = 115200, clock=time.perf_counter):
        if isinstance(port, str):
            from .link import open_port
            self.name = port
            port = open_port(port, baud)
        else:
            self.name = getattr(port, "port", "meter")
        self.ser, self.clock = port, clock
        self.bad_lines = 0
        self._buf = b""
        self._init_recording()

    def read_available(self) -> int:
        """Read what the port has, parse complete lines; returns readings added."""
        data = self.ser.read(getattr(self.ser, "in_waiting", 0) or 1)
        if not data:
            return 0
        self._buf += data
        added = 0
        while b"\n" in self._buf:
            raw, self._buf = self._buf.split(b"\n", 1)
            w = parse_reading(raw.decode("utf-8", "replace"))
            if w is None:
                self.bad_lines += bool(raw.strip())
                continue
            self.trace.add(self.clock(), w)
            added += 1
        return added

    def _step(self):   # a closed or unplugged port ends the recording, keeping what was read
        self.read_available()

    def _failure(self):
        if self.error is not None and not len(self.trace):
            return EdgeRTError(f"power meter {self.name}: {self.error}")
        return None

    def describe(self):
        return f"serial power meter {self.name}"


def open_source(spec: str, hwmon_root: str | None = None, hwmon_device: str | None = None,
                interval: float = 0.001):
    """'hwmon' or 'serial:PORT[@BAUD]' -> a started-on-demand sampler (start()/stop())."""
    if spec == "hwmon":
        return Sampler(HwmonSensor(hwmon_root, hwmon_device), interval)
    if spec.startswith("serial:"):
        port, _, baud = spec[7:].partition("@")
        return SerialMeter(port, int(baud) if baud else 115200)
    raise EdgeRTError(f"unknown power source {spec!r}; use 'hwmon' or 'serial:PORT[@BAUD]'")


def measure(source, workload, idle_s: float = 0.5) -> dict:
    """Sample `source` over an idle period, then while workload() runs. workload() returns
    (t_start, t_end, inferences) in host perf_counter() seconds."""
    source.start()
    try:
        i0 = time.perf_counter()
        time.sleep(idle_s)
        i1 = time.perf_counter()
        t0, t1, n = workload()
        time.sleep(min(0.1, idle_s))
    finally:
        tr = source.stop()
    r = energy_per_inference(tr, (t0, t1), n, idle_window=(i0, i1))
    r.update(trace=tr, window=(t0, t1), idle_window=(i0, i1), source=source.describe())
    return r


def estimate_energy(model, board: str | None = None) -> dict:
    """ESTIMATE of energy per inference of a reader.Model from op counts."""
    from .profile import op_costs
    costs = op_costs(model)
    macs = sum(c["macs"] for c in costs)
    nbytes = sum(c["bytes"] for c in costs)
    board = board or model.meta.get("board")
    coeff, note = {}, ""
    try:
        from ..compiler.boards import load_board
        b = load_board(board)
        coeff = b.raw.get("energy") or {}
        where = f"boards/{b.name}.toml [energy]"
    except EdgeRTError as e:
        where = f"board {board!r} ({e})"
    pj_mac = float(coeff.get("pj_per_mac", DEFAULT_PJ_PER_MAC))
    pj_byte = float(coeff.get("pj_per_byte", DEFAULT_PJ_PER_BYTE))
    if "pj_per_mac" not in coeff or "pj_per_byte" not in coeff:
        note = (f"no pj_per_mac/pj_per_byte in {where}: default placeholders used "
                f"({DEFAULT_PJ_PER_MAC:g} pJ/MAC, {DEFAULT_PJ_PER_BYTE:g} pJ/byte)")
    uj = (macs * pj_mac + nbytes * pj_byte) * 1e-6
    return {"energy_uj": uj, "macs": macs, "bytes": nbytes, "pj_per_mac": pj_mac,
            "pj_per_byte": pj_byte, "board": board, "measured": False, "note": note,
            "label": "ESTIMATE from op counts (not measured)"}


def format_energy(r: dict) -> str:
    if not r.get("measured"):
        s = (f"energy per inference: {r['energy_uj']:,.2f} uJ  [{r['label']}: {r['macs']:,} MACs x "
             f"{r['pj_per_mac']:g} pJ + {r['bytes']:,} B x {r['pj_per_byte']:g} pJ, board {r['board']}]")
        return s + (f"\n  note: {r['note']}" if r["note"] else "")
    s = (f"energy per inference: {round(r['energy_uj'], 2) + 0.0:,.2f} uJ measured ({r['source']}): average "
         f"{r['avg_power_w'] * 1e3:,.1f} mW over {r['window_s']:.3f} s, idle {r['idle_power_w'] * 1e3:,.1f} mW, "
         f"{r['inferences']} inferences, {r['samples_in_window']} samples in the window")
    return s + (f"\n  warning: {r['warning']}" if r.get("warning") else "")


def plot_trace(tr: Trace, window: tuple, path: str, idle_window: tuple | None = None,
               title: str = "power during the benchmark"):
    from .profile import need_matplotlib
    plt = need_matplotlib()
    base = tr.t[0] if tr.t else 0.0
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot([t - base for t in tr.t], [w * 1e3 for w in tr.w], lw=0.8, color="#4c72b0")
    ax.axvspan(window[0] - base, window[1] - base, color="#dd8452", alpha=0.25, label="inference window")
    if idle_window:
        ax.axvspan(idle_window[0] - base, idle_window[1] - base, color="#999999", alpha=0.2,
                   label="idle baseline")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("power (mW)")
    ax.set_title(title)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
