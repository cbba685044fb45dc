// Run Python code on real MicroPython (the WebAssembly port, npm package
// @micropython/micropython-webassembly-pyscript) inside a fixed-size heap.
//
//   node tools/mpy_runner.mjs JOB.json
//
// JOB: {"heapsize": bytes, "fixed_heap": true, "files": [[mp_path, host_path], ...],
//       "steps": ["python source", ...]}
// Prints one JSON object: {"ok", "stdout", "error", "failed_step", "heap_totals"}.
//
// 1. MicroPython boots with a GC heap of `heapsize` bytes.
// 2. fixed_heap: this port grows its heap on demand (MICROPY_GC_SPLIT_HEAP_AUTO). We make
//    growth impossible, as on a microcontroller: WebAssembly memory may no longer grow and
//    the C allocator is drained, leaving a small reserve for the JS glue's own buffers
//    (each step's source text) that is far smaller than any heap area the GC would add.
// 3. Files are copied into MicroPython's filesystem (directories created as needed).
// 4. Each step runs as its own top-level runPython call. This port collects garbage only
//    between top-level calls (it cannot scan the WebAssembly stack), so a step's garbage
//    stays allocated until the step ends: splitting work into steps is what lets the GC
//    reclaim it, and a step that fits here fits a device that collects at any time.
// 5. Lines "GC: total: N" printed by micropython.mem_info() are collected in heap_totals
//    (the heap's size: it must stay at the booted size).
import fs from "fs";
import path from "path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = [];
const heapTotals = [];
const emit = (line) => {
  const m = /^GC: total: (\d+)/.exec(line);
  if (m) heapTotals.push(Number(m[1]));
  out.push(line);
};
const quietErr = console.error;
console.error = (...a) => {  // emscripten reports each refused heap growth (expected with fixed_heap)
  const s = String(a[0]);
  if (!s.startsWith("growMemory:") && !s.startsWith("Failed to grow the heap")) quietErr(...a);
};
const mp = await loadMicroPython({ heapsize: job.heapsize, stdout: emit, stderr: emit });

if (job.fixed_heap) {
  const M = mp._module;
  WebAssembly.Memory.prototype.grow = function () { throw new RangeError("fixed heap"); };
  const reserve = M._malloc(job.reserve || 96 * 1024);
  for (let size = 1 << 24; size >= 16; size >>= 1) {
    while (M._malloc(size)) { /* drained: these blocks are never freed */ }
  }
  M._free(reserve);
}

for (const [mpPath, hostPath] of job.files || []) {
  const dir = path.posix.dirname(mpPath);
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += "/" + part;
    try { mp.FS.mkdir(cur); } catch (e) { /* exists */ }
  }
  mp.FS.writeFile(mpPath, fs.readFileSync(hostPath));
}

let error = null;
let failedStep = -1;
const steps = job.steps || [];
for (let i = 0; i < steps.length; i++) {
  try {
    mp.runPython(steps[i]);
  } catch (e) {
    error = String(e && e.message ? e.message : e);
    failedStep = i;
    break;
  }
}
process.stdout.write(JSON.stringify({
  ok: error === null, stdout: out.join("\n"), error, failed_step: failedStep, heap_totals: heapTotals,
}) + "\n");
