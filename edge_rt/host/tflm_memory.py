"""TFLite Micro's own memory figures for a model, measured by TFLite Micro (host side): the head
("Arena allocation head" of print_allocations(): its greedy planner's activation area, the figure
our arena is compared with), tail and total, and optionally the smallest arena_size it runs with
(bisection). Used by `edge-rt bench` (head only) and tools/memory_bench.py (all of them).

The probe runs in a child process: TFLite Micro prints its allocation records and failures from
C++ to the process's own stdout/stderr, which only a parent can capture reliably. The head does
not depend on arena_size (the greedy plan is the model's), so one load with room to spare gives it.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

_PROBE = r"""
import json, sys
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
bisect = sys.argv[2] == "1"
def ok(n):
    try:
        runtime.Interpreter.from_bytes(data, arena_size=n)
        return True
    except Exception:
        return False
hi = 1024 if bisect else max(len(data) * 4, 1 << 22)
while not ok(hi):
    hi *= 2
    if hi > 1 << 28:
        print("EDGE_RT_PROBE " + json.dumps({"error": "does not load with 256 MiB"}))
        sys.exit(0)
if bisect:
    lo = hi // 2 if hi > 1024 else 0     # lo fails (or is 0), hi works
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
it = runtime.Interpreter.from_bytes(data, arena_size=hi)
it.invoke()                          # the (smallest) arena must also run
sys.stdout.flush()
it.print_allocations()
print("EDGE_RT_PROBE " + json.dumps({"min_arena": hi} if bisect else {}), flush=True)
"""


def tflm_memory(path: str, bisect: bool = True, timeout: float = 300) -> dict:
    """{'head', 'tail', 'total'} (+ 'min_arena' with bisect) from TFLite Micro, or {'error': ...}."""
    try:
        r = subprocess.run([sys.executable, "-c", _PROBE, path, "1" if bisect else "0"], capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"TFLite Micro probe timed out after {timeout:g} s"}
    out = r.stdout + r.stderr
    m = re.search(r"EDGE_RT_PROBE (\{.*\})", out)
    if not m:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"TFLite Micro probe failed: {last}"}
    res = json.loads(m.group(1))
    for key, pat in (("head", r"Arena allocation head (\d+) bytes"),
                     ("tail", r"Arena allocation tail (\d+) bytes"),
                     ("total", r"Arena allocation total (\d+) bytes")):
        mm = re.search(pat, out)
        if mm:
            res[key] = int(mm.group(1))
    return res
