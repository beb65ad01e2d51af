"""Effect values: every operation a workflow can issue, as immutable data.

An ``Effect[T]`` describes an operation whose result has type ``T``. Effects hold data
only (names, arguments, topics, timeouts), never a connection or a lock; the runtime's
interpreter performs them. Each effect takes ``ids`` consecutive function ids when it is
issued, numbered as DBOS numbers them, and is recorded under ``checkpoint_name``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from transact._core.query import WorkflowQuery
from transact._core.queue_policy import QueueEntry
from transact._core.retry import NO_RETRIES, RetryPolicy

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# Every effect (and ``SendMessage``), re-exported as is by the public ``transact.effects``.
__all__ = [
    "CancelWorkflow",
    "CloseStream",
    "DeleteWorkflow",
    "Effect",
    "ForkWorkflow",
    "GetAllEvents",
    "GetEvent",
    "GetResult",
    "GetStatus",
    "ListWorkflowSteps",
    "ListWorkflows",
    "ReadStream",
    "Recv",
    "ResumeWorkflow",
    "RunStep",
    "RunTransaction",
    "Send",
    "SendBulk",
    "SendMessage",
    "SetEvent",
    "Sleep",
    "StartChild",
    "WaitFirst",
    "WriteStream",
]


class Effect(Generic[T_co]):
    """Base of all effects. ``T_co`` is the type of the value performing it produces."""

    __slots__ = ()

    ids: ClassVar[int] = 1
    """How many function ids the effect consumes (DBOS numbering)."""

    @property
    def checkpoint_name(self) -> str:
        """The ``function_name`` its checkpoint carries."""
        raise NotImplementedError


def _frozen_kwargs(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return dict(value)


@attrs.frozen
class RunStep(Effect[T_co]):
    """Run ``func(*args, **kwargs)`` once, retrying by ``retry``, and record its outcome."""

    name: str
    func: Callable[..., T_co] = attrs.field(eq=False)
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_kwargs)
    retry: RetryPolicy = NO_RETRIES
    # DBOS's step options beyond the schedule: a predicate that may stop the retries,
    # and (async steps only) a per-attempt timeout and preemption on cancellation.
    should_retry: Callable[[Exception], Any] | None = attrs.field(default=None, eq=False)
    timeout_seconds: float | None = None
    preemptible: bool = False

    @property
    def checkpoint_name(self) -> str:
        return self.name


@attrs.frozen
class RunTransaction(Effect[T_co]):
    """Run ``func`` in one application-database transaction, exactly once."""

    name: str
    func: Callable[..., T_co] = attrs.field(eq=False)
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_kwargs)
    isolation_level: str = "SERIALIZABLE"
    # The database it runs on: a datasource; None means the application database.
    target: Any = attrs.field(default=None, eq=False)

    @property
    def checkpoint_name(self) -> str:
        return self.name


@attrs.frozen
class Sleep(Effect[None]):
    """Sleep durably: the wake-up time is recorded before waiting."""

    seconds: float

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.sleep"


@attrs.frozen
class StartChild(Effect[str]):
    """Start a child workflow (or attach to it on replay); produces the child's id."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_kwargs)
    workflow_id: str | None = None  # set explicitly by SetWorkflowID, else derived
    timeout_seconds: float | None = None  # SetWorkflowTimeout around the start
    inherit_deadline: bool = True  # False once SetWorkflowTimeout (even None) was set
    enqueue: QueueEntry | None = None  # set by Queue.enqueue: the child waits on that queue
    # A workflow method's target, by the names its row stores (``_runtime/classes.py``).
    class_name: str | None = None
    config_name: str | None = None
    attributes: str | None = None  # SetWorkflowAttributes around the start (JSON text)
    # A direct call runs the child in the caller's thread; start_workflow runs it in the
    # background. How it runs is not what it is, so it does not take part in equality.
    run_inline: bool = attrs.field(default=False, eq=False)

    @property
    def checkpoint_name(self) -> str:
        return self.name


@attrs.frozen
class GetResult(Effect[Any]):
    """Wait for a workflow's outcome and record it."""

    workflow_id: str

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.getResult"


@attrs.frozen
class Send(Effect[None]):
    """Send ``message`` to ``destination_id`` on ``topic``."""

    destination_id: str
    message: Any = attrs.field(hash=False)
    topic: str | None = None
    send_to_forks: bool = False  # also to every workflow forked (recursively) from it
    serialization_type: str | None = None  # "portable", "native", None: the default

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.send"


@attrs.frozen
class Recv(Effect[Any]):
    """Consume the oldest message on ``topic`` or time out (then produce None).

    Takes two ids: the message at N, its durable timeout (a sleep) at N + 1.
    """

    ids: ClassVar[int] = 2
    topic: str | None
    timeout_seconds: float

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.recv"


