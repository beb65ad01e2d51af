"""DBOS's logger: ``logging.getLogger("dbos")`` with a console handler of its own.

As in DBOS, the logger does not propagate to the root logger (an application's own
logging set-up does not print its records twice); the handler prints at
``console_log_level`` (default ``log_level``), the logger passes ``log_level`` (default
INFO), so ``DBOS.logger.info(...)`` prints once ``DBOS(config=...)`` was made.
"""

from __future__ import annotations

import logging
import os

from transact._facade import launched
from transact._runtime.state import current_frame

LOGGER_NAME = "dbos"
FORMAT = "%(asctime)s [%(levelname)8s] (%(name)s:%(filename)s:%(lineno)s) %(message)s"


class _ContextFilter(logging.Filter):
    """Adds DBOS's record attributes: ``applicationID``, ``applicationVersion``,
    ``executorID`` and, inside a workflow, ``operationUUID``."""

    def filter(self, record: logging.LogRecord) -> bool:
        runtime = launched.runtime_or_none()
        record.applicationID = os.environ.get("DBOS__APPID", "")
        record.applicationVersion = runtime.application_version if runtime else ""
        record.executorID = runtime.executor_id if runtime else ""
        frame = current_frame()
        if frame is not None:
            record.operationUUID = frame.workflow.workflow_id
        return True


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The console handler this module installs (found again on reconfiguration)."""


def configure_logger(log_level: str, console_log_level: str | None = None) -> logging.Logger:
    """Set the ``dbos`` logger's levels and install its console handler once."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(log_level.upper())
    logger.propagate = False
    handler = next((h for h in logger.handlers if isinstance(h, _ConsoleHandler)), None)
    if handler is None:
        handler = _ConsoleHandler()
        handler.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
        logger.addHandler(handler)
    handler.setLevel((console_log_level or log_level).upper())
    if not any(isinstance(f, _ContextFilter) for f in logger.filters):
        logger.addFilter(_ContextFilter())
    return logger
