"""``@DBOS.workflow()`` and ``@DBOS.step()``: register functions and route their calls."""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
from collections.abc import Callable, Generator
from typing import Any, Generic, TypedDict, TypeVar, overload

import attrs
from typing_extensions import ParamSpec

from transact._core.effects import GetResult, RunStep, StartChild
from transact._core.retry import RetryPolicy
from transact._facade.context import take_start_options
from transact._facade.launched import runtime_for_call
from transact._facade.validation import ArgsValidator, resolve_validator
from transact._runtime.async_driver import perform_async
from transact._runtime.classes import method_kind, split_target
from transact._runtime.interpreter import perform
from transact._runtime.loop_runs import start_on_loop
from transact._runtime.registry import (
    DEFAULT_MAX_RECOVERY_ATTEMPTS,
    REGISTRY,
    SPEC_ATTRIBUTE,
    WorkflowSpec,
)
from transact._runtime.roles import check_roles, register_pending_roles
from transact._runtime.runtime import StartOptions
from transact._runtime.state import current_frame, current_workflow
from transact._serialization import WorkflowSerializationFormat, format_name
from transact.errors import DBOSException

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
R_co = TypeVar("R_co", covariant=True)

STEP_ATTRIBUTE = "__transact_step__"


class StepOptions(TypedDict, total=False):
    """Options of ``DBOS.run_step`` (and the keywords of ``@DBOS.step``)."""

    name: str | None
    retries_allowed: bool
    interval_seconds: float
    max_attempts: int
    backoff_rate: float
    should_retry: Callable[[Exception], Any] | None
    preemptible: bool
    timeout_seconds: float | None


