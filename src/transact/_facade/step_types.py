"""``DBOS.step_status`` and ``DBOS.reserve_step``, and the values they return."""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, overload

import attrs
from typing_extensions import ParamSpec

from transact._facade.decorators import StepOptions, step_spec_of
from transact._runtime.async_driver import perform_at_async
from transact._runtime.interpreter import check_cancelled, perform_at
from transact._runtime.state import WorkflowState, current_frame, current_workflow
from transact.errors import DBOSException

P = ParamSpec("P")
R = TypeVar("R")


@attrs.frozen
class StepStatus:
    """Where the running step is: its function id, and while it may retry its attempt
    (0-based) and how many attempts it may make (both None without retries)."""

    step_id: int
    current_attempt: int | None
    max_attempts: int | None


def step_status() -> StepStatus | None:
    """The running step's ``StepStatus`` (also in a transaction), else None."""
    frame = current_frame()
    if frame is None or frame.step_id is None:
        return None
    return StepStatus(frame.step_id, frame.attempt, frame.max_attempts)


class StepReservation:
    """A step position taken now, in the workflow's order, and run later, once.

    ``DBOS.reserve_step()`` takes the next function id; ``run`` (or ``run_async``)
    runs a function as the step at that id, from the same workflow's code. Reserving in
    a fixed order keeps ids deterministic when the steps themselves finish in any
    order. A reservation that is never run leaves a gap, which replay tolerates.
    """

    def __init__(
        self, state: WorkflowState, step_id: int, options: StepOptions | None = None
    ) -> None:
        self.workflow_id = state.workflow_id
        self.step_id = step_id
        self._state = state
        self._options = options
        self._used = False
        self._lock = threading.Lock()

    def _take(self) -> WorkflowState:
        frame = current_frame()
        if frame is None or frame.workflow is not self._state or frame.step_id is not None:
            raise DBOSException(
                f"Step {self.step_id} was reserved in workflow {self.workflow_id} and must "
                "be run from that workflow, outside any step"
            )
        with self._lock:
            if self._used:
                raise DBOSException("A step reservation can only be run once")
            self._used = True
        check_cancelled(self._state)
        return self._state

    def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``func`` as the reserved step; its (recorded) result. ``DBOSException``
        if run twice, or from anywhere but the reserving workflow's own code."""
        state = self._take()
        spec = step_spec_of(func, self._options).validate()
        result: R = perform_at(state, self.step_id, spec.effect(args, kwargs))
        return result

    @overload
    async def run_async(
        self, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> R: ...

    @overload
    async def run_async(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R: ...

    async def run_async(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``run`` for async code; an ``async def`` function is awaited on the loop."""
        state = self._take()
        spec = step_spec_of(func, self._options).validate()
        # A sync function runs in a worker thread, an async one on this loop.
        return await perform_at_async(state, self.step_id, spec.effect(args, kwargs))


def reserve_step(dbos_step_options: StepOptions | None = None) -> StepReservation:
    """Take the next step position of the running workflow for a step run later with
    ``StepReservation.run`` (its options: ``dbos_step_options``). ``DBOSException``
    outside workflow code."""
    state = current_workflow()
    if state is None:
        raise DBOSException(
            "DBOS.reserve_step must be called from a workflow, outside any step or transaction"
        )
    return StepReservation(state, state.issue(1), dbos_step_options)


async def reserve_step_async(dbos_step_options: StepOptions | None = None) -> StepReservation:
    """``reserve_step`` for async workflows (taking an id does no I/O)."""
    return reserve_step(dbos_step_options)
