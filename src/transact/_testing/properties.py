"""``crash_everywhere`` and its Hypothesis form ``crash_cases``, typed through the
workflow so that the crash-free result keeps the workflow's result type."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import attrs

from transact._runtime.clock import Clock
from transact._testing.crash import check_position, clean_run
from transact._testing.fake_clock import FakeClock

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

T = TypeVar("T")


def _call_text(workflow: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{getattr(workflow, '__name__', 'workflow')}({', '.join(shown)})"


def _default_store() -> str:
    return f"memory://crash-everywhere-{uuid.uuid4().hex}"


def _default_clock(clock: Clock | None) -> Clock:
    if clock is not None:
        return clock
    return FakeClock(auto_advance=True)


# Typed through the workflow's result (a ParamSpec cannot also take ``store`` and
# ``clock`` by keyword, so the workflow's own arguments are not checked here).
@overload
def crash_everywhere(
    workflow: Callable[..., Coroutine[Any, Any, T]],
    /,
    *args: Any,
    store: str | None = None,
    clock: Clock | None = None,
    **kwargs: Any,
) -> T: ...
@overload
def crash_everywhere(
    workflow: Callable[..., T],
    /,
    *args: Any,
    store: str | None = None,
    clock: Clock | None = None,
    **kwargs: Any,
) -> T: ...
def crash_everywhere(
    workflow: Callable[..., Any],
    /,
    *args: Any,
    store: str | None = None,
    clock: Clock | None = None,
    **kwargs: Any,
) -> Any:
    """Check that ``workflow(*args, **kwargs)`` recovers from a crash at every point.

    Runs the workflow once crash-free to learn its checkpoints; then, for every position
    (right after its row is written and right after each checkpoint), runs it again on a
    fresh runtime, crashes the executor right after that write, recovers it on a fresh
    runtime over the same store and checks that the result equals the crash-free result,
    that no step recorded before the crash ran its body again, and that the recovered
    history equals the crash-free one. Raises ``CrashEverywhereError`` saying what and
    where; returns the crash-free result (or raises its error).

    Two keyword arguments are the kit's, not the workflow's: ``store`` (a system
    database URL; a fresh ``memory://`` store by default; every run uses its own
    workflow ids, so one database serves them all) and ``clock`` (a ``FakeClock`` in
    auto-advance mode by default, so durable sleeps take no time). DBOS must not be
    launched: the kit launches and destroys its own runtimes.
    """
    url = store or _default_store()
    clock = _default_clock(clock)
    call = _call_text(workflow, args, kwargs)
    clean = clean_run(workflow, args, kwargs, url, clock)
    for position in clean.positions:
        check_position(workflow, args, kwargs, url, clock, clean, position, call)
    return clean.returned()


@attrs.frozen
class CrashCase(Generic[T]):
    """One drawn case: the workflow's arguments and the crash point (an index into the
    workflow's positions; past the last one means the last)."""

    workflow: Callable[..., Any] = attrs.field(repr=False)
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    position: int

    def __repr__(self) -> str:
        return (
            f"CrashCase({_call_text(self.workflow, self.args, self.kwargs)}, crash={self.position})"
        )

    def check(self, store: str | None = None, clock: Clock | None = None) -> T:
        """Run the case crash-free, crash it at its position, recover, and compare
        (as ``crash_everywhere`` does for every position); returns the crash-free result."""
        url = store or _default_store()
        clock = _default_clock(clock)
        clean = clean_run(self.workflow, self.args, self.kwargs, url, clock)
        position = clean.positions[min(self.position, len(clean.positions) - 1)]
        call = _call_text(self.workflow, self.args, self.kwargs)
        check_position(self.workflow, self.args, self.kwargs, url, clock, clean, position, call)
        result: T = clean.returned()
        return result


@overload
def crash_cases(
    workflow: Callable[..., Coroutine[Any, Any, T]],
    /,
    *args: SearchStrategy[Any],
    **kwargs: SearchStrategy[Any],
) -> SearchStrategy[CrashCase[T]]: ...
@overload
def crash_cases(
    workflow: Callable[..., T], /, *args: SearchStrategy[Any], **kwargs: SearchStrategy[Any]
) -> SearchStrategy[CrashCase[T]]: ...
def crash_cases(
    workflow: Callable[..., Any], /, *args: SearchStrategy[Any], **kwargs: SearchStrategy[Any]
) -> SearchStrategy[CrashCase[Any]]:
    """A Hypothesis strategy of ``CrashCase``: arguments drawn from ``args`` / ``kwargs``
    strategies and a crash point. A failing ``case.check()`` shrinks to the smallest
    inputs and the earliest crash point."""
    from hypothesis import strategies as st

    return st.builds(
        lambda a, k, p: CrashCase(workflow, tuple(a), k, p),
        st.tuples(*args),
        st.fixed_dictionaries(kwargs),
        st.integers(min_value=0, max_value=1_000),
    )
