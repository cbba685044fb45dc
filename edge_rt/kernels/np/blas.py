# BLAS thread control for the numpy kernel set (CPython only; never imported on MicroPython).
# Single-threaded by default: the GEMMs here are small, and a second BLAS thread mostly adds
# wake-up latency and contends with the caller on a 2-4 core board.

_limiter = None
_controller = None  # threadpoolctl's view of the loaded BLAS libraries: finding them costs
                    # ~0.5 ms, so it is made once (numpy's BLAS is loaded by then)


def set_threads(n):
    """Limit numpy's BLAS to n threads for this process; returns a description of what was
    done (threadpoolctl when installed, else a note that only env vars apply)."""
    global _limiter, _controller
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "threadpoolctl not installed: set OPENBLAS_NUM_THREADS=%d before starting Python" % n
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController
            _controller = ThreadpoolController()
        _limiter = _controller.limit(limits=n, user_api="blas")
    except ImportError:  # threadpoolctl < 3
        _limiter = threadpool_limits(limits=n, user_api="blas")
    return "BLAS limited to %d thread(s)" % n


def info():
    """[(library, version, architecture, threads)] of the BLAS libraries numpy loaded."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [(d.get("internal_api"), d.get("version"), d.get("architecture"), d.get("num_threads"))
            for d in threadpool_info() if d.get("user_api") == "blas"]
