"""Rewrite the README's supported-ops table from the registries (edge_rt.compiler.op_table),
between its markers. `python tools/gen_op_table.py` rewrites README.md; `--check` exits 1 if
it is out of date (tests/test_op_table.py checks the same)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edge_rt.compiler import op_table  # noqa: E402

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def main(argv) -> int:
    with open(README, encoding="utf-8") as f:
        doc = f.read()
    new = op_table.replace_in(doc)
    if "--check" in argv:
        if new != doc:
            print("README.md: the ops table is out of date; run python tools/gen_op_table.py", file=sys.stderr)
            return 1
        return 0
    if new != doc:
        with open(README, "w", encoding="utf-8") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
