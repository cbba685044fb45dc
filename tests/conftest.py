import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def hello_world_bytes():
    with open(os.path.join(ROOT, "models", "hello_world_int8.tflite"), "rb") as f:
        return f.read()
