"""OpenMP's wait policy, chosen before torch loads its OpenMP runtime, which reads it once.

Why: an idle OpenMP thread spins by default, waiting for the next parallel region. Two jobs
whose threads spin on the same cores take each other's time slices: on the 2-core machine this
project is measured on, a two-thread training beside one other job ran 8.9 x slower than a
one-thread one, and 1.0 x with OMP_WAIT_POLICY=PASSIVE, whose idle threads sleep
(benchmarks/results/threads/). So iai sets PASSIVE when it is imported before torch and the
caller has not chosen a policy; imported after torch, it can change nothing, and says so in
`PASSIVE` for the default thread count to follow (iai.training.threads).
"""

import os
import sys

if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# whether torch's OpenMP threads in this process sleep when idle (as far as the environment
# says: torch read it when it loaded)
PASSIVE = os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE"