@attrs.frozen
class StepSpec:
    """A step as decorated: the undecorated function, its name and retry policy, and
    DBOS's other step options (``should_retry``; async only: timeout, preemption)."""

    name: str
    func: Callable[..., Any] = attrs.field(eq=False)
    retry: RetryPolicy
    should_retry: Callable[[Exception], Any] | None = attrs.field(default=None, eq=False)
    timeout_seconds: float | None = None
    preemptible: bool = False

    def effect(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RunStep[Any]:
        """The effect of one call with ``args`` and ``kwargs``."""
        return RunStep(
            self.name,
            self.func,
            args,
            kwargs,
            self.retry,
            should_retry=self.should_retry,
            timeout_seconds=self.timeout_seconds,
            preemptible=self.preemptible,
        )

    def validate(self) -> StepSpec:
        """Itself, after DBOS's checks of the async-only options (``DBOSException``)."""
        is_async = inspect.iscoroutinefunction(self.func)
        if self.preemptible and not is_async:
            raise DBOSException(
                f"Step {self.name} is sync but preemptible=True. Preemption is only "
                "supported for async steps."
            )
        timeout = self.timeout_seconds
        if timeout is not None and not is_async:
            raise DBOSException(
                f"Step {self.name} is sync but timeout_seconds is set. Step timeouts are "
                "only supported for async steps."
            )
        if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
            raise DBOSException(
                f"Step {self.name} has timeout_seconds={timeout}. Step timeouts must be "
                "positive and finite."
            )
        return self


def step_spec_of(func: Callable[..., Any], options: StepOptions | None = None) -> StepSpec:
    """The spec of a decorated step, or one built from ``options`` for any callable."""
    spec = getattr(func, STEP_ATTRIBUTE, None)
    if isinstance(spec, StepSpec) and not options:
        return spec
    options = options or {}
    raw = spec.func if isinstance(spec, StepSpec) else func
    timeout = options.get("timeout_seconds")
    return StepSpec(
        name=options.get("name") or getattr(raw, "__qualname__", None) or repr(raw),
        func=raw,
        retry=retry_policy(options),
        should_retry=options.get("should_retry"),
        timeout_seconds=float(timeout) if timeout is not None else None,
        preemptible=bool(options.get("preemptible", False)),
    )


def retry_policy(options: StepOptions) -> RetryPolicy:
    """Validate step retry options; ``ValueError`` names a bad one."""
    return RetryPolicy(
        retries_allowed=bool(options.get("retries_allowed", False)),
        interval_seconds=float(options.get("interval_seconds", 1.0)),
        max_attempts=int(options.get("max_attempts", 3)),
        backoff_rate=float(options.get("backoff_rate", 2.0)),
    )


def as_step(name: str, func: Callable[[], T]) -> T:
    """``func()``, recorded as step ``name`` in workflow code (DBOS's built-in steps such
    as ``DBOS.createSchedule``): a replay returns the recorded result."""
    result: T = call_step(StepSpec(name, func, retry_policy({})), (), {})
    return result


def call_step(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a step: checkpointed inside workflow code, a plain call anywhere else."""
    state = current_workflow()
    if state is None:
        return spec.func(*args, **kwargs)
    check_roles(spec.name, state.authenticated_roles)
    return perform(state, spec.effect(args, kwargs))


def make_step(func: Callable[P, R], options: StepOptions) -> Callable[P, R]:
    """Wrap ``func`` as a step (an ``async def`` step is awaited on the event loop)."""
    spec = step_spec_of(func, options).validate()
    REGISTRY.add_step(spec.name)
    register_pending_roles(func, spec.name)
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_step_wrapper(*args: Any, **kwargs: Any) -> Any:
            state = current_workflow()
            if state is None:
                return await spec.func(*args, **kwargs)
            check_roles(spec.name, state.authenticated_roles)
            return await perform_async(state, spec.effect(args, kwargs))

        setattr(async_step_wrapper, STEP_ATTRIBUTE, spec)
        return async_step_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def step_wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        result: R = call_step(spec, args, kwargs)
        return result

    setattr(step_wrapper, STEP_ATTRIBUTE, spec)
    return step_wrapper


class FxWorkflow(Generic[P, R_co]):
    """A ``transact.fx`` workflow: a generator of effects whose return value is ``R_co``.

    Calling it runs the workflow (durably) and returns that value, exactly like a direct
    call of a direct-style workflow; ``DBOS.start_workflow(wf, ...)`` gives a
    ``WorkflowHandle[R_co]``.
    """

    def __init__(self, body: Callable[P, Generator[Any, Any, R_co]], spec: WorkflowSpec) -> None:
        self.__wrapped__ = body
        self.spec = spec
        functools.update_wrapper(self, body)
        setattr(self, SPEC_ATTRIBUTE, spec)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        result: R_co = call_workflow(self.spec, args, kwargs)
        return result


def child_start(
    spec: WorkflowSpec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: StartOptions,
    *,
    run_inline: bool,
) -> StartChild:
    """The effect that starts ``spec`` as a child with the ambient start options."""
    return StartChild(
        spec.name,
        args,
        kwargs,
        workflow_id=options.workflow_id,
        timeout_seconds=options.timeout_seconds,
        inherit_deadline=options.inherit_deadline,
        attributes=options.attributes,
        run_inline=run_inline,
        class_name=spec.class_name,
        config_name=spec.config_name,
    )


def call_workflow(spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A direct call: run the workflow in this thread and return its outcome.

    Inside a workflow it is a child: started at the next position, awaited at the one
    after (two function ids, as in DBOS). A method's target is its first argument.
    """
    spec, args = split_target(spec, None, args)
    frame = current_frame()
    if frame is not None and frame.step_id is not None:
        raise DBOSException(f"cannot call workflow {spec.name} from inside a step")
    options = take_start_options()
    rt = runtime_for_call(spec.name)
    if frame is not None:
        parent = frame.workflow
        child_id = perform(
            parent,
            child_start(spec, args, kwargs, options, run_inline=True),
        )
        return perform(parent, GetResult(child_id))
    workflow_id, future = rt.start(spec, args, kwargs, options=options, inline=True)
    return rt.result(workflow_id, future, rt.poll_seconds)


async def call_workflow_async(
    spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``await workflow(...)``: a direct call that runs the body on this event loop
    (``loop_runs.py``); inside a parent workflow it is a child, as for a direct call.
    """
    spec, args = split_target(spec, None, args)
    frame = current_frame()
    if frame is not None and frame.step_id is not None:
        raise DBOSException(f"cannot call workflow {spec.name} from inside a step")
    options = take_start_options()
    rt = runtime_for_call(spec.name)
    if frame is not None:
        parent = frame.workflow
        child_id = await perform_async(
            parent, child_start(spec, args, kwargs, options, run_inline=True)
        )
        return await perform_async(parent, GetResult(child_id))
    workflow_id, future = await start_on_loop(rt, spec, args, kwargs, options=options, inline=True)
    return await asyncio.to_thread(rt.result, workflow_id, future, rt.poll_seconds)


class WorkflowDecorator:
    """What ``DBOS.workflow(...)`` returns: registers the function it decorates."""

    def __init__(
        self,
        name: str | None,
        max_recovery_attempts: int | None,
        serialization_type: WorkflowSerializationFormat | None = None,
        validate_args: ArgsValidator | None = None,
    ) -> None:
        if max_recovery_attempts is not None and max_recovery_attempts < 0:
            raise ValueError(
                f"max_recovery_attempts must not be negative, got {max_recovery_attempts}"
            )
        self.name = name
        self.max_recovery_attempts = max_recovery_attempts
        self.serialization_type = format_name(serialization_type)
        self.validate_args = validate_args

    @overload
    def __call__(self, func: Callable[P, Generator[Any, Any, R]]) -> FxWorkflow[P, R]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Callable[P, Any]) -> Callable[P, Any]:
        spec = WorkflowSpec(
            name=self.name or func.__qualname__,
            func=func,
            max_recovery_attempts=self.max_recovery_attempts,
            is_generator=inspect.isgeneratorfunction(func),
            is_async=inspect.iscoroutinefunction(func),
            kind=method_kind(func),
            serialization_type=self.serialization_type,
            validate_args=resolve_validator(self.validate_args, func),
        )
        REGISTRY.add_workflow(spec)
        register_pending_roles(func, spec.name)
        if spec.is_generator:
            return FxWorkflow(func, spec)
        if spec.is_async:

            @functools.wraps(func)
            async def async_workflow_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await call_workflow_async(spec, args, kwargs)

            setattr(async_workflow_wrapper, SPEC_ATTRIBUTE, spec)
            return async_workflow_wrapper

        @functools.wraps(func)
        def workflow_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            return call_workflow(spec, args, kwargs)

        setattr(workflow_wrapper, SPEC_ATTRIBUTE, spec)
        return workflow_wrapper


def workflow(
    *,
    name: str | None = None,
    max_recovery_attempts: int | None = DEFAULT_MAX_RECOVERY_ATTEMPTS,
    serialization_type: WorkflowSerializationFormat | None = None,
    validate_args: ArgsValidator | None = None,
    auto_upgrade: bool | None = None,
) -> WorkflowDecorator:
    """Declare a workflow: its steps are checkpointed and it resumes after a crash.

    Works on ordinary functions and on ``transact.fx`` generator functions.
    ``max_recovery_attempts`` (None: unlimited) bounds how often a workflow that keeps
    crashing is re-dispatched before it is moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED.
    ``serialization_type=WorkflowSerializationFormat.PORTABLE`` stores its inputs,
    outcome, messages and events as portable JSON (``NATIVE``: pickle; default: the
    configured serializer). ``validate_args(args, kwargs) -> (args, kwargs)`` (e.g.
    ``pydantic_args_validator``) checks the arguments of a persisted workflow when it is
    dispatched (dequeued, recovered); a failure marks it ERROR. ``auto_upgrade`` (DBOS's
    enterprise auto-upgrade) is accepted and has no effect.
    """
    del auto_upgrade
    return WorkflowDecorator(name, max_recovery_attempts, serialization_type, validate_args)


def step(
    *,
    name: str | None = None,
    retries_allowed: bool = False,
    interval_seconds: float = 1.0,
    max_attempts: int = 3,
    backoff_rate: float = 2.0,
    should_retry: Callable[[Exception], Any] | None = None,
    preemptible: bool = False,
    timeout_seconds: float | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a step: inside a workflow it runs once and its outcome is recorded.

    With ``retries_allowed`` a failing step is retried up to ``max_attempts`` times,
    waiting ``interval_seconds * backoff_rate**i`` after attempt ``i``; when all fail it
    raises ``DBOSMaxStepRetriesExceeded``; a ``should_retry(exc)`` (awaitable for an
    async step) that returns False ends the retries with that error at once. Async
    steps only: ``timeout_seconds`` bounds each attempt (``DBOSStepTimeoutError``), and
    a ``preemptible`` step is stopped when its workflow is cancelled (not recorded: it
    runs again on resume). Raises ``ValueError`` or ``DBOSException`` for bad options.
    """
    options = StepOptions(
        name=name,
        retries_allowed=retries_allowed,
        interval_seconds=interval_seconds,
        max_attempts=max_attempts,
        backoff_rate=backoff_rate,
        should_retry=should_retry,
        preemptible=preemptible,
        timeout_seconds=timeout_seconds,
    )
    retry_policy(options)  # validate now, at decoration time

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        return make_step(func, options)

    return decorate
