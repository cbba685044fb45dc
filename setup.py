"""Build script. Everything is declared in setup.cfg except the package list: the repository's
top-level boards/ (the source of truth for board definitions) is shipped inside the package as
edge_rt/boards/*.toml, which setup.cfg's `packages = find:` cannot express."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["edge_rt", "edge_rt.*"]) + ["edge_rt.boards"],
    package_dir={"edge_rt.boards": "boards"},
    # C sources ship with any package that has them (a kernel set compiled on the board)
    package_data={"edge_rt.boards": ["*.toml"], "": ["*.c", "*.h"]},
)
