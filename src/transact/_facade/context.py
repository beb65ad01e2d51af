"""Context managers that set options for the next workflow started in their block."""

from __future__ import annotations

import contextvars
import json
import logging
import math
from types import TracebackType
from typing import Any, Literal

import attrs

from transact._core.ids import validate_workflow_id
from transact._core.queue_policy import MAX_PRIORITY
from transact._runtime.runtime import StartOptions
from transact._runtime.state import current_frame
from transact.errors import DBOSException

logger = logging.getLogger("dbos")


@attrs.define
class _Ambient:
    workflow_id: str | None = None
    timeout_seconds: float | None = None
    timeout_set: bool = False
    authenticated_user: str | None = None
    authenticated_roles: tuple[str, ...] | None = None
    enqueue: EnqueueOptions | None = None
    shard_key: str | None = None
    attributes: str | None = None
    reuse_policy: str | None = None  # SetWorkflowID's, consumed with its id
    workflow_id_used: bool = False  # the SetWorkflowID id went to an earlier start


@attrs.frozen
class EnqueueOptions:
    """What ``SetEnqueueOptions`` set (validated); applied by the next enqueues."""

    deduplication_id: str | None = None
    priority: int | None = None
    app_version: str | None = None
    queue_partition_key: str | None = None
    delay_seconds: float | None = None
    duplication_policy: str | None = None

    @property
    def queue_only(self) -> bool:
        """Whether it sets an option that only a queue can honour."""
        return bool(self.queue_only_names())

    def queue_only_names(self) -> list[str]:
        """The options set that only a queue can honour, in DBOS's order."""
        names = ("deduplication_id", "priority", "queue_partition_key", "delay_seconds")
        return [name for name in names if getattr(self, name) is not None]


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
    if (
        not queued
        and ambient.enqueue is not None
        and ambient.enqueue.duplication_policy == "return-existing"
    ):
        raise DBOSException(
            "duplication_policy 'return-existing' requires a queue. It is only supported "
            "when enqueueing a workflow onto a queue."
        )
    if not queued and ambient.enqueue is not None and ambient.enqueue.queue_only:
        raise DBOSException(
            f"Enqueue option(s) {', '.join(ambient.enqueue.queue_only_names())} set on a "
            "workflow that is not being enqueued. These options are only supported when "
            "enqueueing a workflow onto a queue."
        )
    if ambient.shard_key is not None:
        raise DBOSException("A shard key was given, but this system database is not sharded")
    workflow_id, ambient.workflow_id = ambient.workflow_id, None
    attributes, ambient.attributes = ambient.attributes, None
    reuse_policy, ambient.reuse_policy = ambient.reuse_policy, None
    if workflow_id is not None:
        ambient.workflow_id_used = True
    elif ambient.workflow_id_used and current_frame() is None:
        logger.warning(
            "Multiple workflows started in the same SetWorkflowID block. Only the first "
            "workflow is assigned the specified workflow ID; subsequent workflows will use "
            "a generated workflow ID."
        )
    return StartOptions(
        attributes=attributes,
        workflow_id=workflow_id,
        reuse_policy=reuse_policy,
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


def set_ambient_auth(user: str | None, roles: tuple[str, ...] | None) -> None:
    """Set (user, roles) for the rest of the current context (``DBOS.set_authentication``)."""
    current = _ambient.get()
    ambient = attrs.evolve(current) if current is not None else _Ambient()
    ambient.authenticated_user, ambient.authenticated_roles = user, roles
    _ambient.set(ambient)


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
    the recorded outcome (or waits for it); with ``workflow_id_reuse_policy="reject"``
    (DBOS 3.4) it raises ``DBOSWorkflowIDInUseError`` instead. Raises ``DBOSException``
    for an empty id or an unknown policy.
    """

    def __init__(
        self,
        workflow_id: str,
        *,
        workflow_id_reuse_policy: Literal["return-existing", "reject"] = "return-existing",
    ) -> None:
        super().__init__()
        check_reuse_policy(workflow_id_reuse_policy)
        try:
            self.workflow_id = validate_workflow_id(workflow_id)
        except ValueError:
            raise DBOSException(
                f"Invalid workflow ID {workflow_id!r}: workflow IDs must be non-empty and "
                "cannot be only whitespace."
            ) from None
        self.workflow_id_reuse_policy: str = workflow_id_reuse_policy

    def _apply(self, ambient: _Ambient) -> None:
        ambient.workflow_id = self.workflow_id
        ambient.reuse_policy = self.workflow_id_reuse_policy
        ambient.workflow_id_used = False


class SetWorkflowTimeout(_Setter):
    """Workflows started in the block are cancelled ``workflow_timeout_sec`` seconds later.

    The deadline is stored with the workflow (it survives restarts) and passed on to its
    children. ``None`` (or 0, as in DBOS) starts workflows with no timeout, detached from
    a parent's deadline. A negative timeout raises DBOS's ``Exception``.
    """

    def __init__(self, workflow_timeout_sec: float | None) -> None:
        super().__init__()
        if workflow_timeout_sec is not None and (
            isinstance(workflow_timeout_sec, bool)
            or not isinstance(workflow_timeout_sec, (int, float))
        ):
            raise TypeError(
                "workflow_timeout_sec must be a number of seconds or None, "
                f"got {workflow_timeout_sec!r}"
            )
        if workflow_timeout_sec is not None and not workflow_timeout_sec >= 0:  # NaN too
            # DBOS's class and text: a plain Exception; 0, like None, means no timeout
            raise Exception(
                f"Invalid workflow timeout {workflow_timeout_sec}. Timeouts must be positive."
            )
        self.workflow_timeout_sec = workflow_timeout_sec or None

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


def attributes_text(attributes: object) -> str:
    """``attributes`` as JSON object text; DBOS's ``DBOSException`` if it is not a dict
    or not JSON-serializable."""
    if not isinstance(attributes, dict):
        raise DBOSException(f"Invalid workflow attributes {attributes}. Attributes must be a dict.")
    try:
        return json.dumps(attributes, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        raise DBOSException(
            f"Invalid workflow attributes {attributes}. Attributes must be JSON-serializable."
        ) from None


class SetWorkflowAttributes(_Setter):
    """The next workflow started or enqueued in the block carries ``attributes`` (a
    JSON-serializable dict; ``WorkflowStatus.attributes``, a ``list_workflows``
    filter). Its children do not inherit them. ``None`` sets none.

    Raises ``DBOSException`` for a value that is not a dict or not JSON-serializable.
    """

    def __init__(self, attributes: dict[str, Any] | None) -> None:
        super().__init__()
        self.attributes = None if attributes is None else attributes_text(attributes)

    def _apply(self, ambient: _Ambient) -> None:
        ambient.attributes = self.attributes


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
        duplication_policy: ``"reject"`` (the default: a held deduplication id raises)
            or ``"return-existing"`` (a handle to the workflow holding it).

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
        duplication_policy: str | None = None,
    ) -> None:
        super().__init__()
        check_duplication_policy(duplication_policy)
        if priority is not None and (
            isinstance(priority, bool)
            or not isinstance(priority, int)
            or not 1 <= priority <= MAX_PRIORITY
        ):
            raise ValueError(  # DBOS raises Exception; ValueError is one, with its text
                f"Invalid priority {priority}. Priority must be between 1~{MAX_PRIORITY}."
            )
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
            duplication_policy=duplication_policy,
        )

    def _apply(self, ambient: _Ambient) -> None:
        ambient.enqueue = self.options


class DBOSContextEnsure(_Setter):
    """Make sure a DBOS context exists in the block (DBOS's ``DBOSContextEnsure``).

    Options set by enclosing managers stay as they are; nothing else changes.
    """

    def _apply(self, ambient: _Ambient) -> None:
        """Nothing to set: entering already made the context."""


class SetShardKey(_Setter):
    """DBOS's sharding: run the next workflows on the shard of ``shard_key``.

    ``transact`` system databases are never sharded, so, as DBOS does for a database
    that is not, starting a workflow in the block raises ``DBOSException``.
    """

    def __init__(self, shard_key: str) -> None:
        super().__init__()
        if not isinstance(shard_key, str) or not shard_key:
            raise DBOSException(
                f"Invalid shard key {shard_key!r}: a shard key must be a non-empty string"
            )
        self.shard_key = shard_key

    def _apply(self, ambient: _Ambient) -> None:
        ambient.shard_key = self.shard_key


DUPLICATION_POLICIES = ("reject", "return-existing")
"""DBOS's ``DuplicationPolicy`` values."""


def check_duplication_policy(policy: str | None) -> None:
    """``DBOSException`` (DBOS's message) unless ``policy`` is None or a known policy."""
    if policy is not None and policy not in DUPLICATION_POLICIES:
        raise DBOSException(
            f"Invalid duplication_policy {policy}. Must be either 'reject' or 'return-existing'."
        )


def check_reuse_policy(policy: str | None) -> None:
    """``DBOSException`` (DBOS's message) unless ``policy`` is None or a known policy."""
    if policy is not None and policy not in DUPLICATION_POLICIES:
        raise DBOSException(
            f"Invalid workflow_id_reuse_policy {policy}. Must be either 'return-existing' "
            "or 'reject'."
        )
