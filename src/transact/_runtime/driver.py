"""The thread driver: runs a workflow body in the current thread.

A direct-style body is simply called: its steps find the running workflow through the
context variable and call ``perform`` themselves. A generator body (``transact.fx``)
yields effects; the driver performs each and sends the result back in (or throws the
error in), until the generator returns the workflow's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from transact._core.effects import Effect
from transact._runtime.interpreter import perform
from transact._runtime.registry import WorkflowSpec
from transact._runtime.state import WorkflowState


def drive(
    spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any], state: WorkflowState
) -> Any:
    """Run ``spec``'s body with ``args`` inside ``state``; return its result."""
    if spec.is_async:
        # Started from a thread (start_workflow, recovery): the body gets its own loop.
        return asyncio.run(spec.func(*args, **kwargs))
    if not spec.is_generator:
        return spec.func(*args, **kwargs)
    return pump(spec.func(*args, **kwargs), state)


def pump(program: Generator[object, Any, Any], state: WorkflowState) -> Any:
    """Perform every effect ``program`` yields; return what it returns."""
    send_value: Any = None
    throw: BaseException | None = None
    while True:
        try:
            effect = program.send(send_value) if throw is None else program.throw(throw)
        except StopIteration as stop:
            return stop.value
        if not isinstance(effect, Effect):
            program.close()
            raise TypeError(
                f"a transact.fx workflow must yield effects (use `yield from fx.step(...)`), "
                f"but {state.name} yielded {effect!r}"
            )
        try:
            send_value, throw = perform(state, effect), None
        except BaseException as exc:  # the program decides whether to handle it
            send_value, throw = None, exc
