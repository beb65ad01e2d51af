"""Queue and schedule definitions kept in the store, in memory (see ``Store``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from transact._store.memory.state import MemoryState
from transact._store.records import QueueRecord, ScheduleRecord

__all__ = ["QUEUE_SETTINGS", "DefinitionVerbs"]

QUEUE_SETTINGS = frozenset(
    f.name for f in attrs.fields(QueueRecord) if f.name not in ("name", "created_at")
)
"""The fields of a queue row that ``update_queue`` may change."""


class DefinitionVerbs(MemoryState):
    """The queue and schedule definition verbs of the in-memory store."""

    def __init__(self) -> None:
        super().__init__()
        self._queue_defs: dict[str, QueueRecord] = {}
        self._schedule_defs: dict[str, ScheduleRecord] = {}

    # --- queues ----------------------------------------------------------------------

    def put_queue(self, record: QueueRecord, *, replace: bool) -> QueueRecord:
        """Insert or (with ``replace``) overwrite a queue row; return the stored row."""
        with self._lock:
            old = self._queue_defs.get(record.name)
            if old is None:
                self._queue_defs[record.name] = record
            elif replace:
                self._queue_defs[record.name] = attrs.evolve(record, created_at=old.created_at)
            return self._queue_defs[record.name]

    def get_queue(self, name: str) -> QueueRecord | None:
        """The queue row called ``name``, if any."""
        with self._lock:
            return self._queue_defs.get(name)

    def list_queues(self) -> list[QueueRecord]:
        """Every queue row, by name."""
        with self._lock:
            return [self._queue_defs[k] for k in sorted(self._queue_defs)]

    def update_queue(
        self, name: str, changes: Mapping[str, object], now_ms: int
    ) -> QueueRecord | None:
        """Change some settings of a queue row; return it (None if there is none)."""
        _check_settings(changes)
        with self._lock:
            old = self._queue_defs.get(name)
            if old is None:
                return None
            new = attrs.evolve(old, **changes, updated_at=now_ms)  # type: ignore[arg-type]
            self._queue_defs[name] = new
            return new

    def delete_queue(self, name: str) -> bool:
        """Delete a queue row; whether there was one."""
        with self._lock:
            return self._queue_defs.pop(name, None) is not None

    # --- schedules -------------------------------------------------------------------

    def create_schedule(self, record: ScheduleRecord) -> bool:
        """Insert a schedule; False (and nothing written) if its name is taken."""
        with self._lock:
            if record.schedule_name in self._schedule_defs:
                return False
            self._schedule_defs[record.schedule_name] = record
            return True

    def apply_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        """Upsert schedules by name, keeping an existing one's id, status and last firing."""
        with self._lock:
            for record in records:
                old = self._schedule_defs.get(record.schedule_name)
                if old is not None:
                    record = attrs.evolve(
                        record,
                        schedule_id=old.schedule_id,
                        status=old.status,
                        last_fired_at=old.last_fired_at,
                    )
                self._schedule_defs[record.schedule_name] = record

    def get_schedule(self, name: str) -> ScheduleRecord | None:
        """The schedule called ``name``, if any."""
        with self._lock:
            return self._schedule_defs.get(name)

    def list_schedules(
        self,
        *,
        statuses: Sequence[str] | None = None,
        workflow_names: Sequence[str] | None = None,
        name_prefixes: Sequence[str] | None = None,
    ) -> list[ScheduleRecord]:
        """The schedules passing every filter given, by name."""
        with self._lock:
            rows = [self._schedule_defs[k] for k in sorted(self._schedule_defs)]
        return [
            r
            for r in rows
            if (statuses is None or r.status in statuses)
            and (workflow_names is None or r.workflow_name in workflow_names)
            and (name_prefixes is None or r.schedule_name.startswith(tuple(name_prefixes)))
        ]

    def delete_schedule(self, name: str) -> bool:
        """Delete a schedule; whether there was one."""
        with self._lock:
            return self._schedule_defs.pop(name, None) is not None

    def set_schedule_status(self, name: str, status: str) -> bool:
        """Set a schedule's status (ACTIVE or PAUSED); whether it exists."""
        with self._lock:
            old = self._schedule_defs.get(name)
            if old is None:
                return False
            self._schedule_defs[name] = attrs.evolve(old, status=status)
            return True

    def schedule_fired(self, name: str, fired_at: str) -> None:
        """Record a firing: ``last_fired_at`` moves forward to ``fired_at`` (ISO, UTC)."""
        with self._lock:
            old = self._schedule_defs.get(name)
            if old is not None and (old.last_fired_at is None or old.last_fired_at < fired_at):
                self._schedule_defs[name] = attrs.evolve(old, last_fired_at=fired_at)

    def _reset_definitions(self) -> None:
        with self._lock:
            self._queue_defs.clear()
            self._schedule_defs.clear()


def _check_settings(changes: Mapping[str, object]) -> None:
    unknown = set(changes) - QUEUE_SETTINGS - {"updated_at"}
    if unknown:
        raise ValueError(f"not queue settings: {sorted(unknown)}")
