"""The cases of `benchmarks/untrusted_probe.py`, one module per surface, and the harness that
runs each and sorts its outcome."""
