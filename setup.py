"""Build of the optional C kernel set (edge_rt/kernels/c): the metadata is in setup.cfg.

The extension is compiled by the system C compiler during `pip install`; if that fails (no
compiler, e.g. CC=false, or no Python headers) one warning is printed and the install goes on
without it, so the numpy kernel set runs instead. SIMD variants are selected at run time, so
no -march flag is passed: one build runs on every CPU of its architecture.

The package list is explicit here too: the repository's top-level boards/ (the source of truth for
board definitions) is shipped inside the package as edge_rt/boards/*.toml, which setup.cfg's
`packages = find:` cannot express."""
import os

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

C_DIR = os.path.join("edge_rt", "kernels", "c")
SOURCES = ["_ert.c", "runner.c", "cpu.c", "fully_connected.c", "fc_add.c", "conv_2d.c", "conv_add.c",
           "depthwise_conv_2d.c", "ds_conv.c"]
HEADERS = ["ert_kernels.h", "_ert_load.h", "_ert_parse.h", "_ert_crc.h", "ert_fixedpoint.h", "ert_simd.h",
           "ert_gemm.h", "ert_pdot.h", "ert_conv.h", "ert_depthwise.h", "ert_dw1.h", "ert_elem.h", "ert_pool.h",
           "ert_table.h", "ert_copy.h"]
# the element-wise, pooling and data-movement ops
SOURCES += ["average_pool_2d.c", "max_pool_2d.c", "add.c", "sub.c", "mul.c", "softmax.c", "logistic.c", "tanh.c",
            "hard_swish.c", "lookup.c", "relu.c", "relu6.c", "leaky_relu.c", "quantize.c", "dequantize.c",
            "mean.c", "pad.c", "concatenation.c", "reshape.c", "squeeze.c", "strided_slice.c", "split.c",
            "split_v.c"]


class OptionalBuildExt(build_ext):
    """build_ext that warns and continues when the C kernels cannot be compiled."""

    def run(self):
        try:
            super().run()
        except Exception as e:  # noqa: BLE001 - any compiler/setup failure means "no C set"
            self._warn(e)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as e:  # noqa: BLE001
            self._warn(e)

    @staticmethod
    def _warn(e):
        print(f"WARNING: edge_rt C kernels not built ({type(e).__name__}: {e}); "
              "the numpy kernel set will be used")


setup(
    ext_modules=[Extension("edge_rt.kernels.c._ert", [os.path.join(C_DIR, s) for s in SOURCES],
                           include_dirs=[C_DIR], extra_compile_args=["-O3", "-std=gnu99"],
                           # the kernels live in the headers too: a header change rebuilds
                           depends=[os.path.join(C_DIR, h) for h in HEADERS],
                           optional=True)],
    cmdclass={"build_ext": OptionalBuildExt},
    packages=find_packages(include=["edge_rt", "edge_rt.*"]) + ["edge_rt.boards"],
    package_dir={"edge_rt.boards": "boards"},
    # the C sources ship with the package (a kernel set compiled on the board)
    package_data={"edge_rt.boards": ["*.toml"], "": ["*.c", "*.h"]},
)
