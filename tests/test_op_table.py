"""`edge-rt ops` and the README's supported-ops table, both read from the registries (PREPARE,
the prepare modules' DTYPES, kernel_sets.ops_of): the README's table must equal the generated
one (run `python tools/gen_op_table.py` after adding an op, a dtype or a kernel)."""
import json
import os
import subprocess
import sys

from edge_rt import format as F
from edge_rt.compiler import op_table
from edge_rt.compiler.kernel_sets import ops_of
from edge_rt.compiler.pack import supported_ops
from edge_rt.host.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_table_is_generated_from_the_registry():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        doc = f.read()
    assert op_table.markdown() in doc, "README.md ops table is out of date: run python tools/gen_op_table.py"
    assert op_table.replace_in(doc) == doc


def test_gen_op_table_check_mode():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_op_table.py"), "--check"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_rows_follow_the_registries():
    rows = {r["op"]: r for r in op_table.rows()}
    assert sorted(rows) == supported_ops()
    for name, r in rows.items():
        assert r["kernels"] == [ks for ks in F.KERNEL_SETS if F.OP_CODES[name] in ops_of(ks)]
        assert "ref" in r["kernels"], f"{name}: every op has its pure-Python specification"
    assert rows["GATHER"]["dtypes"] == "int8, float32"
    assert rows["CONV_2D"]["dtypes"] == "int8, int16x8"
    # int16 runs on the sets that list it (INT16_OPS); the table says so where those are fewer
    assert rows["CONV_2D"]["int16"] == ["np", "ref"]
    assert "c, np, ref, viper (int16: np, ref)" in op_table.markdown()


def test_ops_cli(capsys):
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    assert "TRANSPOSE" in out and "int8, int16, float32" in out and "np -> ref" in out
    assert main(["ops", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["op"] for r in rows} == set(supported_ops())
    assert main(["ops", "--markdown"]) == 0
    assert capsys.readouterr().out.strip() == op_table.markdown()
