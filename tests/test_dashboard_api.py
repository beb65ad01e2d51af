"""The dashboard's JSON API, standalone (a URL) and mounted next to a launched DBOS, on
every store."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.waiting import status_of, wait_until
from transact import DBOS, Queue, SetWorkflowID
from transact.dashboard import dashboard_app

gates: dict[str, threading.Event] = {}


class Opaque:
    """A value the dashboard shows decoded (it can import this class)."""

    def __repr__(self) -> str:
        return "Opaque()"


@DBOS.step()
def dash_step(x: int) -> int:
    return x * 10


@DBOS.step()
def dash_fail() -> None:
    raise ValueError("the card was declined")


@DBOS.workflow()
def dash_child(x: int) -> int:
    return dash_step(x)


@DBOS.workflow()
def dash_parent(x: int) -> Opaque:
    dash_step(x)
    DBOS.set_event("progress", "half")
    dash_child(x)
    return Opaque()


@DBOS.workflow()
def dash_failing() -> None:
    dash_fail()


@DBOS.workflow()
def dash_blocked(tag: str) -> str:
    dash_step(1)
    while not gates[tag].wait(0.01):
        pass
    return tag


dash_queue = Queue("dashboard-queue", concurrency=1)


@pytest.fixture
def launched(system_database_url: str) -> Iterator[str]:
    DBOS(config={"name": "dashboard-test", "system_database_url": system_database_url})
    DBOS.launch()
    try:
        yield system_database_url
    finally:
        for gate in gates.values():
            gate.set()
        DBOS.destroy()


@pytest.fixture(params=["mounted", "standalone"])
def client(request: pytest.FixtureRequest, launched: str) -> Iterator[TestClient]:
    if request.param == "standalone" and launched.startswith("memory://"):
        pytest.skip("a standalone dashboard opens the database by URL: not the memory store")
    if request.param == "mounted":
        app = FastAPI()
        app.mount("/dashboard", dashboard_app())
        with TestClient(app, base_url="http://testserver/dashboard") as test_client:
            yield test_client
    else:
        with TestClient(dashboard_app(launched)) as test_client:
            yield test_client


def test_the_page_and_its_assets_ship_with_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'src="static/app.js"' in page.text
    assert "function showWorkflows" in client.get("/static/app.js").text
    assert client.get("/static/style.css").status_code == 200


def test_listing_counts_filters_and_pages(client: TestClient) -> None:
    for n in range(5):
        with SetWorkflowID(f"dash-{n}"):
            dash_parent(n)
    with SetWorkflowID("dash-failed"), pytest.raises(ValueError):
        dash_failing()
    page = client.get("/api/workflows", params={"limit": 2}).json()
    assert page["counts"]["SUCCESS"] == 10  # five parents and their five children
    assert page["counts"]["ERROR"] == 1
    assert page["total"] == 11 and len(page["workflows"]) == 2
    assert page["workflows"][0]["workflow_id"] == "dash-failed"  # newest first
    failed = client.get("/api/workflows", params={"status": "ERROR"}).json()
    assert [w["workflow_id"] for w in failed["workflows"]] == ["dash-failed"]
    assert failed["counts"]["SUCCESS"] == 10  # counts ignore the status filter
    prefixed = client.get("/api/workflows", params={"prefix": "dash-3"}).json()
    assert [w["workflow_id"] for w in prefixed["workflows"]] == ["dash-3-3", "dash-3"]  # + child
    second = client.get("/api/workflows", params={"limit": 2, "offset": 2}).json()
    assert len(second["workflows"]) == 2
    assert client.get("/api/workflows", params={"start": "yesterday"}).status_code == 400


def test_one_workflow_with_steps_events_children_and_errors(client: TestClient) -> None:
    with SetWorkflowID("dash-detail"):
        dash_parent(4)
    detail = client.get("/api/workflows/dash-detail").json()
    assert detail["status"] == "SUCCESS"
    assert detail["input"] == {"text": "{'args': (4,), 'kwargs': {}}"}
    assert detail["output"] == {"text": "Opaque()"}
    assert detail["events"] == {"progress": {"text": "'half'"}}
    names = [s["function_name"] for s in detail["steps"]]
    assert names[0].endswith("dash_step") and "DBOS.setEvent" in names
    child_step = next(s for s in detail["steps"] if s["child_workflow_id"])
    assert [c["workflow_id"] for c in detail["children"]] == [child_step["child_workflow_id"]]
    assert all(s["started_at"] <= s["completed_at"] for s in detail["steps"] if s["started_at"])
    with SetWorkflowID("dash-error"), pytest.raises(ValueError):
        dash_failing()
    failed = client.get("/api/workflows/dash-error").json()
    assert failed["error"] == {"type": "ValueError", "message": "the card was declined"}
    assert failed["steps"][0]["error"]["type"] == "ValueError"
    assert client.get("/api/workflows/no-such").status_code == 404


def test_cancel_resume_and_fork(client: TestClient) -> None:
    gates["act"] = threading.Event()
    handle = DBOS.start_workflow(dash_blocked, "act")
    wait_until(lambda: len(DBOS.list_workflow_steps(handle.workflow_id)) == 1)
    assert client.post(f"/api/workflows/{handle.workflow_id}/cancel").status_code == 200
    assert status_of(handle.workflow_id) == "CANCELLED"
    gates["act"].set()
    assert client.post(f"/api/workflows/{handle.workflow_id}/resume").status_code == 200
    wait_until(lambda: status_of(handle.workflow_id) == "SUCCESS")
    forked = client.post(f"/api/workflows/{handle.workflow_id}/fork", json={"start_step": 2})
    fork_id = forked.json()["workflow_id"]
    assert fork_id != handle.workflow_id
    assert DBOS.retrieve_workflow(fork_id).get_result() == "act"
    assert client.post("/api/workflows/no-such/cancel").status_code == 404
    bad_step = client.post(f"/api/workflows/{handle.workflow_id}/fork", json={"start_step": 0})
    assert bad_step.status_code == 400 and "at least 1" in bad_step.json()["error"]
    # Past the end of the log (as in DBOS): everything is copied and replayed.
    past = client.post(f"/api/workflows/{handle.workflow_id}/fork", json={"start_step": 99})
    assert DBOS.retrieve_workflow(past.json()["workflow_id"]).get_result() == "act"


def test_queues_show_limits_and_counts(client: TestClient) -> None:
    gates["q"] = threading.Event()
    ids = {dash_queue.enqueue(dash_blocked, "q").workflow_id for _ in range(2)}
    # Both may be enqueued within one clock tick, so either can be the one that runs.
    wait_until(lambda: "PENDING" in {status_of(i) for i in ids})
    queues = {q["name"]: q for q in client.get("/api/queues").json()}
    shown = queues["dashboard-queue"]
    assert (shown["enqueued"], shown["running"]) == (1, 1)
    gates["q"].set()


def test_a_token_is_required_when_set(launched: str) -> None:
    if launched.startswith("memory://"):
        pytest.skip("a standalone dashboard opens the database by URL")
    with TestClient(dashboard_app(launched, token="s3cret")) as test_client:
        assert test_client.get("/api/workflows").status_code == 401
        assert test_client.get("/api/workflows?token=wrong").status_code == 401
        headers = {"Authorization": "Bearer s3cret"}
        assert test_client.get("/api/workflows", headers=headers).status_code == 200
        assert test_client.get("/?token=s3cret").status_code == 200
        assert test_client.get("/api/workflows").status_code == 200  # the cookie it set
