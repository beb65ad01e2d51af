"""Postgres stream writes in a burst share their notifications (``coalesced_notices.py``):
the first after a quiet spell notifies in its statement, the rest of its gap once at
the gap's end, and only what committed is announced."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import pytest

from transact._store.sql.verbs.coalesced_notices import GAP_SECONDS, stream_notices


class Published:
    """A ``publish`` callback that records each call."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail
        self.called = threading.Event()

    def __call__(self, keys: Sequence[str]) -> None:
        self.calls.append(list(keys))
        self.called.set()
        if self.fail:
            raise RuntimeError("the database is away")


def test_the_first_write_after_a_quiet_spell_notifies_itself() -> None:
    published = Published()
    notices = stream_notices(published)
    try:
        assert notices.inline("stream:a::k") is True
        assert notices.inline("stream:a::k") is False  # in the gap it just started
        assert notices.inline("stream:b::k") is True  # another stream has its own gap
        time.sleep(GAP_SECONDS * 2)
        assert notices.inline("stream:a::k") is True  # a quiet spell again
        assert published.calls == []  # nothing was left to announce
    finally:
        notices.stop()


def test_the_writes_in_a_gap_are_announced_once_after_they_committed() -> None:
    published = Published()
    notices = stream_notices(published)
    try:
        assert notices.inline("stream:a::k")
        for _ in range(20):
            assert not notices.inline("stream:a::k")
            notices.announce("stream:a::k")
        notices.announce("stream:b::k")
        assert published.called.wait(5)
        time.sleep(GAP_SECONDS * 4)
        # One announcement for the burst (two if a slow machine spread it over two gaps).
        assert 1 <= len(published.calls) <= 2
        assert {key for call in published.calls for key in call} == {"stream:a::k", "stream:b::k"}
        published.calls.clear()
        # A key waiting for its announcement does not notify in its own statement.
        assert notices.inline("stream:c::k")
        notices.announce("stream:c::k")
        assert not notices.inline("stream:c::k")
    finally:
        notices.stop()
    assert published.calls[-1] == ["stream:c::k"]  # stopping announces what is pending


def test_after_stop_a_write_is_announced_at_once() -> None:
    published = Published()
    notices = stream_notices(published)
    notices.stop()
    notices.announce("stream:a::k")
    assert published.calls == [["stream:a::k"]]


def test_a_failed_announcement_is_logged_and_the_next_ones_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    published = Published(fail=True)
    notices = stream_notices(published)
    try:
        with caplog.at_level(logging.WARNING, logger="dbos"):
            notices.announce("stream:a::k")
            assert published.called.wait(5)
            published.called.clear()
            notices.announce("stream:b::k")
            assert published.called.wait(5)
        assert "Could not announce stream writes" in caplog.text
        assert published.calls == [["stream:a::k"], ["stream:b::k"]]
    finally:
        notices.stop()
