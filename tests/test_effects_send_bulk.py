"""``DBOS.send_bulk`` / ``send_bulk_async`` / ``fx.send_bulk``, on every store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from transact import (
    DBOS,
    DBOSException,
    DBOSNonExistentWorkflowError,
    SendMessage,
    SetWorkflowID,
    fx,
)


@DBOS.workflow()
def bulk_receiver(count: int, timeout: float) -> list[Any]:
    return [DBOS.recv("t", timeout_seconds=timeout) for _ in range(count)]


@DBOS.workflow()
def bulk_sender(targets: list[str]) -> None:
    DBOS.send_bulk([SendMessage(t, f"to {t}", "t") for t in targets])


@DBOS.workflow()
def bulk_sender_fx(targets: list[str]) -> fx.Program[None]:
    yield from fx.send_bulk([SendMessage(t, [t], "t") for t in targets])


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    DBOS.destroy(destroy_registry=False)
    DBOS(config={"name": "test-bulk", "system_database_url": system_database_url})
    DBOS.launch()
    yield system_database_url
    DBOS.destroy(destroy_registry=False)


def receivers(*ids: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
    handles = []
    for workflow_id in ids:
        with SetWorkflowID(workflow_id):
            handles.append(DBOS.start_workflow(bulk_receiver, count, timeout))
    return handles


def test_send_bulk_in_workflow_is_one_checkpoint(url: str) -> None:
    a, b = receivers("ra", "rb")
    with SetWorkflowID("sender"):
        DBOS.start_workflow(bulk_sender, ["ra", "rb"]).get_result()
    assert a.get_result() == ["to ra"] and b.get_result() == ["to rb"]
    steps = DBOS.list_workflow_steps("sender")
    assert [(s["function_id"], s["function_name"]) for s in steps] == [(1, "DBOS.send_bulk")]


def test_fx_send_bulk(url: str) -> None:
    a, b = receivers("fa", "fb")
    with SetWorkflowID("fx-sender"):
        DBOS.start_workflow(bulk_sender_fx, ["fa", "fb"]).get_result()
    assert a.get_result() == [["fa"]] and b.get_result() == [["fb"]]


def test_send_bulk_outside_workflow_with_idempotency_keys(url: str) -> None:
    (a,) = receivers("ka", count=2, timeout=0.5)
    batch = [SendMessage("ka", "once", "t", idempotency_key="k1")]
    DBOS.send_bulk(batch)
    DBOS.send_bulk(batch)
    assert a.get_result() == ["once", None]


def test_send_bulk_async(url: str) -> None:
    (a,) = receivers("aa")
    asyncio.run(DBOS.send_bulk_async([SendMessage("aa", "async", "t")]))
    assert a.get_result() == ["async"]


def test_send_bulk_is_all_or_nothing(url: str) -> None:
    (a,) = receivers("present", timeout=0.5)
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.send_bulk([SendMessage("present", "m", "t"), SendMessage("absent", "m", "t")])
    assert a.get_result() == [None]


def test_send_bulk_refuses_duplicate_keys_and_bad_arguments(url: str) -> None:
    (a,) = receivers("dup", timeout=0.5)
    batch = [
        SendMessage("dup", 1, "t", idempotency_key="k2"),
        SendMessage("dup", 2, "t", idempotency_key="k1"),
        SendMessage("dup", 3, "t", idempotency_key="k2"),
        SendMessage("dup", 4, "t", idempotency_key="k1"),
    ]
    with pytest.raises(
        DBOSException, match=r"send_bulk received duplicate idempotency keys: k1, k2$"
    ):
        DBOS.send_bulk(batch)
    with pytest.raises(ValueError):
        DBOS.send_bulk([SendMessage("", "m")])
    with pytest.raises(ValueError):
        DBOS.send_bulk([SendMessage("dup", "m", idempotency_key="")])
    assert a.get_result() == [None]
