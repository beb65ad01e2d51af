"""Crash everywhere: recovery after a crash at every checkpoint gives the crash-free run.

One crash-free run learns the workflow's checkpoints. Then, for each position (right
after the workflow's row is written, and right after each checkpoint), a run on a fresh
runtime dies there (the store raises ``Crash``, a ``BaseException`` nothing records,
right after the write commits), the runtime is destroyed with every thread it started,
and a fresh runtime over the same store recovers the workflow. The recovered result and
history must equal the crash-free ones, and no step recorded before the crash may run
its body again. Failures are ``CrashEverywhereError``, said in words.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint
from transact._facade import lifecycle
from transact._facade.context import SetWorkflowID
from transact._facade.dbos import DBOS
from transact._facade.launched import runtime, runtime_or_none
from transact._runtime import step_runner
from transact._serialization import deserialize_error
from transact._store.protocol import Store
from transact.errors import DBOSException

__all__ = ["Crash", "CrashEverywhereError", "Position", "Run", "check_position", "clean_run"]


class Crash(BaseException):
    """The executor dies here (a ``BaseException``: no handler records it)."""


class CrashEverywhereError(AssertionError):
    """Recovery after a crash did not match the crash-free run; the message says how."""


@attrs.frozen
class Position:
    """A crash point: 0 is right after the workflow's row is written, ``n`` right after
    its ``n``-th checkpoint (the operation ``name`` at ``function_id``)."""

    index: int
    function_id: int = 0
    name: str = ""

    def words(self) -> str:
        """``after step 3 `charge``` (or ``right after the workflow started``)."""
        if self.index == 0:
            return "right after the workflow started"
        return f"after step {self.function_id} `{self.name}`"


@attrs.frozen
class Run:
    """What one run of the workflow gave: its outcome, history and step bodies run."""

    workflow_id: str
    outcome: tuple[str, Any]  # ("result", value) or ("error", (type name, text))
    history: tuple[tuple[Any, ...], ...]
    positions: tuple[Position, ...]
    value: Any = None  # the result as returned (not normalized)
    error: Exception | None = None

    def returned(self) -> Any:
        """What calling the workflow gave: its result, or its error raised again."""
        if self.error is not None:
            raise self.error
        return self.value


def _invoke(
    workflow: Callable[..., Any], workflow_id: str, args: Sequence[Any], kwargs: Any
) -> Any:
    with SetWorkflowID(workflow_id):
        result = workflow(*args, **kwargs)
        if inspect.isawaitable(result):
            awaited = result

            async def wait() -> Any:
                return await awaited

            return asyncio.run(wait())
        return result


def _outcome(call: Callable[[], Any], workflow_id: str) -> tuple[tuple[str, Any], Any]:
    """The normalized outcome, and the raw result or exception."""
    try:
        value = call()
    except Exception as exc:
        return ("error", (type(exc).__name__, str(exc).replace(workflow_id, "<id>"))), exc
    return ("result", _normal(value, workflow_id)), value


def _normal(value: Any, workflow_id: str) -> Any:
    """``value`` with the run's workflow id replaced (each run has its own id)."""
    if isinstance(value, str):
        return value.replace(workflow_id, "<id>")
    text = repr(value)
    return text.replace(workflow_id, "<id>") if workflow_id in text else value


def _history(store: Store, workflow_id: str) -> tuple[tuple[Any, ...], ...]:
    serializer = runtime().serializer
    rows = []
    for c in store.load_checkpoints(workflow_id):
        if c.error is not None:
            try:
                err = deserialize_error(serializer, c.error)
                value: Any = ("error", type(err).__name__, str(err))
            except Exception:
                value = ("error", c.error)
        else:
            try:
                value = serializer.deserialize(c.output) if c.output is not None else None
            except Exception:
                value = c.output
        if c.function_name in _TIMES:
            value = "<a time>"  # a wake-up time depends on when the run slept
        child = c.child_workflow_id
        rows.append(
            (
                c.function_id,
                c.function_name,
                repr(value).replace(workflow_id, "<id>"),
                child.replace(workflow_id, "<id>") if child else None,
            )
        )
    return tuple(rows)


