"""``CoalescedPublisher`` (``coalesced_publish.py``): batches at least a gap apart, the
burst's last key always published, ``stop`` flushing at once, and a forked child that
publishes with a thread of its own."""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence

import pytest

from transact._store.coalesced_publish import CoalescedPublisher
from transact.errors import DBOSException


class Published:
    """A ``publish`` callback that records each call, and when it started; its first
    calls raise the exceptions ``fail`` gives, in turn."""

    def __init__(self, fail: Sequence[Exception] = ()) -> None:
        self.calls: list[tuple[float, list[str]]] = []
        self.threads: list[int] = []
        self.fail = list(fail)
        self.called = threading.Condition()

    def __call__(self, keys: Sequence[str]) -> None:
        with self.called:
            self.calls.append((time.monotonic(), list(keys)))
            self.threads.append(threading.get_ident())
            self.called.notify_all()
            if self.fail:
                raise self.fail.pop(0)

    def wait(self, count: int, timeout: float = 5) -> None:
        with self.called:
            assert self.called.wait_for(lambda: len(self.calls) >= count, timeout), self.calls

    def wait_since(self, moment: float, timeout: float = 5) -> None:
        """Until a call started at or after ``moment``."""
        with self.called:
            assert self.called.wait_for(lambda: self.calls[-1][0] >= moment, timeout)

    def batches(self) -> list[list[str]]:
        return [keys for _, keys in self.calls]


def publisher(published: Published, *, gap: float, first_inline: bool) -> CoalescedPublisher:
    return CoalescedPublisher(
        published, gap=lambda: gap, first_inline=first_inline, thread_name="test", what="tests"
    )


def test_deferred_the_first_key_goes_at_once_and_the_gap_s_keys_at_its_end() -> None:
    published = Published()
    gap = 2.0  # long enough that a stalled machine cannot pass for "at the gap's end"
    coalesced = publisher(published, gap=gap, first_inline=False)
    coalesced.start()
    try:
        start = time.monotonic()
        coalesced.announce("a")
        published.wait(1)
        assert published.calls[0][0] - start < gap  # at once, not at the gap's end
        first_done = time.monotonic()
        for key in ("b", "a", "b", "c"):
            coalesced.announce(key)
        published.wait(2, timeout=gap + 5)
        assert published.calls[1][0] - first_done >= gap * 0.99
        assert published.batches() == [["a"], ["a", "b", "c"]]  # one batch, sorted
    finally:
        coalesced.stop()


def test_inline_the_first_key_notifies_itself_and_starts_its_gap() -> None:
    published = Published()
    gap = 2.0  # long enough that the last check still falls in the batch's gap
    coalesced = publisher(published, gap=gap, first_inline=True)
    try:
        start = time.monotonic()
        assert coalesced.inline("a")
        assert not coalesced.inline("a")
        coalesced.announce("a")
        published.wait(1, timeout=gap + 5)
        assert published.calls[0][0] - start >= gap * 0.99
        # Just published by the batch: its gap runs again.
        assert not coalesced.inline("a")
    finally:
        coalesced.stop()


@pytest.mark.parametrize("first_inline", [False, True])
def test_the_last_key_of_a_burst_is_always_published(first_inline: bool) -> None:
    """Whenever a burst ends in its gap, its last key is published after it was
    announced; and no two batches are closer than the gap."""
    published = Published()
    gap = 0.01
    coalesced = publisher(published, gap=gap, first_inline=first_inline)
    last_announced = [0.0]
    try:

        def burst() -> None:
            deadline = time.monotonic() + 0.1
            while time.monotonic() < deadline:
                if not (first_inline and coalesced.inline("k")):
                    announced = time.monotonic()
                    coalesced.announce("k")
                    last_announced[0] = max(last_announced[0], announced)
                time.sleep(0.0003)

        writers = [threading.Thread(target=burst) for _ in range(3)]
        began = time.monotonic()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        ended = time.monotonic()
        published.wait_since(last_announced[0])
        starts = [at for at, _ in published.calls]
        assert all(b - a >= gap * 0.99 for a, b in itertools.pairwise(starts))
        # Hundreds of announcements, a batch per gap at most.
        assert len(starts) <= (ended - began) / gap + 2
    finally:
        coalesced.stop()


