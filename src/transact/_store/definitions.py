"""The part of the ``Store`` protocol about what surrounds workflows rather than runs
them: revisions of a workflow's row (attributes, rewind), application versions, and
queue and schedule definitions kept in the database. Same contract as ``protocol.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from transact._store.records import (
    QueueRecord,
    Reowned,
    ScheduleRecord,
    VersionRecord,
    WorkflowRecord,
)


class DefinitionStore(Protocol):
    """Revisions, application versions, queue and schedule definitions."""

    # --- revisions and application versions --------------------------------------------

    def update_workflow_attributes(
        self, workflow_id: str, attributes: str | None, *, merge: bool, now_ms: int
    ) -> bool:
        """Set the row's ``attributes`` (JSON object text; None clears them) and
        ``updated_at``; with ``merge``, each key of ``attributes`` is set over the existing
        ones (``revision_rules.merged_attributes``). False (nothing written) if the row
        is missing."""
        ...

    def rewind_workflow(
        self, workflow_id: str, start_step: int, queue_name: str, now_ms: int
    ) -> WorkflowRecord:
        """In one transaction: delete the workflow's checkpoints, event-history entries
        and stream entries at ``start_step`` and after, rebuild its latest events from
        the history left, and put it back in line as ``resume_workflow`` does (output and
        error cleared too); return the updated row. Raises
        ``DBOSNonExistentWorkflowError`` if it is missing and ``DBOSException``
        (``revision_rules.rewind_refusal``) if it is PENDING, ENQUEUED or DELAYED."""
        ...

    def register_application_version(
        self, version_name: str, application_name: str | None, now_ms: int
    ) -> None:
        """Record (``application_name``, ``version_name``), created at ``now_ms``, unless
        it is recorded already (then nothing changes). A new version is the latest: its
        timestamp is ``now_ms``, or the highest timestamp + 1 if that is not above it."""
        ...

    def list_application_versions(self, application_name: str | None) -> list[VersionRecord]:
        """The versions of ``application_name`` and the unclaimed ones (application name
        None), highest ``version_timestamp`` first (then by name)."""
        ...

    def set_latest_application_version(
        self, version_name: str, application_name: str | None, now_ms: int
    ) -> None:
        """Register the version if needed and give it a timestamp above every other
        version's (``now_ms``, or the highest timestamp + 1 if that is not above it)."""
        ...

    def rename_application(
        self, old_name: str | None, new_name: str, *, adopt_unclaimed: bool, batch_size: int
    ) -> Reowned:
        """Give ``new_name`` the ``workflow_status`` and ``application_versions`` rows
        whose application name is ``old_name`` (None: none of them) and, with
        ``adopt_unclaimed``, those whose application name is None; return how many rows
        of each table left their old owner. Only ``application_name`` changes (a
        workflow's ``updated_at`` too stays: its run did not change).

        Works in batches of at most ``batch_size`` rows, one transaction each, so no
        transaction holds many running workflows' rows; a crash midway leaves the
        finished batches done and the rest to a second call. Versions of ``old_name``
        go before unclaimed ones. A version whose name ``new_name`` already holds is
        merged into that row, which keeps its id and takes the later
        ``version_timestamp`` of the two (so which version is the latest does not
        change), and the duplicate is deleted: it is counted, having left its owner.
        The caller checks the names (``new_name`` is not ``old_name``); ``ValueError``
        if ``batch_size`` is below 1."""
        ...

    # --- queue and schedule definitions (migration 8) --------------------------------
    # Queue rows: ``put_queue`` inserts, or on a taken name overwrites the settings
    # (keeping ``created_at``) only with ``replace``, and returns the stored row;
    # ``update_queue`` sets ``QueueRecord`` fields other than ``name``/``created_at``
    # (``ValueError`` for others) plus ``updated_at``, None if the row is missing.
    # Schedules: ``create_schedule`` is False (writing nothing) on a taken name;
    # ``apply_schedules`` upserts all in one transaction, an existing one keeping its id,
    # status and ``last_fired_at``; ``list_schedules`` filters match any value given;
    # ``schedule_fired`` only moves ``last_fired_at`` forward (one ISO format, so text
    # order is time order). Lists are ordered by name; deletes say whether a row existed.

    def put_queue(self, record: QueueRecord, *, replace: bool) -> QueueRecord: ...
    def get_queue(self, name: str) -> QueueRecord | None: ...
    def list_queues(self) -> list[QueueRecord]: ...
    def update_queue(
        self, name: str, changes: Mapping[str, object], now_ms: int
    ) -> QueueRecord | None: ...
    def delete_queue(self, name: str) -> bool: ...
    def create_schedule(self, record: ScheduleRecord) -> bool: ...
    def apply_schedules(self, records: Sequence[ScheduleRecord]) -> None: ...
    def get_schedule(self, name: str) -> ScheduleRecord | None: ...
    def list_schedules(
        self,
        *,
        statuses: Sequence[str] | None = None,
        workflow_names: Sequence[str] | None = None,
        name_prefixes: Sequence[str] | None = None,
    ) -> list[ScheduleRecord]: ...
    def delete_schedule(self, name: str) -> bool: ...
    def set_schedule_status(self, name: str, status: str) -> bool: ...
    def schedule_fired(self, name: str, fired_at: str) -> None: ...
