"""The in-memory store's verbs that revise workflows after the fact (attributes, rewind)
and keep application versions."""

from __future__ import annotations

import uuid

import attrs

from transact._core.status import WorkflowStatusString
from transact._store.memory.state import ACTIVE_VALUES, MemoryState
from transact._store.records import Reowned, VersionRecord, WorkflowRecord
from transact._store.revision_rules import merged_attributes, rewind_refusal
from transact.errors import DBOSNonExistentWorkflowError

__all__ = ["RevisionVerbs"]


class RevisionVerbs(MemoryState):
    """Attributes, rewind and application versions (a mixin of ``MemoryStore``)."""

    def update_workflow_attributes(
        self, workflow_id: str, attributes: str | None, *, merge: bool, now_ms: int
    ) -> bool:
        """Replace (or merge into) the row's attributes (see ``Store``)."""
        with self._lock:
            row = self._workflows.get(workflow_id)
            if row is None:
                return False
            new = merged_attributes(row.attributes, attributes, merge)
            self._workflows[workflow_id] = attrs.evolve(row, attributes=new, updated_at=now_ms)
            return True

    def rewind_workflow(
        self, workflow_id: str, start_step: int, queue_name: str, now_ms: int
    ) -> WorkflowRecord:
        """Forget the finished workflow's history from ``start_step`` on and put it back
        in line (see ``Store``)."""
        with self._lock:
            row = self._workflows.get(workflow_id)
            if row is None:
                raise DBOSNonExistentWorkflowError("Workflow", workflow_id)
            if row.status in ACTIVE_VALUES:
                raise rewind_refusal(workflow_id, row.status)
            checkpoints = self._checkpoints.get(workflow_id, {})
            self._checkpoints[workflow_id] = {
                fid: cp for fid, cp in checkpoints.items() if fid < start_step
            }
            history = {
                k: v
                for k, v in self._event_history.get(workflow_id, {}).items()
                if k[1] < start_step
            }
            self._event_history[workflow_id] = history
            self._events[workflow_id] = {key: history[(key, fid)] for key, fid in sorted(history)}
            self._streams[workflow_id] = {
                key: {off: e for off, e in entries.items() if e.function_id < start_step}
                for key, entries in self._streams.get(workflow_id, {}).items()
            }
            updated = attrs.evolve(
                row,
                status=WorkflowStatusString.ENQUEUED.value,
                queue_name=queue_name,
                output=None,
                error=None,
                recovery_attempts=0,
                workflow_deadline_epoch_ms=None,
                deduplication_id=None,
                started_at_epoch_ms=None,
                completed_at=None,
                updated_at=now_ms,
            )
            self._workflows[workflow_id] = updated
            return updated

    def register_application_version(
        self, version_name: str, application_name: str | None, now_ms: int
    ) -> None:
        """Record the version unless it is recorded (see ``Store``)."""
        with self._lock:
            key = (application_name, version_name)
            if key not in self._versions:
                top = max((v.version_timestamp for v in self._versions.values()), default=-1)
                self._versions[key] = VersionRecord(
                    str(uuid.uuid4()), version_name, max(now_ms, top + 1), now_ms, application_name
                )

    def list_application_versions(self, application_name: str | None) -> list[VersionRecord]:
        """The application's and unclaimed versions, latest first (see ``Store``)."""
        with self._lock:
            rows = [
                v
                for v in self._versions.values()
                if v.application_name is None or v.application_name == application_name
            ]
        return sorted(rows, key=lambda v: (-v.version_timestamp, v.version_name))

    def set_latest_application_version(
        self, version_name: str, application_name: str | None, now_ms: int
    ) -> None:
        """Make the version the latest (see ``Store``)."""
        with self._lock:
            self.register_application_version(version_name, application_name, now_ms)
            key = (application_name, version_name)
            top = max((v.version_timestamp for v in self._versions.values()), default=now_ms)
            self._versions[key] = attrs.evolve(
                self._versions[key], version_timestamp=max(now_ms, top + 1)
            )

    def rename_application(
        self, old_name: str | None, new_name: str, *, adopt_unclaimed: bool, batch_size: int
    ) -> Reowned:
        """Re-own the rows of ``old_name`` (and unclaimed ones) as ``new_name`` (see
        ``Store``). One process holds the model, so batches would change nothing seen."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        owners: list[str | None] = [] if old_name is None else [old_name]
        if adopt_unclaimed:
            owners.append(None)
        with self._lock:
            workflows = 0
            for workflow_id, row in list(self._workflows.items()):
                if row.application_name in owners:
                    self._workflows[workflow_id] = attrs.evolve(row, application_name=new_name)
                    workflows += 1
            versions = 0
            for owner in owners:  # ``old_name``'s first: the order decides which row stays
                for key in [k for k in self._versions if k[0] == owner]:
                    self._reown_version(self._versions.pop(key), new_name)
                    versions += 1
            return Reowned(workflows=workflows, versions=versions)

    def _reown_version(self, version: VersionRecord, new_name: str) -> None:
        """Give ``version`` to ``new_name``, or merge it into the row of the same name
        ``new_name`` holds (which keeps the later timestamp of the two)."""
        key = (new_name, version.version_name)
        held = self._versions.get(key)
        if held is None:
            self._versions[key] = attrs.evolve(version, application_name=new_name)
        else:
            latest = max(held.version_timestamp, version.version_timestamp)
            self._versions[key] = attrs.evolve(held, version_timestamp=latest)
