"""The real models in ../shared/models (relative to the repository root), for tests and tools."""
from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED_MODELS = os.path.join(ROOT, "..", "shared", "models")


def load(name: str) -> bytes:
    """The bytes of ../shared/models/<name>.tflite; inside pytest a missing file skips the test."""
    path = os.path.join(SHARED_MODELS, name + ".tflite")
    if not os.path.exists(path):
        import pytest
        pytest.skip(f"{path} not present")
    with open(path, "rb") as f:
        return f.read()