_TIMES = frozenset({"DBOS.sleep"})


@contextmanager
def _runtime_for(url: str, clock: Any) -> Iterator[Store]:
    """A launched runtime on ``url``; destroyed after, with every thread it started."""
    before = set(threading.enumerate())
    # Strict: an operation replayed with other arguments than recorded is an error.
    DBOS(
        config={"name": "crash-everywhere", "system_database_url": url, "strict_determinism": True}
    )
    if clock is not None:
        lifecycle.configured().clock = clock
    DBOS.launch()
    try:
        yield runtime().store
    finally:
        DBOS.destroy()
        for thread in set(threading.enumerate()) - before:
            if (
                thread is not threading.current_thread() and not thread.daemon
            ) or thread.name.startswith(("transact", "ThreadPoolExecutor", "asyncio")):
                thread.join(10)


@contextmanager
def _bodies(workflow_id: str) -> Iterator[Counter[tuple[int, str]]]:
    """Count the step bodies the workflow runs, by (function id, name)."""
    seen: Counter[tuple[int, str]] = Counter()

    def observe(wid: str, function_id: int, name: str) -> None:
        if wid == workflow_id:
            seen[(function_id, name)] += 1

    step_runner.BODY_OBSERVERS.append(observe)
    try:
        yield seen
    finally:
        step_runner.BODY_OBSERVERS.remove(observe)


def clean_run(
    workflow: Callable[..., Any], args: Sequence[Any], kwargs: Any, url: str, clock: Any
) -> Run:
    """Run the workflow once, crash-free, and learn its checkpoint positions."""
    if runtime_or_none() is not None:
        raise DBOSException(
            "crash_everywhere launches its own runtimes: call it while DBOS is not launched"
        )
    workflow_id = f"crash-{uuid.uuid4().hex[:12]}-clean"
    with _runtime_for(url, clock) as store:
        outcome, raw = _outcome(lambda: _invoke(workflow, workflow_id, args, kwargs), workflow_id)
        history = _history(store, workflow_id)
        checkpoints = enumerate(store.load_checkpoints(workflow_id), start=1)
        positions = (
            Position(0),
            *(Position(i, c.function_id, c.function_name) for i, c in checkpoints),
        )
    error = raw if isinstance(raw, Exception) and outcome[0] == "error" else None
    return Run(workflow_id, outcome, history, positions, None if error else raw, error)


# The store writes that record a checkpoint: name -> (workflow id, whether it wrote one).
_CarriedBy = Callable[[tuple[Any, ...], dict[str, Any], Any], tuple[str, bool]]
_CARRIERS: dict[str, _CarriedBy] = {
    "insert_workflow": lambda a, k, r: (a[0].workflow_id, bool(r[1])),
    "record_checkpoint": lambda a, k, r: (a[0], True),
    "consume_message": lambda a, k, r: (a[0], r is not None),
    "set_event": lambda a, k, r: (a[0], a[4] is not None),
    "write_stream": lambda a, k, r: (a[0], a[4] is not None),
    "send_message": lambda a, k, r: _carried(k),
    "send_messages": lambda a, k, r: _carried(k),
}


def _carried(kwargs: dict[str, Any]) -> tuple[str, bool]:
    carried: tuple[str, Checkpoint] | None = kwargs.get("checkpoint")
    return (carried[0], True) if carried is not None else ("", False)


def _crash_after(store: Store, workflow_id: str, writes: int) -> None:
    """Make ``store`` raise ``Crash`` right after the workflow's ``writes``-th write
    (its row is write 0, each checkpoint one more)."""
    count = [-1]
    for name, carried_by in _CARRIERS.items():
        original = getattr(store, name)

        def wrapped(
            *args: Any, _original: Any = original, _carried_by: _CarriedBy = carried_by, **kw: Any
        ) -> Any:
            result = _original(*args, **kw)
            wid, wrote = _carried_by(args, kw, result)
            if wid == workflow_id and wrote:
                count[0] += 1
                if count[0] == writes:
                    raise Crash()
            return result

        setattr(store, name, wrapped)


