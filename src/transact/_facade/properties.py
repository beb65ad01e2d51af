"""What the ``DBOS`` class properties read: the running workflow's context."""

from __future__ import annotations

import logging

from transact._facade.context import ambient_auth
from transact._runtime.state import current_frame

logger = logging.getLogger("dbos")


def workflow_id() -> str | None:
    """The id of the running workflow (also inside its steps), else None."""
    frame = current_frame()
    return frame.workflow.workflow_id if frame is not None else None


def step_id() -> int | None:
    """The function id of the running step, else None."""
    frame = current_frame()
    return frame.step_id if frame is not None else None


def authenticated_user() -> str | None:
    """The user the running workflow acts for (``DBOSContextSetAuth``), else None."""
    frame = current_frame()
    if frame is not None:
        return frame.workflow.authenticated_user
    return ambient_auth()[0]


def authenticated_roles() -> list[str] | None:
    """The roles of ``authenticated_user``, else None."""
    frame = current_frame()
    roles = frame.workflow.authenticated_roles if frame is not None else ambient_auth()[1]
    return list(roles) if roles is not None else None


def library_logger() -> logging.Logger:
    """DBOS's logger, ``logging.getLogger("dbos")``: the library logs there, and
    ``DBOS(config=...)`` gives it a console handler at ``log_level``."""
    return logger
