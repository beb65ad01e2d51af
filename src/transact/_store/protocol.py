"""The ``Store`` protocol: everything the runtime asks of durable storage.

Every implementation (memory, SQLite, Postgres) must behave identically; the memory
store is the reference model, and a Hypothesis state machine checks the others against
it. All methods are synchronous and thread-safe. Times are epoch milliseconds passed in
by the caller (stores never read a clock, so a fake clock drives them in tests).

Errors are the same everywhere: a checkpoint position taken twice raises
:class:`~transact._store.errors.CheckpointConflict`; a write that needs a PENDING
workflow raises :class:`~transact._store.errors.WorkflowNotPending`; an unknown workflow
where one is required raises ``DBOSNonExistentWorkflowError``; a deduplication id already
held raises ``DBOSQueueDeduplicatedError``. A verb that raises has written nothing.
Driver errors never escape untranslated (``DBOSException`` subclasses only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from transact._core.checkpoint import Checkpoint
from transact._core.queue_policy import QueueLimits
from transact._store.definitions import DefinitionStore
from transact._store.exports import ExportStore
from transact._store.notifications import NotificationStore, NotifyCallback
from transact._store.records import (
    OutgoingMessage,
    StreamRead,
    WorkflowQuery,
    WorkflowRecord,
)

__all__ = ["NotifyCallback", "Store"]


class Store(DefinitionStore, ExportStore, NotificationStore, Protocol):
    """Durable storage of workflows, checkpoints, messages, events and streams (and,
    from ``DefinitionStore``, revisions, versions, queue and schedule definitions; from
    ``NotificationStore``, cross-process wake-ups)."""

    # --- lifecycle -------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema; idempotent and safe to run from two processes."""
        ...

    def reset(self) -> None:
        """Delete every workflow and everything attached to it (tests only)."""
        ...

    def close(self) -> None:
        """Release connections and stop any listener thread."""
        ...

    # --- workflow status -------------------------------------------------------------

    def insert_workflow(
        self, record: WorkflowRecord, *, fresh_id: bool = False, announce: bool = False
    ) -> tuple[WorkflowRecord, bool]:
        """Insert ``record``, or attach to the existing row with the same id.

        Returns ``(stored_row, created)``: the inserted record and True, or the existing
        row unchanged and False. If ``record.deduplication_id`` is set and another row on
        the same ``queue_name`` holds it, raises ``DBOSQueueDeduplicatedError``.
        ``fresh_id``: the id was generated for this insert (a random UUID), so no deleted
        workflow can have left rows under it; a store may skip clearing them.
        ``announce``: if created, ``publish`` ``queue:<queue_name>`` with the insert."""
        ...

    def get_workflow(
        self, workflow_id: str, *, load_input: bool = True, load_output: bool = True
    ) -> WorkflowRecord | None:
        """The row of ``workflow_id``, or None."""
        ...

    def finish_workflow(
        self, workflow_id: str, *, status: str, output: str | None, error: str | None, now_ms: int
    ) -> bool:
        """Record the outcome (status SUCCESS or ERROR) if the row is PENDING.

        Sets ``output``/``error``, ``completed_at = updated_at = now_ms`` and clears
        ``deduplication_id``. Returns False, writing nothing, if the row is missing or not
        PENDING (it was cancelled, dead-lettered, deleted, ...).
        """
        ...

    def list_workflows(self, query: WorkflowQuery) -> list[WorkflowRecord]:
        """Rows matching ``query``, ordered and paged as ``WorkflowQuery`` describes."""
        ...

    def count_workflows(self, query: WorkflowQuery) -> dict[str, int]:
        """How many rows match ``query``'s filters, by status: ``{status: count}`` with
        only the statuses that occur. ``limit``, ``offset``, ordering and the ``load_*``
        flags are ignored."""
        ...

    def pending_workflow_ids(self, executor_id: str, application_version: str | None) -> list[str]:
        """Ids of PENDING rows owned by ``executor_id`` (and with that
        ``application_version`` unless it is None), oldest ``created_at`` first."""
        ...

    def begin_recovery(
        self, workflow_id: str, executor_id: str, now_ms: int
    ) -> WorkflowRecord | None:
        """Claim a PENDING row for re-execution: ``recovery_attempts += 1``,
        ``executor_id``, ``updated_at = now_ms``; return the updated row, or None (writing
        nothing) if the row is missing or not PENDING."""
        ...

    def claim_workflow(
        self, workflow_id: str, executor_id: str, application_version: str | None, now_ms: int
    ) -> WorkflowRecord | None:
        """Dequeue one ENQUEUED row: status PENDING, ``recovery_attempts += 1``,
        ``executor_id``, ``started_at_epoch_ms = updated_at = now_ms``, and (if it has no
        application version) ``application_version``; if ``workflow_timeout_ms`` is set and
        there is no deadline yet, ``workflow_deadline_epoch_ms = now_ms + timeout``.
        Returns the updated row, or None (writing nothing) if it is not ENQUEUED."""
        ...

    def dead_letter(self, workflow_id: str, now_ms: int) -> bool:
        """PENDING -> MAX_RECOVERY_ATTEMPTS_EXCEEDED; clears ``queue_name``,
        ``deduplication_id`` and ``started_at_epoch_ms``; ``completed_at = updated_at =
        now_ms``. False (nothing written) if not PENDING."""
        ...

    def cancel_workflows(self, workflow_ids: Sequence[str], now_ms: int) -> list[str]:
        """Cancel every listed row that is PENDING, ENQUEUED or DELAYED: status CANCELLED,
        clears ``queue_name``, ``deduplication_id`` and ``started_at_epoch_ms``;
        ``completed_at = updated_at = now_ms``. Returns the ids actually cancelled; unknown
        ids and finished workflows are skipped."""
        ...

    def resume_workflow(
        self, workflow_id: str, queue_name: str, now_ms: int
    ) -> WorkflowRecord | None:
        """Put a PENDING, ENQUEUED, DELAYED, CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED
        row back in line: status ENQUEUED on ``queue_name``, ``recovery_attempts = 0``,
        clears the deadline, ``deduplication_id``, ``started_at_epoch_ms`` and
        ``completed_at``; ``updated_at = now_ms``. Returns the updated row; the row
        unchanged if it is SUCCESS or ERROR; None if it does not exist."""
        ...

    def delete_workflows(self, workflow_ids: Sequence[str]) -> None:
        """Delete the rows with their checkpoints, messages, events (and history) and
        streams. Unknown ids are ignored."""
        ...

    def descendants(self, workflow_ids: Sequence[str]) -> list[str]:
        """Every workflow whose chain of ``parent_workflow_id`` leads to one of the ids
        (not the ids themselves), parents before children."""
        ...

    def fork_workflow(
        self,
        original_id: str,
        new: WorkflowRecord,
        start_step: int,
        replacement_children: Mapping[str, str] | None = None,
    ) -> None:
        """In one transaction: insert ``new`` (the caller sets its status, ENQUEUED, and
        ``forked_from``); set ``was_forked_from`` on the original; copy the original's
        checkpoints, event-history entries and stream entries whose function id is below
        ``start_step`` to ``new.workflow_id``, a copied checkpoint's child id ``c``
        becoming ``replacement_children[c]`` where given; rebuild its latest events from
        the copied history (the entry with the highest function id per key). Messages
        are not copied. Raises ``DBOSNonExistentWorkflowError`` if the original is
        missing."""
        ...

    # --- checkpoints -----------------------------------------------------------------

    def record_checkpoint(self, workflow_id: str, checkpoint: Checkpoint) -> None:
        """Record one checkpoint of a PENDING workflow in one write.

        Raises ``CheckpointConflict`` if the position is taken, ``WorkflowNotPending``
        if the workflow is not PENDING (e.g. cancelled) or does not exist.
        """
        ...

    def load_checkpoints(self, workflow_id: str) -> list[Checkpoint]:
        """All checkpoints of the workflow, by ascending function id."""
        ...

    # --- messages --------------------------------------------------------------------

    def send_message(
        self,
        destination_id: str,
        topic: str | None,
        message: str,
        *,
        message_id: str | None,
        now_ms: int,
        checkpoint: tuple[str, Checkpoint] | None = None,
    ) -> bool:
        """Append a message to the destination's queue for ``topic``.

        If ``message_id`` is given and already exists, nothing is inserted (an idempotent
        repeat) and False is returned. ``checkpoint`` (``(sender_workflow_id,
        checkpoint)``) is recorded in the same transaction, as ``record_checkpoint``
        would. Raises ``DBOSNonExistentWorkflowError`` if the destination is missing.
        """
        ...

    def send_messages(
        self,
        messages: Sequence[OutgoingMessage],
        *,
        now_ms: int,
        checkpoint: tuple[str, Checkpoint] | None = None,
    ) -> list[bool]:
        """Send every message of ``messages``, in order, in one transaction.

        Returns, per message, whether it was inserted (False: its ``message_id`` already
        existed, an idempotent repeat). ``checkpoint`` is recorded in the same
        transaction, with the errors of ``send_message``. If any destination is missing,
        raises ``DBOSNonExistentWorkflowError`` naming them all (sorted, distinct, joined
        with ", ") and writes nothing. An empty ``messages`` records only the checkpoint.
        """
        ...

    def consume_message(
        self, workflow_id: str, topic: str | None, checkpoint: Checkpoint
    ) -> str | None:
        """In one transaction: take the oldest unconsumed message of (workflow, topic),
        mark it consumed, and record ``checkpoint`` with ``output`` set to the message.
        Returns the message, or None (writing nothing) if there is none. Checkpoint errors
        as in ``record_checkpoint``."""
        ...

    def has_message(self, workflow_id: str, topic: str | None) -> bool:
        """Whether (workflow, topic) has an unconsumed message. A read, taking no write
        lock: ``recv`` asks before it runs ``consume_message``'s write."""
        ...

    # --- events ----------------------------------------------------------------------

    def set_event(
        self,
        workflow_id: str,
        key: str,
        value: str,
        function_id: int,
        checkpoint: Checkpoint | None,
    ) -> None:
        """Set the latest value of event ``key`` and add (key, function_id) to its
        history (an existing history entry at that position is overwritten), plus
        ``checkpoint`` if given, in one transaction. Raises
        ``DBOSNonExistentWorkflowError`` if the workflow is missing."""
        ...

    def get_event(self, workflow_id: str, key: str) -> str | None:
        """The latest value of event ``key``, or None if it was never set."""
        ...

    def get_all_events(self, workflow_id: str) -> dict[str, str]:
        """The latest value of every event of the workflow."""
        ...

    # --- streams ---------------------------------------------------------------------

    def write_stream(
        self,
        workflow_id: str,
        key: str,
        value: str,
        function_id: int,
        checkpoint: Checkpoint | None,
    ) -> int:
        """Append ``value`` to stream ``key`` at the next offset (0, 1, ...), plus
        ``checkpoint`` if given, in one transaction; return the offset. Raises
        ``DBOSNonExistentWorkflowError`` if the workflow is missing."""
        ...

    def read_stream(self, workflow_id: str, key: str, offset: int, limit: int = 1) -> StreamRead:
        """The value at ``offset`` (None if not yet written) and the workflow's status;
        with ``limit`` > 1, also up to ``limit - 1`` values written after it (one read)."""
        ...

    # --- queues ----------------------------------------------------------------------

    def claim_queued(
        self,
        queue_name: str,
        *,
        executor_id: str,
        application_version: str | None,
        limits: QueueLimits,
        local_running: int,
        partition_key: str | None,
        max_claims: int | None,
        now_ms: int,
        partition_local_running: int | None = None,
        take_unversioned: bool = True,
    ) -> list[WorkflowRecord]:
        """Dequeue what the queue's limits allow now, in one transaction; return the
        claimed rows in start order (``queue_policy.order_key``).

        ``limits.scopes()`` says which limits hold for the whole queue and which per
        partition: the queue-wide counts are over every row of ``queue_name``, the
        partition's over the scope below (the whole queue without a ``partition_key``).
        ``local_running`` is this process's count for the queue and
        ``partition_local_running`` for the partition (``local_running`` if None).

        The scope is the rows of ``queue_name`` (with ``queue_partition_key =
        partition_key`` when a key is given). In that scope, first every DELAYED row with
        ``delay_until_epoch_ms <= now_ms`` becomes ENQUEUED (``updated_at = now_ms``).
        Then the counts are taken: PENDING rows, and (with a rate limit) rows that are
        neither ENQUEUED nor DELAYED whose ``started_at_epoch_ms`` is inside the rate
        window ending at ``now_ms``. ``queue_policy.budget(limits, counts, max_claims)``
        (with ``local_running`` as this process's count) says how many may start; that
        many ENQUEUED rows whose ``application_version`` is ``application_version``, or
        empty or None if ``take_unversioned`` (any, if ``application_version`` is None;
        an executor not on the latest version leaves unversioned rows to those that
        are) are taken in start order and
        claimed as ``claim_workflow`` claims one. Claims are exact across processes: two
        concurrent calls never exceed a limit together. If this process has no room
        (``max_claims`` or ``worker_concurrency - local_running`` is 0), nothing is read or
        written (delayed rows included).
        """
        ...

    def claim_partition_heads(
        self,
        queue_name: str,
        *,
        executor_id: str,
        application_version: str | None,
        max_claims: int | None,
        now_ms: int,
        take_unversioned: bool = True,
    ) -> list[WorkflowRecord]:
        """``claim_queued`` for a queue whose partitions each run one workflow at a time
        (``queue_policy.sweeps_heads``), all partitions in one transaction: release the
        queue's due DELAYED rows, then claim the first claimable row (as
        ``claim_queued`` chooses them) of each partition key that has no PENDING row,
        the oldest heads first, at most ``max_claims``. Two concurrent calls never
        start two rows of one partition. Nothing is read or written if ``max_claims``
        is 0."""
        ...

    def queued_partitions(self, queue_name: str, now_ms: int) -> list[str]:
        """The distinct partition keys (sorted) of rows of ``queue_name`` that are
        ENQUEUED, or DELAYED with ``delay_until_epoch_ms <= now_ms``."""
        ...

    def update_delayed(
        self, workflow_id: str, *, delay_until_epoch_ms: int, inputs: str | None, now_ms: int
    ) -> bool:
        """Move a DELAYED row's due time (and replace its ``inputs`` if given), setting
        ``updated_at``; whether a DELAYED row was changed (other rows are left alone)."""
        ...

    def bounce_debounced(
        self,
        name: str,
        queue_name: str,
        deduplication_id: str,
        *,
        delay_until_epoch_ms: int,
        inputs: str,
        now_ms: int,
    ) -> str | None:
        """The debouncer's bounce: the DELAYED, ``is_debounced`` row of workflow ``name``
        holding ``deduplication_id`` on ``queue_name`` gets ``delay_until_epoch_ms``
        (but not past its ``debounce_deadline_epoch_ms``), ``inputs`` and ``updated_at``;
        return its id, or None (writing nothing) if there is no such row.

        A debounced row gives its deduplication id back (set to None) when it leaves
        DELAYED: released by ``claim_queued`` or claimed by it.
        """
        ...

    # --- recovery in bulk ------------------------------------------------------------

    def begin_recovery_many(
        self, workflow_ids: Sequence[str], executor_id: str, now_ms: int
    ) -> list[WorkflowRecord]:
        """``begin_recovery`` of every listed row, in one transaction (recovery at launch
        claims hundreds of rows; one write each would cap its rate at the commit rate).

        Returns the claimed rows, in the order of ``workflow_ids`` (a repeated id counts
        once); missing rows and rows that are not PENDING are skipped, unchanged.
        """
        ...

    def load_checkpoints_many(self, workflow_ids: Sequence[str]) -> dict[str, list[Checkpoint]]:
        """``load_checkpoints`` of every listed workflow in one read: a key for each id
        (an empty list for a workflow with no checkpoints, or none at all)."""
        ...
