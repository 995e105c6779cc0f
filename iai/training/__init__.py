"""Greedy training: its config (`config`), the per-step losses (`greedy`), the run's state and
steps (`trainer`), a run directory's resume checks and metrics log (`runlog`), stopping on a
signal (`signals`), CPU threads (`threads`), and the entry points `train` and `iterations`
(`loop`).

Import the part you need; `import iai` imports none of them until `iai.train` is called.
"""
