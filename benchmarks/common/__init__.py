"""What more than one benchmark needs, in one importable place.

The benchmarks are scripts run by path (`python benchmarks/x.py`); Python searches a script's
own folder first for imports, so each imports `common...` without editing the import path, and
no script imports another.
"""
