"""``DBOSClient.rename_application`` (and its ``_async`` twin) on SQLite and Postgres: the
counts, adopting unclaimed rows, batches, a version name the new owner holds, and every
refusal with DBOS's message.

The method is called as ``rename.rename_application(client, ...)``: it becomes a
member of ``DBOSClient`` in ``client.py`` (see ``transact._client.rename``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import emptied
from transact import DBOSClient, EnqueueOptions
from transact._client import rename
from transact.errors import DBOSException

NONE = {"queues": 0, "schedules": 0, "versions": 0, "workflows": 0, "steps": 0}


@pytest.fixture
def url(durable_database_url: str) -> str:
    return emptied(durable_database_url)


@pytest.fixture
def client(url: str) -> Iterator[DBOSClient]:
    opened = DBOSClient(system_database_url=url)
    yield opened
    opened.destroy()


def _enqueue(url: str, application_name: str | None, *workflow_ids: str) -> None:
    """Workflows enqueued by a client of ``application_name`` (None: unclaimed rows)."""
    owner = DBOSClient(system_database_url=url, application_name=application_name)
    try:
        for workflow_id in workflow_ids:
            options: EnqueueOptions = {
                "workflow_name": "renamed_wf",
                "queue_name": "rename-q",
                "workflow_id": workflow_id,
            }
            owner.enqueue(options)
    finally:
        owner.destroy()


def _owners(client: DBOSClient) -> dict[str, str | None]:
    return {s.workflow_id: s.application_name for s in client.list_workflows()}


def _counts(**counts: int) -> dict[str, int]:
    return {**NONE, **counts}


def test_rename_re_owns_workflows_and_versions(url: str, client: DBOSClient) -> None:
    _enqueue(url, "old-app", "o1", "o2")
    _enqueue(url, None, "u1")
    _enqueue(url, "other-app", "x1")
    client.set_latest_application_version("v1", application_name="old-app")
    done = rename.rename_application(client, "old-app", "new-app")
    assert done == _counts(workflows=2, versions=1)
    assert _owners(client) == {"o1": "new-app", "o2": "new-app", "u1": None, "x1": "other-app"}
    assert [w.workflow_id for w in client.list_workflows(application_name="new-app")] == [
        "o1",
        "o2",
    ]
    # The queued rows wait as they did: only their owner changed.
    assert {s.status for s in client.list_workflows(application_name="new-app")} == {"ENQUEUED"}
    versions = client._connection.store.list_application_versions("new-app")
    assert [(v.version_name, v.application_name) for v in versions] == [("v1", "new-app")]
    assert rename.rename_application(client, "old-app", "new-app") == NONE


def test_rename_adopts_unclaimed_rows(url: str, client: DBOSClient) -> None:
    _enqueue(url, "old-app", "o1")
    _enqueue(url, None, "u1", "u2")
    done = rename.rename_application(client, None, "new-app", adopt_unclaimed_rows=True)
    assert done == _counts(workflows=2)
    assert _owners(client) == {"o1": "old-app", "u1": "new-app", "u2": "new-app"}
    _enqueue(url, None, "u3")
    done = rename.rename_application(client, "old-app", "new-app", adopt_unclaimed_rows=True)
    assert done == _counts(workflows=2)
    assert set(_owners(client).values()) == {"new-app"}


def test_rename_in_batches_of_one(url: str, client: DBOSClient) -> None:
    _enqueue(url, "old-app", *(f"b{n}" for n in range(7)))
    for name in ("v1", "v2", "v3"):
        client.set_latest_application_version(name, application_name="old-app")
    done = rename.rename_application(client, "old-app", "new-app", batch_size=1)
    assert done == _counts(workflows=7, versions=3)
    assert set(_owners(client).values()) == {"new-app"}


def test_rename_merges_a_version_the_new_name_holds(url: str, client: DBOSClient) -> None:
    client.set_latest_application_version("v1", application_name="new-app")
    client.set_latest_application_version("v2", application_name="old-app")
    client.set_latest_application_version("v1", application_name="old-app")  # the latest
    store = client._connection.store
    held = store.list_application_versions("new-app")[0]
    latest = store.list_application_versions("old-app")[0]
    assert (held.version_name, latest.version_name) == ("v1", "v1")
    done = rename.rename_application(client, "old-app", "new-app")
    assert done == _counts(versions=2)  # v2 moved, v1 merged into new-app's own
    after = store.list_application_versions("new-app")
    assert [(v.version_name, v.application_name) for v in after] == [
        ("v1", "new-app"),
        ("v2", "new-app"),
    ]
    # new-app's row stays, at old-app's later timestamp: v1 is still the latest.
    assert (after[0].version_id, after[0].version_timestamp) == (
        held.version_id,
        latest.version_timestamp,
    )
    assert store.list_application_versions("old-app") == []


def test_rename_async_twin(url: str, client: DBOSClient) -> None:
    _enqueue(url, "old-app", "a1")
    done = asyncio.run(rename.rename_application_async(client, "old-app", "new-app"))
    assert done == _counts(workflows=1)
    assert _owners(client) == {"a1": "new-app"}
    with pytest.raises(DBOSException, match="already holds that name"):
        asyncio.run(rename.rename_application_async(client, "new-app", "new-app"))


EMPTY = "The application's previous name cannot be empty."
NOTHING = "Nothing to re-own: name the application to rename, adopt unclaimed rows, or both."
INVALID = (
    "Invalid application name '{}'. Application names must be between 3 and 30 characters "
    "long and contain only lowercase letters, numbers, dashes, and underscores."
)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("", "new-app"), {}, EMPTY),
        ((None, "new-app"), {}, NOTHING),
        (("old-app", "ab"), {}, INVALID.format("ab")),
        (("old-app", "x" * 31), {}, INVALID.format("x" * 31)),
        (("old-app", "New-App"), {}, INVALID.format("New-App")),
        (("old-app", "new app"), {}, INVALID.format("new app")),
        (
            ("same-app", "same-app"),
            {},
            "Application 'same-app' already holds that name; nothing to rename.",
        ),
        # The checks' order: an empty old name before nothing to re-own or a bad new name.
        (("", "X"), {"adopt_unclaimed_rows": True}, EMPTY),
        ((None, "X"), {}, NOTHING),
        ((None, "X"), {"adopt_unclaimed_rows": True}, INVALID.format("X")),
        (("X", "X"), {}, INVALID.format("X")),
    ],
)
def test_rename_refusals(
    url: str, client: DBOSClient, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    _enqueue(url, "old-app", "r1")
    with pytest.raises(DBOSException) as raised:
        rename.rename_application(client, *args, **kwargs)
    assert str(raised.value) == f"DBOS Error: {message}"
    assert _owners(client) == {"r1": "old-app"}  # nothing written


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_rename_refuses_a_bad_batch_size_first(client: DBOSClient, batch_size: Any) -> None:
    with pytest.raises(ValueError) as raised:
        rename.rename_application(client, "", "X", batch_size=batch_size)
    assert str(raised.value) == f"batch_size must be a positive integer, got {batch_size}"


def test_rename_is_a_member_of_the_client(url: str, client: DBOSClient) -> None:
    _enqueue(url, "old-app", "m1")
    assert client.rename_application("old-app", "new-app")["workflows"] == 1
    done = asyncio.run(client.rename_application_async("new-app", "newer-app"))
    assert done["workflows"] == 1
    assert _owners(client) == {"m1": "newer-app"}
