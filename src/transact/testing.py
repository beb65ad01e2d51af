"""Helpers for testing your own workflows.

- :class:`FakeClock`: durable sleeps and timeouts take no real time.
- :func:`launched`: a launched ``DBOS`` for the length of a ``with`` block, on any store
  (``memory://<name>`` needs no files and keeps its data across relaunches in one
  process, so recovery can be tested in-process).
- :func:`run_program`: drive a ``transact.fx`` generator workflow against an expected
  list of effects and their results, with no store at all.
- :func:`crash_everywhere` (and its Hypothesis form :func:`crash_cases`): crash the
  executor right after every checkpoint of a workflow, recover, and check that recovery
  gives the crash-free result and history without running a recorded step again.
- :func:`export_history` / :func:`import_history` / :func:`replay_history`: a workflow's
  history as versioned JSON, loaded into a database, or replayed from the file against
  the code as it is now (no database), with the first divergence as a structured diff.
- :func:`replay`: re-run a finished workflow's recorded history against your code as it
  is now (after a change, say) and fail on non-determinism or a different result, with
  nothing executed or written.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from transact._core.effects import Effect
from transact._facade import lifecycle
from transact._facade.config import DBOSConfig
from transact._facade.dbos import DBOS
from transact._facade.launched import runtime
from transact._runtime.replayer import ReplayDivergence
from transact._runtime.replayer import replay as _replay
from transact._testing import histories
from transact._testing.crash import Crash, CrashEverywhereError
from transact._testing.fake_clock import FakeClock
from transact._testing.properties import CrashCase, crash_cases, crash_everywhere
from transact._testing.replaying import HistoryDivergence, replay_history

R = TypeVar("R")

__all__ = [
    "Crash",
    "CrashCase",
    "CrashEverywhereError",
    "FakeClock",
    "HistoryDivergence",
    "ReplayDivergence",
    "crash_cases",
    "crash_everywhere",
    "export_history",
    "import_history",
    "launched",
    "replay",
    "replay_history",
    "run_program",
]


def replay(workflow_id: str) -> Any:
    """Replay a finished workflow of the launched ``DBOS`` against the current code.

    Raises ``transact.errors.NondeterminismError`` when the code issues an operation the
    history does not hold, ``ReplayDivergence`` when it ends differently; returns the
    replayed result. No step runs and nothing is written.
    """
    return _replay(runtime(), workflow_id)


def export_history(workflow_id: str, path: str | Path | None = None) -> dict[str, Any]:
    """The history of a workflow of the launched ``DBOS`` (inputs, every checkpoint with
    its output or error, events, children) as a versioned JSON document; also written
    to ``path`` when given (what ``transact workflow export ID`` prints)."""
    rt = runtime()
    document = histories.export_history(rt.store, workflow_id, rt.serializer)
    if path is not None:
        histories.write_history(document, path)
    return document


def import_history(history: str | Path | dict[str, Any]) -> str:
    """Load a history (a file or a document) into the launched ``DBOS``'s database;
    returns its workflow id (``transact workflow import FILE`` does the same)."""
    document = histories.read_history(history) if not isinstance(history, dict) else history
    histories.check_document(document)
    return histories.import_history(runtime().store, document)


@contextmanager
def launched(config: DBOSConfig, *, clock: FakeClock | None = None) -> Iterator[type[DBOS]]:
    """Create and launch ``DBOS`` for the block, then destroy it (registry kept)."""
    DBOS(config=config)
    if clock is not None:
        lifecycle.configured().clock = clock
    DBOS.launch()
    try:
        yield DBOS
    finally:
        DBOS.destroy()


def run_program(
    program: Generator[Effect[Any], Any, R], script: Sequence[tuple[Effect[Any], Any]]
) -> R:
    """Run a generator workflow against ``script``: a list of (expected effect, result).

    Each effect the program yields must equal the next expected one; the paired result is
    sent back in (an exception result is thrown in instead). Returns what the program
    returns; raises ``AssertionError`` on a different or a missing effect.
    """
    step = 0
    reply: Any = None
    throw: BaseException | None = None
    while True:
        try:
            effect = program.send(reply) if throw is None else program.throw(throw)
        except StopIteration as stop:
            if step != len(script):
                raise AssertionError(
                    f"program returned after {step} effects; the script expects {len(script)}"
                ) from None
            result: R = stop.value
            return result
        if step >= len(script):
            raise AssertionError(f"unexpected effect #{step + 1}: {effect!r}")
        expected, outcome = script[step]
        if effect != expected:
            raise AssertionError(f"effect #{step + 1} was {effect!r}, expected {expected!r}")
        step += 1
        if isinstance(outcome, BaseException):
            reply, throw = None, outcome
        else:
            reply, throw = outcome, None
