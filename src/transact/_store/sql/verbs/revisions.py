"""Revising workflows after the fact (attributes, rewind) and application versions."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, Integer, Text, bindparam, delete, func, insert, select, update

from transact._core.status import WorkflowStatusString
from transact._store.records import VersionRecord, WorkflowRecord
from transact._store.revision_rules import merged_attributes, rewind_refusal
from transact._store.sql.engine.backend import Backend, Mode
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
