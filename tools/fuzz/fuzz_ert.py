"""Coverage-guided fuzzing of .ert loading and invoking (atheris/libFuzzer) with the C kernels
built with AddressSanitizer + UBSan (tools/fuzz/build_asan.sh); run it through tools/fuzz/run.sh,
which preloads the ASan runtime.

usage: python tools/fuzz/fuzz_ert.py ASAN_EXT CORPUS_DIR [libFuzzer flags, e.g. -runs=N -seed=1]

Seeds (written to CORPUS_DIR when it is empty): small single-op and fused models from the C
conformance builders and (unless FUZZ_SEEDS=small) the real models in ../shared/models, packed
for the C set, so each carries its CPROG section (the binders' records stored at pack time): a
mutation of TENSORS or OPS sends the load back to the Python binders (the section's stamp no
longer matches), one of CPROG itself reaches the C validator through the stored records. Each input
is a mutated .ert whose header length and CRC32 are re-stamped (else almost every mutation would
stop at the CRC check: the fuzzer is after what lies behind it). It is loaded with
Interpreter(kernels=None) (C ops bound and validated by the C side) and invoked twice with
deterministic inputs. Any exception other than an edge_rt error (EdgeRTError and subclasses)
is a finding, as is any sanitizer report, crash or timeout. Files whose plan asks for an arena
over ARENA_CAP bytes are loaded only up to parsing: allocating gigabytes is a resource limit,
not a memory-safety question (the Interpreter refuses what it cannot allocate, see below).
Python-level coverage guides the search (reader.py, interpreter.py, kernels/c/bind.py and the
numpy/ref fallbacks are instrumented); the C code is checked by the sanitizers."""
import binascii
import importlib.util
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
ARENA_CAP = 1 << 24


def _load_asan_ext(path):
    """Make edge_rt.kernels.c import the ASan build instead of the in-tree one."""
    spec = importlib.util.spec_from_file_location("edge_rt.kernels.c._ert", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules["edge_rt.kernels.c._ert"] = mod


def seeds():
    """{name: .ert bytes} packed for the C set."""
    import numpy as np  # noqa: F401
    from edge_rt.compiler.pack import pack
    import test_c_conv as cc
    import test_c_kernels as ck
    import test_ops_slice_split as sl
    models = {
        "conv": cc.conv_model((1, 6, 5, 3), 4, 3, seed=1),
        "conv_s2_valid": cc.conv_model((1, 7, 7, 2), 3, 3, 2, 1, "VALID", "RELU", seed=2),
        "dw": cc.conv_model((1, 6, 6, 4), 0, 3, 1, 1, "SAME", "RELU6", depthwise=True, dm=2, seed=3),
        "fc": ck.fc_model(5, 12, 2, "RELU"),
        "fc_chain_softmax": ck.fc_chain([8, 6, 4], ["RELU", "NONE"]),
        "ds": cc._chain("ds", (1, 5, 5, 4)),
        "conv_add": cc._chain("conv_add", (1, 4, 4, 3)),
        "fc_add": cc._chain("fc_add", (2, 6)),
        "strided_slice": sl.slice_model((2, 5, 4, 3), [0, 4, 1, 0], [2, 0, 4, 3], [1, -2, 2, 1]),
        "split_v": sl.split_model((1, 15, 1, 64), -1, None, sizes=[10, -1, 20]),
    }
    out = {k: pack(v, k + ".tflite", kernels="c", check_budget=False).binary for k, v in models.items()}
    shared = os.path.join(ROOT, "..", "shared", "models")
    real = () if os.environ.get("FUZZ_SEEDS") == "small" else (
        "hello_world_int8", "micro_speech_int8", "kws_dscnn_int8", "ad_autoencoder_int8")
    for n in real:
        p = os.path.join(shared, n + ".tflite")
        if os.path.exists(p):
            with open(p, "rb") as f:
                out[n] = pack(f.read(), n + ".tflite", kernels="c", check_budget=False).binary
    return out


def restamp(data):
    """The header's total length and CRC32 made to match the (mutated) bytes."""
    b = bytearray(data)
    if len(b) >= 32:
        struct.pack_into("<I", b, 8, len(b))
        struct.pack_into("<I", b, 12, binascii.crc32(memoryview(b)[16:]) & 0xFFFFFFFF)
    return bytes(b)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    ext, corpus = sys.argv[1], sys.argv[2]
    _load_asan_ext(ext)
    import atheris
    with atheris.instrument_imports(include=["edge_rt"]):
        from edge_rt import reader
        from edge_rt.errors import EdgeRTError
        from edge_rt.interpreter import Interpreter
        import edge_rt.kernels.c  # noqa: F401  (the ASan _ert, checked below)
        import edge_rt.kernels.c.bind  # noqa: F401
        import edge_rt.kernels.np  # noqa: F401
        import edge_rt.kernels.ref  # noqa: F401
    assert edge_rt.kernels.c._ert.__file__ == os.path.abspath(ext) or edge_rt.kernels.c._ert.__file__ == ext
    os.makedirs(corpus, exist_ok=True)
    if not os.listdir(corpus):
        for name, blob in seeds().items():
            with open(os.path.join(corpus, name + ".ert"), "wb") as f:
                f.write(blob)

    def one(data):
        buf = restamp(data)
        try:
            m = reader.parse(buf)
            if m.arena_bytes > ARENA_CAP:
                return
            it = Interpreter(buf, kernels=None)
            for _ in range(2):
                for i, d in enumerate(it.input_details()):
                    t = it.model.tensors[it.model.inputs[i]]
                    it.set_input(i, bytes((k * 7 + 3) & 0xFF for k in range(t.nbytes)) if not
                                 d.get("converted_to") else _float_input(d))
                it.invoke()
                for i in range(len(it.model.outputs)):
                    it.get_output(i)
            it.close()
        except EdgeRTError:
            pass
        except BaseException:  # a finding: report it here (an exception crossing atheris' C++ would
            import traceback    # hit ASan's __cxa_throw interceptor instead) and crash for libFuzzer
            traceback.print_exc()
            sys.stderr.flush()
            os.abort()

    atheris.Setup([sys.argv[0]] + sys.argv[3:] + [corpus], one)
    atheris.Fuzz()


def _float_input(d):
    import numpy as np
    return np.zeros(d["shape"], d["dtype"])


if __name__ == "__main__":
    main()
