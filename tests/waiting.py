"""Helpers for tests that wait on workflows running in the background."""

from __future__ import annotations

import time
from collections.abc import Callable

from transact import DBOS


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``check`` until it holds; ``AssertionError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def status_of(workflow_id: str) -> str | None:
    """The workflow's status string, or None if it does not exist."""
    status = DBOS.get_workflow_status(workflow_id)
    return status.status if status is not None else None
