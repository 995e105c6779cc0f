"""Run one probe case and sort what happened: a result its oracle accepts (`right`), an error
iai raises on purpose (`refused`), a result the oracle calls wrong (`wrong`), any other
exception (`foreign`), or no answer within the time bound (`hang`).

Why an alarm and not a thread: a call blocked in the kernel (open() on a FIFO) cannot be
abandoned by a thread, but SIGALRM interrupts it, and the handler's exception ends the call.
"""

import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings

from iai.errors import IAIError

TIMEOUT_S = 60


def generated(examples: int) -> settings:
    """Hypothesis as a case generator, not a test: the same `examples` draws every run
    (derandomized, no database), generated only (no shrinking: nothing fails in the body)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )


class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in the call eats it."""


@dataclass
class Case:
    """`run()` is the call; `check(result)` the oracle: None if right, else why it is wrong.
    `expect_error`: True, the call must raise (a result is wrong whatever it is); False, it
    must answer (an error is wrong); None, either (a result is still checked). `allowed`: the
    exception types that count as refusals besides IAIError (scikit-learn's ValueError,
    TypeError)."""

    surface: str
    name: str
    run: Callable[[], object]
    check: Callable[[object], str | None] | None = None
    expect_error: bool | None = None
    allowed: tuple[type[BaseException], ...] = ()


@dataclass
class Outcome:
    case: Case
    kind: str  # right | refused | wrong | foreign | hang
    detail: str = ""


def _alarm(signum, frame):
    raise Hang


def run(case: Case) -> Outcome:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        result = case.run()
    except Hang:
        return Outcome(case, "hang", f"no answer in {TIMEOUT_S} s")
    except (IAIError, *case.allowed) as e:
        kind = "wrong" if case.expect_error is False else "refused"
        return Outcome(case, kind, f"{type(e).__name__}: {str(e)[:160]}")
    except Exception as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno}"
        return Outcome(case, "foreign", f"{type(e).__name__} at {where}: {str(e)[:160]}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if case.expect_error:
        return Outcome(case, "wrong", f"returned {type(result).__name__} where it must refuse")
    try:
        why = case.check(result) if case.check else None
    except Exception as e:  # an oracle that cannot read the result: the result is malformed
        why = f"the result cannot be checked: {type(e).__name__}: {e}"
    return Outcome(case, "wrong", why) if why else Outcome(case, "right")
