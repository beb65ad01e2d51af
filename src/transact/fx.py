"""Generator-style workflows, typed end to end.

A workflow written as a generator yields effects and gets their results back; with
``yield from`` mypy infers every result's type::

    from transact import DBOS, fx

    @DBOS.workflow()
    def checkout(order: Order) -> fx.Program[Receipt]:
        charged = yield from fx.step(charge, order)     # charged: Charge
        yield from fx.sleep(5)
        return (yield from fx.step(ship, order, charged))

The same ``@DBOS.workflow()`` runs both styles on the same interpreter; a generator
workflow is a value you can also test without any store by checking the effects it
yields (see :func:`transact.testing.run_program`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

from typing_extensions import ParamSpec

from transact._core.effects import Effect, GetResult, RunStep, Sleep, StartChild
from transact._facade.decorators import step_spec_of
from transact._facade.handles import WorkflowHandle
from transact._runtime.registry import spec_of
from transact.errors import DBOSException

P = ParamSpec("P")
R = TypeVar("R")

Program = Generator[Effect[Any], Any, R]
"""The type of a generator workflow that returns ``R``."""

__all__ = ["Program", "call", "get_result", "sleep", "start", "step"]


def step(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Program[R]:
    """Run ``func`` as a checkpointed step (a ``@DBOS.step`` keeps its name and retries)."""
    spec = step_spec_of(func)
    result: R = yield RunStep(spec.name, spec.func, args, kwargs, spec.retry)
    return result


def sleep(seconds: float) -> Program[None]:
    """Sleep durably; ``seconds <= 0`` does nothing and records nothing."""
    if seconds > 0:
        yield Sleep(float(seconds))


def _workflow_name(func: Callable[..., Any]) -> str:
    spec = spec_of(func)
    if spec is None:
        raise DBOSException(f"{getattr(func, '__qualname__', func)!r} is not a workflow")
    return spec.name


def start(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Program[WorkflowHandle[R]]:
    """Start a child workflow in the background; produce its handle."""
    child_id: str = yield StartChild(_workflow_name(func), args, kwargs)
    return WorkflowHandle(child_id)


def get_result(handle: WorkflowHandle[R]) -> Program[R]:
    """Wait for a workflow's result (recorded)."""
    result: R = yield GetResult(handle.workflow_id)
    return result


def call(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Program[R]:
    """Run a child workflow and wait for its result, as a direct call does."""
    child_id: str = yield StartChild(_workflow_name(func), args, kwargs, run_inline=True)
    result: R = yield GetResult(child_id)
    return result
