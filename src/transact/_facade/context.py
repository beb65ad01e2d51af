"""Context managers that set options for the next workflow started in their block."""

from __future__ import annotations

import contextvars
import math
from types import TracebackType

import attrs

from transact._core.ids import validate_workflow_id
from transact._core.queue_policy import MAX_PRIORITY
from transact._runtime.runtime import StartOptions
from transact.errors import DBOSException


@attrs.define
class _Ambient:
    workflow_id: str | None = None
    timeout_seconds: float | None = None
    timeout_set: bool = False
    authenticated_user: str | None = None
    authenticated_roles: tuple[str, ...] | None = None
    enqueue: EnqueueOptions | None = None


@attrs.frozen
class EnqueueOptions:
    """What ``SetEnqueueOptions`` set (validated); applied by the next enqueues."""

    deduplication_id: str | None = None
    priority: int | None = None
    app_version: str | None = None
    queue_partition_key: str | None = None
    delay_seconds: float | None = None

    @property
    def queue_only(self) -> bool:
        """Whether it sets an option that only a queue can honour."""
        return (
            self.deduplication_id is not None
            or self.priority is not None
            or self.queue_partition_key is not None
            or self.delay_seconds is not None
        )


_ambient: contextvars.ContextVar[_Ambient | None] = contextvars.ContextVar(
    "transact_ambient", default=None
)


def take_start_options(*, queued: bool = False) -> StartOptions:
    """Options for the workflow being started now; consumes the ``SetWorkflowID`` id.

    Raises ``DBOSException`` if a ``SetEnqueueOptions`` around a start that is not an
    enqueue (``queued``) sets a deduplication id, priority, partition key or delay.
    """
    ambient = _ambient.get()
    if ambient is None:
        return StartOptions()
    if not queued and ambient.enqueue is not None and ambient.enqueue.queue_only:
        raise DBOSException(
            "SetEnqueueOptions (deduplication id, priority, partition key, delay) only "
            "applies to Queue.enqueue, not to starting or calling a workflow"
        )
    workflow_id, ambient.workflow_id = ambient.workflow_id, None
    return StartOptions(
        workflow_id=workflow_id,
        timeout_seconds=ambient.timeout_seconds,
        inherit_deadline=not ambient.timeout_set,
        authenticated_user=ambient.authenticated_user,
        authenticated_roles=ambient.authenticated_roles,
    )


def ambient_enqueue_options() -> EnqueueOptions:
    """The options of the innermost enclosing ``SetEnqueueOptions`` (all unset if none)."""
    ambient = _ambient.get()
    if ambient is None or ambient.enqueue is None:
        return EnqueueOptions()
    return ambient.enqueue


def ambient_auth() -> tuple[str | None, tuple[str, ...] | None]:
    """The (user, roles) set by an enclosing ``DBOSContextSetAuth``."""
    ambient = _ambient.get()
    if ambient is None:
        return None, None
    return ambient.authenticated_user, ambient.authenticated_roles


class _Setter:
    def __init__(self) -> None:
        self._token: contextvars.Token[_Ambient | None] | None = None

    def _apply(self, ambient: _Ambient) -> None:
        raise NotImplementedError

    def __enter__(self) -> None:
        current = _ambient.get()
        ambient = attrs.evolve(current) if current is not None else _Ambient()
        self._apply(ambient)
        self._token = _ambient.set(ambient)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._token is not None
        _ambient.reset(self._token)


class SetWorkflowID(_Setter):
    """The next workflow started, enqueued or called in the block gets ``workflow_id``.

    Starting a workflow with an id that already exists does not run it again: it returns
    the recorded outcome (or waits for it). Raises ``DBOSException`` for an empty id.
    """

    def __init__(self, workflow_id: str) -> None:
        super().__init__()
        try:
            self.workflow_id = validate_workflow_id(workflow_id)
        except ValueError as exc:
            raise DBOSException(str(exc)) from None

    def _apply(self, ambient: _Ambient) -> None:
        ambient.workflow_id = self.workflow_id