def check_position(
    workflow: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Any,
    url: str,
    clock: Any,
    clean: Run,
    position: Position,
    call: str,
) -> None:
    """Crash at ``position``, recover, and compare with ``clean``; raise in words."""
    workflow_id = clean.workflow_id.replace("-clean", f"-crash{position.index}")
    where = f"{call} crashed {position.words()}"
    with _runtime_for(url, clock) as store:
        _crash_after(store, workflow_id, position.index)
        try:
            _invoke(workflow, workflow_id, args, kwargs)
        except Crash:
            pass
        except Exception as exc:
            raise CrashEverywhereError(
                f"{where}: the run failed with {exc!r} before reaching that point; "
                "the crash-free run got there (the workflow is not deterministic)"
            ) from exc
        else:
            raise CrashEverywhereError(
                f"{call} never reached {position.words()[6:]} again: the run ended "
                "first (the workflow is not deterministic)"
            )
        recorded = {c.function_id for c in store.load_checkpoints(workflow_id)}
    with _bodies(workflow_id) as after, _runtime_for(url, clock) as store:
        outcome: tuple[str, Any] = ("pending", None)
        finished = _await_recovery(workflow_id, lambda: any(f in recorded for f, _ in after))
        handle = DBOS.retrieve_workflow(workflow_id)
        if finished:
            outcome, _ = _outcome(lambda: handle.get_result(), workflow_id)
        history = _history(store, workflow_id)
    for (function_id, name), _ in sorted(after.items()):
        if function_id in recorded:
            raise CrashEverywhereError(
                f"{where}, recovery ran `{name}` (step {function_id}) again: its outcome "
                "was recorded before the crash"
            )
    if not finished:
        raise CrashEverywhereError(
            f"{where}, recovery did not finish the workflow within {RECOVERY_SECONDS:g} s"
        )
    if outcome != clean.outcome:
        raise CrashEverywhereError(
            f"{where}, recovery {_said(outcome)}; the crash-free run {_said(clean.outcome)}"
        )
    if history != clean.history:
        raise CrashEverywhereError(f"{where}, {_history_diff(clean.history, history)}")


RECOVERY_SECONDS = 60.0  # module attribute: tests lower it
_ENDED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


def _await_recovery(workflow_id: str, broken: Callable[[], bool]) -> bool:
    """Wait (in real time, bounded) until recovery ends the workflow, or ``broken()``."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline and not broken():
        status = DBOS.get_workflow_status(workflow_id)
        if status is not None and status.status in _ENDED:
            return True
        time.sleep(0.005)
    return False


def _said(outcome: tuple[str, Any]) -> str:
    kind, value = outcome
    if kind == "result":
        return f"returned {value!r}"
    return f"raised {value[0]}: {value[1]}"


def _history_diff(clean: Sequence[tuple[Any, ...]], got: Sequence[tuple[Any, ...]]) -> str:
    for i in range(max(len(clean), len(got))):
        want = clean[i] if i < len(clean) else None
        have = got[i] if i < len(got) else None
        if want == have:
            continue
        if want is None:
            assert have is not None
            return f"the recovered history has an extra step {have[0]} `{have[1]}`"
        if have is None:
            return f"the recovered history ends before step {want[0]} `{want[1]}`"
        if want[:2] != have[:2]:
            return (
                f"the recovered history holds step {have[0]} `{have[1]}` where the "
                f"crash-free one holds step {want[0]} `{want[1]}`"
            )
        return (
            f"step {want[0]} `{want[1]}` recorded {have[2]} after recovery and "
            f"{want[2]} without the crash"
        )
    return "the histories differ"
