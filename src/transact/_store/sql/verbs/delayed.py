"""Delayed rows: moving a DELAYED workflow's start (``set_workflow_delay``) and the
debouncer's bounce (see ``Store``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, case, true, update

from transact._store.sql.engine.backend import Backend, Mode
from transact._store.sql.schema.tables import workflow_status
from transact._store.sql.verbs.workflow_rows import keyed, lit

__all__ = ["DelayedVerbs"]

ws = workflow_status
_c = ws.c


def _p(name: str, type_: Any) -> Any:
    return bindparam(name, type_=type_)


class DelayedVerbs:
    """The delayed-row verbs of the SQL store (a mixin of ``SQLStore``)."""

    _db: Backend

    def update_delayed(
        self, workflow_id: str, *, delay_until_epoch_ms: int, inputs: str | None, now_ms: int
    ) -> bool:
        """Move a DELAYED row's due time (and its inputs); whether there was one."""
        values: dict[str, Any] = {
            "delay_until_epoch_ms": delay_until_epoch_ms,
            "updated_at": now_ms,
        }
        if inputs is not None:
            values["inputs"] = inputs
        stmt = (
            update(ws)
            .where(_c.workflow_uuid == workflow_id, keyed(_c.status == lit("DELAYED")))
            .values(**values)
        )
        return self._db.run(Mode.WRITE, lambda conn: conn.execute(stmt).rowcount > 0)

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
        """Push back the DELAYED debounced row holding the key (see ``Store``)."""
        until = _p("until", BigInteger)
        stmt = (
            update(ws)
            .where(
                _c.queue_name == queue_name,
                _c.deduplication_id == deduplication_id,
                _c.status == lit("DELAYED"),
                _c.is_debounced.is_(true()),
                _c.name == name,
            )
            .values(
                delay_until_epoch_ms=case(
                    (
                        and_(
                            _c.debounce_deadline_epoch_ms.isnot(None),
                            _c.debounce_deadline_epoch_ms < until,
                        ),
                        _c.debounce_deadline_epoch_ms,
                    ),
                    else_=until,
                ),
                inputs=inputs,
                updated_at=now_ms,
            )
            .returning(_c.workflow_uuid)
        )
        params = {"until": delay_until_epoch_ms}
        return self._db.run(Mode.WRITE, lambda conn: conn.execute(stmt, params).scalar())
