"""The ``transact`` command end to end, as a subprocess, against SQLite and Postgres: this
test process is the application (a launched DBOS runs the workflows), the command
inspects and operates from another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests._pg import libpq_url
from tests.waiting import status_of, wait_until
from transact import DBOS, Queue, SetWorkflowID

gates: dict[str, threading.Event] = {}
cli_queue = Queue("cli-queue")


@DBOS.step()
def cli_step(x: int) -> int:
    return x + 1


@DBOS.workflow()
def cli_twice(x: int) -> int:
    return cli_step(x) + cli_step(x)


@DBOS.workflow()
def cli_blocked(tag: str) -> str:
    cli_step(0)
    while not gates[tag].wait(0.01):
        pass
    return tag


def transact(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DBOS_SYSTEM_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "transact", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        env=env,
    )


def ok(*args: str) -> Any:
    done = transact(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def failed(*args: str) -> str:
    done = transact(*args)
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


@pytest.fixture
def app(durable_database_url: str) -> Iterator[str]:
    DBOS(config={"name": "cli-test", "system_database_url": durable_database_url})
    DBOS.launch()
    try:
        yield durable_database_url
    finally:
        for gate in gates.values():
            gate.set()
        DBOS.destroy()


@pytest.mark.slow
def test_list_get_and_steps(app: str) -> None:
    for n in range(3):
        with SetWorkflowID(f"cli-{n}"):
            cli_twice(n)
    listed = ok("workflow", "list", "-s", app)
    assert [w["workflow_id"] for w in listed] == ["cli-0", "cli-1", "cli-2"]
    newest = ok("workflow", "list", "-s", app, "--sort-desc", "--limit", "1")
    assert [w["workflow_id"] for w in newest] == ["cli-2"]
    paged = ok("workflow", "list", "-s", app, "-l", "1", "-o", "1")
    assert [w["workflow_id"] for w in paged] == ["cli-1"]
    assert ok("workflow", "list", "-s", app, "--status", "ERROR") == []
    version = DBOS.application_version
    assert len(ok("workflow", "list", "-s", app, "-v", version)) == 3
    assert ok("workflow", "list", "-s", app, "-v", "no-such-version") == []
    got = ok("workflow", "get", "cli-1", "-s", app)
    assert (got["workflow_id"], got["status"], got["output"]) == ("cli-1", "SUCCESS", 4)
    steps = ok("workflow", "steps", "cli-1", "-s", app)
    assert [(s["function_id"], s["output"]) for s in steps] == [(1, 2), (2, 2)]


@pytest.mark.slow
def test_cancel_resume_fork_and_the_queue_listing(app: str) -> None:
    gates["cli"] = threading.Event()
    handle = cli_queue.enqueue(cli_blocked, "cli")
    wait_until(lambda: len(DBOS.list_workflow_steps(handle.workflow_id)) == 1)
    queued = ok("workflow", "queue", "list", "-s", app, "-q", "cli-queue")
    assert [(w["workflow_id"], w["status"]) for w in queued] == [(handle.workflow_id, "PENDING")]
    ok("workflow", "cancel", handle.workflow_id, "-s", app)
    assert status_of(handle.workflow_id) == "CANCELLED"
    gates["cli"].set()
    ok("workflow", "resume", handle.workflow_id, "-s", app)
    wait_until(lambda: status_of(handle.workflow_id) == "SUCCESS")  # this process ran it
    fork_id = f"cli-fork-{uuid.uuid4()}"
    forked = ok("workflow", "fork", handle.workflow_id, "-S", "2", "-f", fork_id, "-s", app)
    assert forked == {"workflow_id": fork_id}
    assert DBOS.retrieve_workflow(fork_id).get_result() == "cli"


@pytest.mark.slow
def test_errors_are_one_line_without_a_traceback(app: str) -> None:
    assert "no-such-workflow" in failed("workflow", "get", "no-such-workflow", "-s", app)
    assert "no-such-workflow" in failed("workflow", "cancel", "no-such-workflow", "-s", app)
    assert "unsupported system_database_url" in failed("workflow", "list", "-s", "bogus://x")
    unreachable = "postgresql://postgres@127.0.0.1:1/nothing"
    assert "cannot connect" in failed("workflow", "list", "-s", unreachable)
    assert "start_time" in failed("workflow", "list", "-s", app, "-t", "last tuesday")


def test_version_and_no_database_named() -> None:
    done = transact("version")
    assert done.returncode == 0 and done.stdout.strip() == "0.1.0"
    assert "no system database" in failed("workflow", "list")


@pytest.mark.slow
def test_migrate_prints_then_runs_the_migrations(durable_database_url: str) -> None:
    if durable_database_url.startswith("sqlite"):
        path = durable_database_url.removeprefix("sqlite:///")
        if os.path.exists(path):
            os.remove(path)
    else:
        with psycopg.connect(libpq_url(durable_database_url), autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS transact CASCADE")
    printed = transact("migrate", "-s", durable_database_url, "--print-migrations")
    assert printed.returncode == 0, printed.stderr
    assert "CREATE TABLE" in printed.stdout and "workflow_status" in printed.stdout
    assert "no such table" in failed("workflow", "list", "-s", durable_database_url) or (
        "does not exist" in failed("workflow", "list", "-s", durable_database_url)
    )
    migrated = transact("migrate", "-s", durable_database_url)
    assert migrated.returncode == 0, migrated.stderr
    assert ok("workflow", "list", "-s", durable_database_url) == []
    again = transact("migrate", "-s", durable_database_url, "--print-migrations")
    assert again.stdout.strip() == "-- the schema is up to date"


@pytest.mark.slow
def test_reset_asks_first(app: str) -> None:
    with SetWorkflowID("cli-doomed"):
        cli_twice(1)
    refused = transact("reset", "-s", app, stdin="n\n")
    assert refused.returncode == 1 and "reset cancelled" in refused.stderr
    assert refused.stdout == ""  # the question goes to stderr
    closed = transact("reset", "-s", app, stdin="")  # a script with no answer: a no
    assert closed.returncode == 1 and "Traceback" not in closed.stderr
    assert status_of("cli-doomed") == "SUCCESS"
    done = transact("reset", "-s", app, "-y")
    assert done.returncode == 0, done.stderr
    assert status_of("cli-doomed") is None


@pytest.mark.postgres
def test_migrate_grants_an_application_role(postgres_database_url: str) -> None:
    role = "transact_cli_app_role"
    with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}") if conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
        ).fetchone() else conn.execute(f"CREATE ROLE {role}")
    done = transact("migrate", "-s", postgres_database_url, "--app-role", role)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT has_schema_privilege(%s, 'transact', 'USAGE'),"
            " has_table_privilege(%s, 'transact.workflow_status', 'INSERT')",
            (role, role),
        ).fetchone()
    assert row == (True, True)
    assert "Postgres" in failed("migrate", "-s", "sqlite:///x.sqlite", "--app-role", role)
