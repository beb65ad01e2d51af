"""Classes and configured instances: instance, class and static methods as workflows,
steps and transactions; started, enqueued, recovered and forked like functions."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from typing_extensions import assert_type

from transact import DBOS, DBOSConfiguredInstance, Queue, SetWorkflowID, WorkflowHandle
from transact._facade.launched import runtime
from transact._runtime.runtime import StartOptions
from transact.errors import DBOSConflictingWorkflowError, DBOSWorkflowFunctionNotFoundError

CALLS: list[str] = []
queue = Queue("classes-queue")


@DBOS.dbos_class()
class Greeter(DBOSConfiguredInstance):
    def __init__(self, config_name: str, greeting: str) -> None:
        self.greeting = greeting
        super().__init__(config_name)

    @DBOS.workflow()
    def greet(self, name: str) -> str:
        return self.shout(f"{self.greeting}, {name}")

    @DBOS.step()
    def shout(self, text: str) -> str:
        CALLS.append(f"{self.config_name}:{text}")
        return text + "!"

    @classmethod
    @DBOS.workflow()
    def make(cls, n: int) -> str:
        return f"{cls.__name__}:{cls.count(n)}"

    @classmethod
    @DBOS.step()
    def count(cls, n: int) -> int:
        CALLS.append(f"count:{n}")
        return n + 1

    @staticmethod
    @DBOS.workflow()
    def plain(n: int) -> int:
        return n * 2


@DBOS.dbos_class()
class Ledger(DBOSConfiguredInstance):
    @DBOS.transaction()
    def add(self, n: int) -> int:
        return int(DBOS.sql_session.execute(text("SELECT 1 + :n"), {"n": n}).scalar_one())

    @DBOS.workflow()
    def book(self, n: int) -> tuple[int, str]:
        return self.add(n), self.config_name


ledger = Ledger("main-ledger")
hello = Greeter("hello", "Hello")
hi = Greeter("hi", "Hi")


@DBOS.dbos_class()
class HandRegistered:
    def __init__(self, config_name: str) -> None:
        self.config_name = config_name

    @DBOS.workflow()
    def echo(self, n: int) -> tuple[str, int]:
        return self.config_name, n


by_hand = HandRegistered("by-hand")
DBOS.register_instance(by_hand)


class Unregistered:
    config_name = "x"

    @DBOS.workflow()
    def work(self) -> int:
        return 1


class NoConfig:
    @DBOS.workflow()
    def work(self) -> int:
        return 1


class UnregisteredClass:
    @classmethod
    @DBOS.workflow()
    def work(cls) -> int:
        return 1


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    DBOS.destroy()
    CALLS.clear()
    DBOS(config={"name": "test-classes", "system_database_url": system_database_url})
    DBOS.launch()
    yield system_database_url
    DBOS.destroy()


def status_names(workflow_id: str) -> tuple[str | None, str | None, str | None]:
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None
    return status.name, status.class_name, status.config_name


def test_instance_method_called_started_and_enqueued(url: str) -> None:
    with SetWorkflowID("inst-1"):
        assert hello.greet("Ann") == "Hello, Ann!"
    assert status_names("inst-1") == ("Greeter.greet", "Greeter", "hello")
    handle = DBOS.start_workflow(hi.greet, "Bob")
    assert_type(handle, WorkflowHandle[str])
    assert handle.get_result() == "Hi, Bob!"
    assert status_names(handle.workflow_id) == ("Greeter.greet", "Greeter", "hi")
    queued = queue.enqueue(hello.greet, "Cy")
    assert queued.get_result(polling_interval_sec=0.01) == "Hello, Cy!"
    assert status_names(queued.workflow_id)[1:] == ("Greeter", "hello")
    # The stored inputs are the arguments without the instance.
    status = DBOS.get_workflow_status(queued.workflow_id)
    assert status is not None and status.input == {"args": ("Cy",), "kwargs": {}}
    assert CALLS == ["hello:Hello, Ann", "hi:Hi, Bob", "hello:Hello, Cy"]


def test_class_and_static_methods(url: str) -> None:
    with SetWorkflowID("cls-1"):
        assert Greeter.make(1) == "Greeter:2"
    assert status_names("cls-1") == ("Greeter.make", "Greeter", None)
    assert DBOS.start_workflow(Greeter.make, 5).get_result() == "Greeter:6"
    with SetWorkflowID("static-1"):
        assert Greeter.plain(4) == 8
    assert status_names("static-1") == ("Greeter.plain", None, None)
    assert queue.enqueue(Greeter.plain, 3).get_result(polling_interval_sec=0.01) == 6


def test_instance_workflows_are_recovered_on_their_instance(url: str) -> None:
    rt = runtime()
    spec = rt.spec("Greeter.greet", "rec-1", "Greeter", "hi")
    rt.store.insert_workflow(
        rt.new_record(spec, "rec-1", ("Dee",), {}, options=StartOptions(workflow_id="rec-1"))
    )
    cls_spec = rt.spec("Greeter.make", "rec-2", "Greeter", None)
    rt.store.insert_workflow(
        rt.new_record(cls_spec, "rec-2", (7,), {}, options=StartOptions(workflow_id="rec-2"))
    )
    DBOS.destroy()
    DBOS(config={"name": "test-classes", "system_database_url": url})
    DBOS.launch()
    assert DBOS.retrieve_workflow("rec-1").get_result(polling_interval_sec=0.01) == "Hi, Dee!"
    assert DBOS.retrieve_workflow("rec-2").get_result(polling_interval_sec=0.01) == "Greeter:8"


def test_unknown_instance_on_recovery_is_not_found(url: str) -> None:
    rt = runtime()
    with pytest.raises(DBOSWorkflowFunctionNotFoundError):
        rt.spec("Greeter.greet", "rec-3", "Greeter", "nobody")


def test_fork_of_an_instance_workflow_runs_on_the_instance(url: str) -> None:
    with SetWorkflowID("fork-src"):
        assert hi.greet("Eve") == "Hi, Eve!"
    fork = DBOS.fork_workflow("fork-src", 1)
    assert fork.get_result() == "Hi, Eve!"
    assert status_names(fork.workflow_id) == ("Greeter.greet", "Greeter", "hi")
    assert CALLS == ["hi:Hi, Eve", "hi:Hi, Eve"]


def test_child_method_workflows_keep_their_target(url: str) -> None:
    @DBOS.workflow(name="classes-parent")
    def parent() -> str:
        handle = DBOS.start_workflow(hello.greet, "Kid")
        return hi.greet("Kim") + " " + handle.get_result()

    with SetWorkflowID("parent-1"):
        assert parent() == "Hi, Kim! Hello, Kid!"
    assert status_names("parent-1-1") == ("Greeter.greet", "Greeter", "hello")
    assert status_names("parent-1-2")[1:] == ("Greeter", "hi")


def test_an_id_reused_on_another_instance_conflicts(url: str) -> None:
    with SetWorkflowID("conflict-1"):
        hello.greet("A")
    with SetWorkflowID("conflict-1"), pytest.raises(DBOSConflictingWorkflowError) as info:
        hi.greet("A")
    assert str(info.value) == (
        "DBOS Error 9: Conflicting workflow invocation with the same ID (conflict-1): "
        "Workflow already exists with a different config name: hello, but the provided "
        "config name is: hi"
    )
    with SetWorkflowID("conflict-1"):
        assert hello.greet("A") == "Hello, A!"  # same target: the recorded outcome


def test_fx_workflows_start_and_call_methods(url: str) -> None:
    from transact import fx

    @DBOS.workflow(name="classes-fx-parent")
    def fx_parent() -> fx.Program[str]:
        handle = yield from fx.start(hello.greet, "Fx")
        called = yield from fx.call(hi.greet, "Fy")
        started = yield from fx.get_result(handle)
        return f"{started} {called}"

    with SetWorkflowID("fx-parent"):
        assert fx_parent() == "Hello, Fx! Hi, Fy!"
    assert status_names("fx-parent-1")[1:] == ("Greeter", "hello")


def test_unregistered_targets_raise_dboss_errors(url: str) -> None:
    with pytest.raises(Exception, match="class instance, but is not properly registered"):
        Unregistered().work()
    with pytest.raises(Exception, match="does not have `config_name` set"):
        NoConfig().work()
    with pytest.raises(Exception, match="appears to be a class, but is not properly registered"):
        UnregisteredClass.work()


def test_register_instance_by_hand(url: str) -> None:
    assert DBOS.start_workflow(by_hand.echo, 4).get_result() == ("by-hand", 4)
    with pytest.raises(Exception, match="does not have `config_name` set"):
        DBOS.register_instance(object())


def test_duplicate_registrations_raise() -> None:
    with pytest.raises(Exception, match="Duplicate instance registration for class 'Greeter'"):
        Greeter("hello", "Again")
    with pytest.raises(Exception, match="Duplicate type registration for class 'Greeter'"):

        @DBOS.dbos_class("Greeter")
        class Other:
            pass


def test_instance_registered_after_launch_warns(url: str, caplog: pytest.LogCaptureFixture) -> None:
    Greeter(f"late-{uuid.uuid4()}", "Late")
    assert "was registered after DBOS was launched" in caplog.text


def test_transaction_methods(system_database_url: str, tmp_path: pathlib.Path) -> None:
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-classes-txn",
            "system_database_url": system_database_url,
            "application_database_url": f"sqlite:///{tmp_path}/app.sqlite",
        }
    )
    DBOS.launch()
    try:
        with SetWorkflowID("ledger-1"):
            assert ledger.book(2) == (3, "main-ledger")
        assert status_names("ledger-1") == ("Ledger.book", "Ledger", "main-ledger")
        steps = DBOS.list_workflow_steps("ledger-1")
        assert [(s["function_name"], s["output"]) for s in steps] == [("Ledger.add", 3)]
    finally:
        DBOS.destroy()


APP = pathlib.Path(__file__).with_name("classes_app.py")


@pytest.mark.slow
def test_killed_process_recovers_an_instance_workflow(
    durable_database_url: str, tmp_path: pathlib.Path
) -> None:
    effects = tmp_path / "effects.txt"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(APP), durable_database_url, str(effects), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    crashed = run("--crash")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    recovered = run()
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.split() == ["acct-b:3", "Accounts", "acct-b"]
    assert effects.read_text().split() == ["acct-b:1", "acct-b:2", "acct-b:2", "acct-b:3"]
