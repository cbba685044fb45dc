#!/usr/bin/env bash
# Run the test suite against numpy 1.x (the main venv has numpy 2.x): edge_rt supports both.
#   bash tools/test_numpy1.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-numpy1
.venv-numpy1/bin/pip install -q "numpy<2" -e '.[test]'
.venv-numpy1/bin/python -c "import numpy; assert numpy.__version__.startswith('1.'), numpy.__version__; print('numpy', numpy.__version__)"
.venv-numpy1/bin/python -m pytest -q -p no:cacheprovider "$@"
