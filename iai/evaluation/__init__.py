"""Evaluation beside references: its config, the run, the tuned optimizers, results, reports.

Import the part you need; `import iai` imports none of them.
"""
