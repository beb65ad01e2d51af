"""What both web integrations share: the idempotency header and DBOS's error body."""

from __future__ import annotations

from typing import Any

from transact.errors import DBOSException

IDEMPOTENCY_HEADER = "dbos-idempotency-key"
"""A request carrying this header runs its workflow under the header's value as its id,
so a retried request (even after a crash of the server) gets the first outcome."""


def error_body(exc: DBOSException) -> tuple[dict[str, Any], int]:
    """DBOS's JSON answer to a ``DBOSException`` escaping a route, with its status code."""
    body = {
        "message": str(exc),
        "dbos_error_code": exc.dbos_error_code,
        "dbos_error": type(exc).__name__,
    }
    return body, exc.status_code or 500
