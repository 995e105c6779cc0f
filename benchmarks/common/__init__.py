"""What more than one benchmark needs, in one importable place.

The benchmarks are scripts run by path (`python benchmarks/x.py`); Python puts a script's own
folder first on sys.path, so each imports `common...` without editing sys.path, and no script
imports another.
"""
