"""Queue and schedule definitions kept in the database (see ``Store``): the ``queues``
and ``workflow_schedules`` tables of migration 8."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import Connection, delete, false, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from transact._store.records import QueueRecord, ScheduleRecord
from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.schema.tables import queues, workflow_schedules

__all__ = ["DefinitionVerbs"]

_q = queues.c
_s = workflow_schedules.c
_QUEUE_FIELDS = tuple(f.name for f in attrs.fields(QueueRecord))
_SCHEDULE_FIELDS = tuple(f.name for f in attrs.fields(ScheduleRecord))
_SETTINGS = frozenset(_QUEUE_FIELDS) - {"name", "created_at"}


def _queue(row: RowMapping) -> QueueRecord:
    values = dict(row)
    values["priority_enabled"] = bool(values["priority_enabled"])
    values["partition_queue"] = bool(values["partition_queue"])
    return QueueRecord(**values)


def _schedule(row: RowMapping) -> ScheduleRecord:
    values = dict(row)
    values["automatic_backfill"] = bool(values["automatic_backfill"])
    return ScheduleRecord(**values)


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class DefinitionVerbs:
    """The queue and schedule definition verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    # --- queues ----------------------------------------------------------------------

    def put_queue(self, record: QueueRecord, *, replace: bool) -> QueueRecord:
        """Insert or (with ``replace``) overwrite a queue row; return the stored row."""
        values = attrs.asdict(record)
        stmt = _insert(self._db.dialect_name, queues).values(**values)
        if replace:
            settings = {k: v for k, v in values.items() if k not in ("name", "created_at")}
            stmt = stmt.on_conflict_do_update(index_elements=[_q.name], set_=settings)
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=[_q.name])

        def work(conn: Connection) -> QueueRecord:
            conn.execute(stmt)
            return _queue(
                conn.execute(select(queues).where(_q.name == record.name)).mappings().one()
            )

        return self._db.run(Mode.WRITE, work)

    def get_queue(self, name: str) -> QueueRecord | None:
        """The queue row called ``name``, if any."""

        def work(conn: Connection) -> QueueRecord | None:
            row = conn.execute(select(queues).where(_q.name == name)).mappings().first()
            return None if row is None else _queue(row)

        return self._db.run(Mode.READ, work)

    def list_queues(self) -> list[QueueRecord]:
        """Every queue row, by name."""
        stmt = select(queues).order_by(_q.name)
        return self._db.run(
            Mode.READ, lambda conn: [_queue(r) for r in conn.execute(stmt).mappings()]
        )

    def update_queue(
        self, name: str, changes: Mapping[str, object], now_ms: int
    ) -> QueueRecord | None:
        """Change some settings of a queue row; return it (None if there is none)."""
        unknown = set(changes) - _SETTINGS
        if unknown:
            raise ValueError(f"not queue settings: {sorted(unknown)}")
        stmt = (
            update(queues)
            .where(_q.name == name)
            .values(**{**changes, "updated_at": now_ms})
            .returning(*queues.c)
        )

        def work(conn: Connection) -> QueueRecord | None:
            row = conn.execute(stmt).mappings().first()
            return None if row is None else _queue(row)

        return self._db.run(Mode.WRITE, work)

    def delete_queue(self, name: str) -> bool:
        """Delete a queue row; whether there was one."""
        stmt = delete(queues).where(_q.name == name)
        return self._db.run(Mode.WRITE, lambda conn: conn.execute(stmt).rowcount > 0)

    # --- schedules -------------------------------------------------------------------

    def create_schedule(self, record: ScheduleRecord) -> bool:
        """Insert a schedule; False (and nothing written) if its name is taken."""
        stmt = (
            _insert(self._db.dialect_name, workflow_schedules)
            .values(**attrs.asdict(record))
            .on_conflict_do_nothing(index_elements=[_s.schedule_name])
        )
        return self._db.run(Mode.WRITE, lambda conn: conn.execute(stmt).rowcount > 0)

    def apply_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        """Upsert schedules by name, keeping an existing one's id, status and last firing."""
        kept = ("schedule_id", "schedule_name", "status", "last_fired_at")

        def work(conn: Connection) -> None:
            for record in records:
                values = attrs.asdict(record)
                stmt = (
                    _insert(self._db.dialect_name, workflow_schedules)
                    .values(**values)
                    .on_conflict_do_update(
                        index_elements=[_s.schedule_name],
                        set_={k: v for k, v in values.items() if k not in kept},
                    )
                )
                conn.execute(stmt)

        self._db.run(Mode.WRITE, work)

    def get_schedule(self, name: str) -> ScheduleRecord | None:
        """The schedule called ``name``, if any."""

        def work(conn: Connection) -> ScheduleRecord | None:
            stmt = select(workflow_schedules).where(_s.schedule_name == name)
            row = conn.execute(stmt).mappings().first()
            return None if row is None else _schedule(row)

        return self._db.run(Mode.READ, work)

    def list_schedules(
        self,
        *,
        statuses: Sequence[str] | None = None,
        workflow_names: Sequence[str] | None = None,
        name_prefixes: Sequence[str] | None = None,
    ) -> list[ScheduleRecord]:
        """The schedules passing every filter given, by name."""
        stmt = select(workflow_schedules).order_by(_s.schedule_name)
        if statuses is not None:
            stmt = stmt.where(_s.status.in_(list(statuses)))
        if workflow_names is not None:
            stmt = stmt.where(_s.workflow_name.in_(list(workflow_names)))
        if name_prefixes is not None:
            stmt = stmt.where(
                or_(
                    *(func.substr(_s.schedule_name, 1, len(p)) == p for p in name_prefixes),
                    false(),
                )
            )
        return self._db.run(
            Mode.READ, lambda conn: [_schedule(r) for r in conn.execute(stmt).mappings()]
        )

    def delete_schedule(self, name: str) -> bool:
        """Delete a schedule; whether there was one."""
        stmt = delete(workflow_schedules).where(_s.schedule_name == name)
        return self._db.run(Mode.WRITE, lambda conn: conn.execute(stmt).rowcount > 0)

    def set_schedule_status(self, name: str, status: str) -> bool:
        """Set a schedule's status (ACTIVE or PAUSED); whether it exists."""
        stmt = update(workflow_schedules).where(_s.schedule_name == name).values(status=status)
        return self._db.run(Mode.WRITE, lambda conn: conn.execute(stmt).rowcount > 0)

    def schedule_fired(self, name: str, fired_at: str) -> None:
        """Record a firing: ``last_fired_at`` moves forward to ``fired_at`` (ISO, UTC)."""
        stmt = (
            update(workflow_schedules)
            .where(
                _s.schedule_name == name,
                or_(_s.last_fired_at.is_(None), _s.last_fired_at < fired_at),
            )
            .values(last_fired_at=fired_at)
        )
        self._db.run(Mode.WRITE, lambda conn: conn.execute(stmt))
