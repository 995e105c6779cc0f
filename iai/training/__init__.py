"""Greedy training: its config (`config`), the per-step losses (`greedy`), the loop (`loop`).

Import the part you need; `import iai` imports none of them until `iai.train` is called.
"""
