"""Host-side tools for boards running edge_rt.agent: the serial link (link.py), latency
profiling (profile.py) and power/energy measurement (power.py). Host only (pyserial, numpy)."""
