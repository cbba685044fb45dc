# Tiny shim so device modules run on CPython and MicroPython alike.
try:
    from micropython import const  # noqa: F401
    MICROPYTHON = True
except ImportError:  # CPython
    MICROPYTHON = False

    def const(x):
        return x

try:
    import numpy  # noqa: F401
    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False
