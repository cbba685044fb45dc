# Device-safe error classes. Every problem a user can cause (bad file, bad input,
# unsupported model) surfaces as one of these with a one-line message naming the place.


class EdgeRTError(Exception):
    """Base class of every error edge_rt raises on purpose."""


class ModelFormatError(EdgeRTError):
    """The .ert binary is truncated, corrupted, of another version or inconsistent."""


class UnsupportedModelError(EdgeRTError):
    """The source model uses ops, dtypes or options edge_rt cannot run bit-exactly.

    `problems` holds one line per problem; str() joins them."""

    def __init__(self, problems, supported=None):
        self.problems = list(problems)
        lines = list(self.problems)
        if supported:
            lines.append("supported ops: " + ", ".join(supported))
        EdgeRTError.__init__(self, "\n".join(lines))


class InputError(EdgeRTError):
    """set_input()/get_output() called with a wrong index, shape or dtype."""


class BudgetError(EdgeRTError):
    """The model or its arena does not fit the board's budget."""