def test_the_gap_is_read_at_each_use() -> None:
    published = Published()
    gap = [0.0]
    coalesced = CoalescedPublisher(
        published, gap=lambda: gap[0], first_inline=False, thread_name="test", what="tests"
    )
    try:
        coalesced.announce("a")
        published.wait(1)
        gap[0] = 0.3  # widened while the thread runs: the next batch waits for it
        time.sleep(0.01)
        coalesced.announce("b")
        published.wait(2)
        coalesced.announce("c")
        published.wait(3)
        assert published.calls[2][0] - published.calls[1][0] >= 0.29
    finally:
        coalesced.stop()


@pytest.mark.parametrize("first_inline", [False, True])
def test_stop_publishes_what_is_pending_at_once_and_later_keys_inline(
    first_inline: bool,
) -> None:
    published = Published()
    coalesced = publisher(published, gap=30.0, first_inline=first_inline)
    coalesced.announce("a")  # deferred: at once; inline: at the end of a long gap
    if not first_inline:
        published.wait(1)
    coalesced.announce("b")  # deferred: in a long gap
    start = time.monotonic()
    coalesced.stop()
    assert time.monotonic() - start < 5  # not the gap's 30 s
    assert sorted(key for keys in published.batches() for key in keys) == ["a", "b"]
    coalesced.announce("c")
    assert published.batches()[-1] == ["c"]
    assert published.threads[-1] == threading.get_ident()  # nobody is left to do it later
    coalesced.stop()  # idempotent


def test_stop_before_any_key_ends_at_once() -> None:
    published = Published()
    coalesced = publisher(published, gap=0.005, first_inline=False)
    coalesced.stop()  # never started
    started = publisher(published, gap=0.005, first_inline=False)
    started.start()
    started.stop()
    assert published.calls == []


def test_a_failed_publish_is_logged_and_the_thread_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    published = Published(fail=[DBOSException("the server went away"), RuntimeError("a bug")])
    coalesced = publisher(published, gap=0.005, first_inline=False)
    try:
        with caplog.at_level(logging.WARNING, logger="dbos"):
            for count, key in enumerate("abc", start=1):
                coalesced.announce(key)
                published.wait(count)
        assert published.batches() == [["a"], ["b"], ["c"]]
        # (By message: the "dbos" logger's records may reach caplog twice.)
        records = {r.getMessage(): r for r in caplog.records if "Could not announce" in r.message}
        expected, unexpected = records.values()
        # An expected failure is one line; anything else carries its traceback.
        assert (expected.levelno, expected.exc_info) == (logging.WARNING, None)
        assert "the server went away" in expected.getMessage()
        assert unexpected.levelno == logging.ERROR and unexpected.exc_info is not None
    finally:
        coalesced.stop()


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="fork")
def test_a_forked_child_publishes_with_a_thread_of_its_own() -> None:
    read_end, write_end = os.pipe()

    def to_pipe(keys: Sequence[str]) -> None:
        os.write(write_end, (",".join(keys) + "\n").encode())

    coalesced = CoalescedPublisher(
        to_pipe, gap=lambda: 30.0, first_inline=False, thread_name="test", what="tests"
    )
    coalesced.announce("parent-first")  # at once
    os.read(read_end, 100)
    coalesced.announce("parent-pending")  # waits for the parent's 30 s gap
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread and pending key are not here
        code = 1
        try:
            coalesced.announce("child")
            coalesced.stop()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    os.set_blocking(read_end, False)  # whatever the child wrote is there
    assert os.read(read_end, 100) == b"child\n"
    os.set_blocking(read_end, True)
    coalesced.stop()
    assert os.read(read_end, 100) == b"parent-pending\n"
    os.close(read_end)
    os.close(write_end)