@attrs.frozen
class SetEvent(Effect[None]):
    """Set this workflow's event ``key`` to ``value``."""

    key: str
    value: Any = attrs.field(hash=False)
    serialization_type: str | None = None  # "portable", "native", None: the default

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.setEvent"


@attrs.frozen
class GetEvent(Effect[Any]):
    """Wait for another workflow's event ``key`` (None on timeout). Takes two ids."""

    ids: ClassVar[int] = 2
    workflow_id: str
    key: str
    timeout_seconds: float

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.getEvent"


@attrs.frozen
class WriteStream(Effect[None]):
    """Append ``value`` to this workflow's stream ``key``."""

    key: str
    value: Any = attrs.field(hash=False)

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.writeStream"


@attrs.frozen
class CloseStream(Effect[None]):
    """Close this workflow's stream ``key``."""

    key: str

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.closeStream"


@attrs.frozen
class ReadStream(Effect[Any]):
    """Read the value at ``offset`` of another workflow's stream (or the end marker)."""

    workflow_id: str
    key: str
    offset: int
    timeout_seconds: float | None = None  # per value; None waits as long as it takes
    # How often to re-check for writes by other processes: how it runs, not what it is.
    polling_interval_sec: float | None = attrs.field(default=None, eq=False)

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.readStream"


@attrs.frozen
class GetStatus(Effect[Any]):
    """Read ``workflow_id``'s status (a ``WorkflowStatus``, None if it does not exist).

    ``must_exist`` raises ``DBOSNonExistentWorkflowError`` for a missing workflow;
    ``check_only`` records and produces None instead of the status (an existence check).
    """

    workflow_id: str
    must_exist: bool = False
    check_only: bool = False

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.getStatus"


@attrs.frozen
class ListWorkflows(Effect[list[Any]]):
    """List the workflows matching ``query`` (as ``WorkflowStatus`` values)."""

    query: WorkflowQuery
    queued: bool = False  # recorded as DBOS.listQueuedWorkflows

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.listQueuedWorkflows" if self.queued else "DBOS.listWorkflows"


@attrs.frozen
class ListWorkflowSteps(Effect[list[Any]]):
    """Every recorded operation of ``workflow_id`` (as ``StepInfo`` values)."""

    workflow_id: str
    load_output: bool = True
    limit: int | None = None
    offset: int | None = None

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.listWorkflowSteps"


@attrs.frozen
class GetAllEvents(Effect[dict[str, Any]]):
    """The latest value of every event of ``workflow_id``."""

    workflow_id: str

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.get_events"


@attrs.frozen
class WaitFirst(Effect[str]):
    """Wait until one of ``workflow_ids`` has finished; produce its id."""

    workflow_ids: tuple[str, ...]
    # How often to re-check: how it runs, not what it is.
    polling_interval_sec: float = attrs.field(default=1.0, eq=False)

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.waitFirst"


@attrs.frozen
class CancelWorkflow(Effect[None]):
    """Cancel ``workflow_id`` (and its descendants with ``cancel_children``)."""

    workflow_id: str
    cancel_children: bool = False

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.cancelWorkflow"


@attrs.frozen
class ResumeWorkflow(Effect[None]):
    """Resume ``workflow_id``: in this process, or enqueued on ``queue_name``."""

    workflow_id: str
    queue_name: str | None = None

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.resumeWorkflow"


@attrs.frozen
class DeleteWorkflow(Effect[None]):
    """Delete ``workflow_id`` (and its descendants with ``delete_children``)."""

    workflow_id: str
    delete_children: bool = False

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.deleteWorkflow"


@attrs.frozen
class ForkWorkflow(Effect[str]):
    """Fork ``workflow_id`` at ``start_step``; produce the fork's id."""

    workflow_id: str
    start_step: int
    new_id: str | None = None
    application_version: str | None = None
    timeout_seconds: float | None = None
    queue_name: str | None = None
    queue_partition_key: str | None = None
    # (original child id, replacement id) pairs, sorted: a hashable mapping.
    replacement_children: tuple[tuple[str, str], ...] = ()

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.forkWorkflow"


@attrs.frozen
class SendMessage:
    """One message of ``DBOS.send_bulk``: the arguments of one ``DBOS.send``."""

    destination_id: str
    message: Any = attrs.field(hash=False)
    topic: str | None = None
    idempotency_key: str | None = None


@attrs.frozen
class SendBulk(Effect[None]):
    """Send every message of ``messages`` with one checkpoint, in one transaction."""

    messages: tuple[SendMessage, ...]
    send_to_forks: bool = False  # each also to the forks of its destination

    @property
    def checkpoint_name(self) -> str:
        return "DBOS.send_bulk"