class SetWorkflowTimeout(_Setter):
    """Workflows started in the block are cancelled ``workflow_timeout_sec`` seconds later.

    The deadline is stored with the workflow (it survives restarts) and passed on to its
    children. ``None`` starts workflows with no timeout, detached from a parent's deadline.
    """

    def __init__(self, workflow_timeout_sec: float | None) -> None:
        super().__init__()
        if workflow_timeout_sec is not None and (
            isinstance(workflow_timeout_sec, bool)
            or not isinstance(workflow_timeout_sec, int | float)
            or not workflow_timeout_sec > 0
        ):
            raise DBOSException(f"workflow timeout must be positive, got {workflow_timeout_sec!r}")
        self.workflow_timeout_sec = workflow_timeout_sec

    def _apply(self, ambient: _Ambient) -> None:
        ambient.timeout_seconds = self.workflow_timeout_sec
        ambient.timeout_set = True


class DBOSContextSetAuth(_Setter):
    """Workflows started in the block run on behalf of ``user`` with ``roles``.

    The user and roles are stored with each workflow (``WorkflowStatus``), passed on to
    its children, restored when it is recovered, and read with ``DBOS.authenticated_user``
    and ``DBOS.authenticated_roles``.
    """

    def __init__(self, user: str | None, roles: list[str] | None) -> None:
        super().__init__()
        self.user = user
        self.roles = tuple(roles) if roles is not None else None

    def _apply(self, ambient: _Ambient) -> None:
        ambient.authenticated_user = self.user
        ambient.authenticated_roles = self.roles


class SetEnqueueOptions(_Setter):
    """Options for workflows enqueued in the block (``Queue.enqueue``).

    Args:
        deduplication_id: while a workflow enqueued with this id on the same queue is
            ENQUEUED, DELAYED or PENDING, enqueueing another raises
            ``DBOSQueueDeduplicatedError``.
        priority: 1 (first) to 2**31 - 1; unset runs before every priority. Workflows of
            equal priority start in the order they were enqueued.
        app_version: only an executor of this application version may run it.
        queue_partition_key: the partition of a partitioned queue (required there,
            refused elsewhere); the queue's limits apply per partition.
        delay_seconds: start no earlier than this many seconds after the enqueue (the
            workflow is DELAYED until then).

    Raises ``ValueError`` for a priority out of range, a negative delay, or a
    deduplication id together with a partition key. Starting or calling a workflow (not
    enqueueing it) in a block that sets the queue-only options raises ``DBOSException``.
    """

    def __init__(
        self,
        *,
        deduplication_id: str | None = None,
        priority: int | None = None,
        app_version: str | None = None,
        queue_partition_key: str | None = None,
        delay_seconds: float | None = None,
    ) -> None:
        super().__init__()
        if priority is not None and (
            isinstance(priority, bool)
            or not isinstance(priority, int)
            or not 1 <= priority <= MAX_PRIORITY
        ):
            raise ValueError(f"priority must be between 1 and {MAX_PRIORITY}, got {priority!r}")
        if delay_seconds is not None and (
            not isinstance(delay_seconds, (int, float))
            or not (delay_seconds >= 0 and math.isfinite(delay_seconds))
        ):
            raise ValueError(f"delay_seconds must be a finite number >= 0, got {delay_seconds!r}")
        if deduplication_id is not None and queue_partition_key is not None:
            raise ValueError("a deduplication id cannot be combined with a queue partition key")
        self.options = EnqueueOptions(
            deduplication_id=deduplication_id,
            priority=priority,
            app_version=app_version,
            queue_partition_key=queue_partition_key,
            delay_seconds=delay_seconds,
        )

    def _apply(self, ambient: _Ambient) -> None:
        ambient.enqueue = self.options
