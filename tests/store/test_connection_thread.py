"""The outage log the store's connection threads share: one line lost, one line back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from transact._store.sql.dialects.connection_thread import ConnectionThread


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """The "dbos" logger's warnings, each once (a handler of its own: other tests may
    have configured that logger's handlers and propagation)."""
    handler = _Lines()
    logger = logging.getLogger("dbos")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def test_an_outage_logs_one_line_when_lost_and_one_when_back(logged: list[str]) -> None:
    thread = ConnectionThread(lambda: None, "t", "change watcher", "/tmp/x.db")
    thread._back()  # never lost: nothing to say
    for attempt in range(3):
        thread._lost(f"attempt {attempt} failed", "retrying")
    thread._back()
    thread._back()
    assert len(logged) == 2, logged
    assert logged[0] == "change watcher lost /tmp/x.db (attempt 0 failed); retrying"
    assert logged[1].startswith("change watcher back on /tmp/x.db after ")
    thread._lost("again", "retrying")  # a second outage is logged afresh
    assert logged[-1] == "change watcher lost /tmp/x.db (again); retrying"


def test_stop_before_start_returns() -> None:
    thread = ConnectionThread(lambda: None, "t", "w", "x")
    thread.stop(timeout=0.1)
    assert thread._stop.is_set()
