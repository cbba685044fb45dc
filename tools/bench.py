#!/usr/bin/env python3
"""Run the edge_rt latency benchmark from a checkout: tools/bench.py [MODEL.tflite ...] [options].
Same as `edge-rt bench`; see docs/benchmarks.md."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edge_rt.host.cli_bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
