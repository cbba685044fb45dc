"""edge_rt: run int8 neural networks on edge devices, bit-exact, from one static arena."""
from .errors import (BudgetError, EdgeRTError, InputError, ModelFormatError,  # noqa: F401
                     UnsupportedModelError)
from .interpreter import Interpreter  # noqa: F401
from .version import __version__  # noqa: F401
