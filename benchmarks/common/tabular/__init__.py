"""benchmarks/tabular.py's sections, one module each, and what they share (the tables, the
estimators, one-thread and memory measurement)."""
