"""Revising workflows after the fact (attributes, rewind) and application versions."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Integer,
    Text,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from transact._core.status import WorkflowStatusString
from transact._store.records import Reowned, VersionRecord, WorkflowRecord
from transact._store.revision_rules import merged_attributes, rewind_refusal
from transact._store.sql.engine.backend import Backend, Mode, chunked
from transact._store.sql.schema.tables import (
    operation_outputs,
    streams,
    workflow_events,
    workflow_events_history,
)
from transact._store.sql.schema.versions import application_versions
from transact._store.sql.verbs.maintenance import REBUILD_EVENTS
from transact._store.sql.verbs.workflow_rows import ACTIVE_STATUSES, ws
from transact._store.sql.verbs.workflows import read_workflow
from transact.errors import DBOSException, DBOSNonExistentWorkflowError

__all__ = ["RevisionVerbs"]

_c = ws.c
_WF = bindparam("wf", type_=Text)
_STEP = bindparam("start_step", type_=Integer)
_ATTRS = select(_c.attributes).where(_c.workflow_uuid == _WF)
_SET_ATTRS = (
    update(ws)
    .where(_c.workflow_uuid == _WF)
    .values(attributes=bindparam("attributes", type_=Text), updated_at=bindparam("now"))
)
_STATUS = select(_c.status).where(_c.workflow_uuid == _WF)
_FORGET = [
    delete(t).where(t.c.workflow_uuid == _WF, t.c.function_id >= _STEP)
    for t in (operation_outputs, workflow_events_history, streams)
]
_CLEAR_EVENTS = delete(workflow_events).where(workflow_events.c.workflow_uuid == _WF)
_REQUEUE = (
    update(ws)
    .where(_c.workflow_uuid == _WF, _c.status.notin_(ACTIVE_STATUSES))
    .values(
        status=WorkflowStatusString.ENQUEUED.value,
        queue_name=bindparam("queue", type_=Text),
        output=None,
        error=None,
        recovery_attempts=0,
        workflow_deadline_epoch_ms=None,
        deduplication_id=None,
        started_at_epoch_ms=None,
        completed_at=None,
        updated_at=bindparam("now"),
    )
)

av = application_versions
_APP = bindparam("app", type_=Text)
_NAME = bindparam("name", type_=Text)
_SAME_APP = av.c.application_name.is_not_distinct_from(_APP)
_FIND_VERSION = select(av.c.version_id).where(av.c.version_name == _NAME, _SAME_APP)
_INSERT_VERSION = insert(av)
_LIST_VERSIONS = (
    select(av)
    .where((av.c.application_name == _APP) | av.c.application_name.is_(None))
    .order_by(av.c.version_timestamp.desc(), av.c.version_name)
)
_TOP = select(func.max(av.c.version_timestamp))
_PROMOTE = (
    update(av)
    .where(av.c.version_name == _NAME, _SAME_APP)
    .values(version_timestamp=bindparam("ts"))
)

# --- renaming an application -----------------------------------------------------------

_NEW_APP = bindparam("new_app", type_=Text)
_OLD_APP = bindparam("old_app", type_=Text)
_VERSION_ID = bindparam("row_id", type_=Text)
_IDS = bindparam("ids", expanding=True, type_=Text)
_HELD = select(av.c.version_id, av.c.version_timestamp).where(
    av.c.version_name == _NAME, av.c.application_name == _NEW_APP
)
_MOVE_VERSION = update(av).where(av.c.version_id == _VERSION_ID).values(application_name=_NEW_APP)
_MERGE_VERSION = (
    update(av).where(av.c.version_id == _VERSION_ID).values(version_timestamp=bindparam("ts"))
)
_DROP_VERSION = delete(av).where(av.c.version_id == _VERSION_ID)


def _owned_by(column: Column[Any], owners: list[str | None]) -> ColumnElement[bool]:
    """Rows whose application name is one of ``owners`` (None: unclaimed); the name is
    bound as ``old_app``."""
    return or_(*(column.is_(None) if o is None else column == _OLD_APP for o in owners))


class RevisionVerbs:
    """Attributes, rewind and application versions (a mixin of ``SQLStore``)."""

    _db: Backend

    def update_workflow_attributes(
        self, workflow_id: str, attributes: str | None, *, merge: bool, now_ms: int
    ) -> bool:
        """Replace (or merge into) the row's attributes (see ``Store``)."""

        def work(conn: Connection) -> bool:
            current = conn.execute(_ATTRS, {"wf": workflow_id}).first()
            if current is None:
                return False
            new = merged_attributes(current[0], attributes, merge)
            conn.execute(_SET_ATTRS, {"wf": workflow_id, "attributes": new, "now": now_ms})
            return True

        return self._db.run(Mode.WRITE, work)

    def rewind_workflow(
        self, workflow_id: str, start_step: int, queue_name: str, now_ms: int
    ) -> WorkflowRecord:
        """Forget the finished workflow's history from ``start_step`` on and put it back
        in line (see ``Store``)."""
        params = {"wf": workflow_id, "start_step": start_step, "queue": queue_name, "now": now_ms}

        def work(conn: Connection) -> WorkflowRecord:
            status = conn.execute(_STATUS, params).scalar()
            if status is None:
                raise DBOSNonExistentWorkflowError("Workflow", workflow_id)
            if status in ACTIVE_STATUSES:
                raise rewind_refusal(workflow_id, status)
            for stmt in _FORGET:
                conn.execute(stmt, params)
            conn.execute(_CLEAR_EVENTS, params)
            conn.execute(REBUILD_EVENTS, {"new": workflow_id})
            conn.execute(_REQUEUE, params)
            row = read_workflow(conn, workflow_id)
            assert row is not None
            return row

        return self._db.run(Mode.WRITE, work)

    def register_application_version(
        self, version_name: str, application_name: str | None, now_ms: int
    ) -> None:
        """Record the version unless it is recorded (see ``Store``)."""
        try:
            self._db.run(
                Mode.WRITE, lambda conn: _register(conn, version_name, application_name, now_ms)
            )
        except DBOSException:
            # Processes launching together race to record one version: the loser's
            # insert meets the winner's row, which is all it wanted.
            recorded = self.list_application_versions(application_name)
            if not any(v.version_name == version_name for v in recorded):
                raise

    def list_application_versions(self, application_name: str | None) -> list[VersionRecord]:
        """The application's and unclaimed versions, latest first (see ``Store``)."""

        def work(conn: Connection) -> list[VersionRecord]:
            rows = conn.execute(_LIST_VERSIONS, {"app": application_name}).mappings()
            return [VersionRecord(**dict(row)) for row in rows]

        return self._db.run(Mode.READ, work)

    def set_latest_application_version(
        self, version_name: str, application_name: str | None, now_ms: int
    ) -> None:
        """Make the version the latest (see ``Store``)."""

        def work(conn: Connection) -> None:
            _register(conn, version_name, application_name, now_ms)
            top = conn.execute(_TOP).scalar() or now_ms
            params = {"name": version_name, "app": application_name, "ts": max(now_ms, top + 1)}
            conn.execute(_PROMOTE, params)

        self._db.run(Mode.WRITE, work)

    def rename_application(
        self, old_name: str | None, new_name: str, *, adopt_unclaimed: bool, batch_size: int
    ) -> Reowned:
        """Re-own the rows of ``old_name`` (and unclaimed ones) as ``new_name``, a batch
        per transaction (see ``Store``)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        owners: list[str | None] = [] if old_name is None else [old_name]
        if adopt_unclaimed:
            owners.append(None)
        if not owners:
            return Reowned(workflows=0, versions=0)
        params = {"old_app": old_name, "new_app": new_name}
        workflows = self._reown_workflows(
            _owned_by(_c.application_name, owners), params, batch_size
        )
        versions = 0
        for owner in owners:  # ``old_name``'s first: the order decides which row stays
            owned = _owned_by(av.c.application_name, [owner])
            versions += self._reown_versions(owned, params, batch_size)
        return Reowned(workflows=workflows, versions=versions)

    def _reown_workflows(
        self, owned: ColumnElement[bool], params: dict[str, Any], batch_size: int
    ) -> int:
        # Batches walk the primary key (each starts after the last id of the one before),
        # so no batch scans again the rows earlier batches re-owned: there is no index on
        # the application name for the rows still to do.
        page = select(_c.workflow_uuid).where(owned).order_by(_c.workflow_uuid).limit(batch_size)
        reown = (
            update(ws).where(_c.workflow_uuid.in_(_IDS), owned).values(application_name=_NEW_APP)
        )
        total = 0
        after: str | None = None
        while True:

            def batch(conn: Connection, after: str | None = after) -> tuple[int, str | None]:
                query = page if after is None else page.where(_c.workflow_uuid > after)
                ids = list(conn.execute(query, params).scalars())
                changed = 0
                for chunk in chunked(ids):
                    changed += conn.execute(reown, {**params, "ids": list(chunk)}).rowcount
                return changed, (ids[-1] if ids else None)

            changed, after = self._db.run(Mode.WRITE, batch)
            total += changed
            if after is None:
                return total

    def _reown_versions(
        self, owned: ColumnElement[bool], params: dict[str, Any], batch_size: int
    ) -> int:
        # A re-owned or merged row leaves ``owned``, so every batch reads from the start.
        page = (
            select(av.c.version_id, av.c.version_name, av.c.version_timestamp)
            .where(owned)
            .order_by(av.c.version_id)
            .limit(batch_size)
        )
        new_app = params["new_app"]

        def batch(conn: Connection) -> int:
            rows = conn.execute(page, params).all()
            for version_id, version_name, timestamp in rows:
                held = conn.execute(_HELD, {"name": version_name, "new_app": new_app}).first()
                if held is None:
                    conn.execute(_MOVE_VERSION, {"row_id": version_id, "new_app": new_app})
                else:  # the name is taken: keep the held row, at the later timestamp
                    latest = max(held.version_timestamp, timestamp)
                    conn.execute(_MERGE_VERSION, {"row_id": held.version_id, "ts": latest})
                    conn.execute(_DROP_VERSION, {"row_id": version_id})
            return len(rows)

        total = 0
        while changed := self._db.run(Mode.WRITE, batch):
            total += changed
        return total


def _register(conn: Connection, version_name: str, app: str | None, now_ms: int) -> None:
    if conn.execute(_FIND_VERSION, {"name": version_name, "app": app}).first() is None:
        top = conn.execute(_TOP).scalar()
        conn.execute(
            _INSERT_VERSION,
            {
                "version_id": str(uuid.uuid4()),
                "version_name": version_name,
                "version_timestamp": now_ms if top is None else max(now_ms, top + 1),
                "created_at": now_ms,
                "application_name": app,
            },
        )
