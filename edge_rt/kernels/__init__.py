# Kernel sets: ref/ (pure Python, the readable specification, runs on MicroPython) and
# np/ (numpy, fast). Same file names in each set and an explicit KERNELS table per set.
