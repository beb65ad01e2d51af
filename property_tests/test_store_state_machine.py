"""Every store implements one protocol: a Hypothesis state machine applies the same
operations to the memory store (the model) and to SQLite and Postgres, and after every
step asserts identical results, identical errors and identical observable state."""

from __future__ import annotations

import pathlib
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests._pg import (
    drop_database,
    postgres_available,
    postgres_required,
    postgres_server_url,
    recreate_database,
)
from tests.strategies import (
    ATTRIBUTES,
    FIDS,
    IDS,
    KEYS,
    NAMES,
    PARTITIONS,
    QUERIES,
    QUEUE_LIMITS,
    TOPICS,
    VALUES,
)
from transact._core.checkpoint import Checkpoint
from transact._core.queue_policy import QueueLimits
from transact._store.factory import open_store
from transact._store.memory import MemoryStore
from transact._store.protocol import Store
from transact._store.records import (
    OutgoingMessage,
    QueueRecord,
    ScheduleRecord,
    WorkflowQuery,
    WorkflowRecord,
)
from transact.errors import DBOSBaseException

_TMP = pathlib.Path(tempfile.mkdtemp(prefix="transact-sm-"))
_PG_STORE: Store | None = None
_PG_DATABASE = f"transact_sm_{uuid.uuid4().hex[:8]}"


def _postgres_store() -> Store | None:
    """One Postgres store for the whole run (emptied before each example)."""
    global _PG_STORE
    if _PG_STORE is None and (postgres_available() or postgres_required()):
        _PG_STORE = open_store(recreate_database(_PG_DATABASE))
        _PG_STORE.migrate()
    return _PG_STORE


@pytest.fixture(scope="module", autouse=True)
def _dropped_after_the_run() -> Iterator[None]:
    """The run's Postgres database and SQLite files go with it: one left per run piled
    up on the server."""
    yield
    global _PG_STORE
    if _PG_STORE is not None:
        _PG_STORE.close()
        _PG_STORE = None
        drop_database(_PG_DATABASE)
    shutil.rmtree(_TMP, ignore_errors=True)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """A call's result, or the name of the error it raised (errors must agree too)."""
    try:
        return ("ok", call())
    except (Exception, DBOSBaseException) as exc:  # a checkpoint conflict is a BaseException
        return ("error", type(exc).__name__)


APPS = st.sampled_from(["shop", "mall"])


class StoresAgree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model: Store = MemoryStore()
        sqlite = open_store(f"sqlite:///{_TMP}/{uuid.uuid4().hex}.sqlite")
        sqlite.migrate()
        self.others: list[tuple[str, Store]] = [("sqlite", sqlite)]
        postgres = _postgres_store()
        if postgres is not None:
            postgres.reset()
            self.others.append(("postgres", postgres))
        self.now = 1_000

    def tick(self) -> int:
        self.now += 7
        return self.now

    def same(self, call: Callable[[Store], Any]) -> Any:
        expected = outcome(lambda: call(self.model))
        for name, store in self.others:
            got = outcome(lambda store=store: call(store))  # type: ignore[misc]
            assert got == expected, f"{name}: {got!r} != model {expected!r}"
        return expected

    def teardown(self) -> None:
        for name, store in self.others:
            if name == "sqlite":
                store.close()

    # --- rules ---------------------------------------------------------------------

    @initialize(statuses=st.lists(st.sampled_from(["PENDING", "ENQUEUED"]), min_size=3, max_size=3))
    def existing_workflows(self, statuses: list[str]) -> None:
        """Start from a small family of workflows, so most rules act on real rows."""
        for wid, parent, status in zip("abc", [None, "a", "b"], statuses, strict=True):
            self.insert(wid, "wf", status, parent, None, None, None)

    @rule(
        wid=IDS,
        name=NAMES,
        status=st.sampled_from(["PENDING", "ENQUEUED"]),
        parent=st.none() | IDS,
        queue=st.none() | st.just("q"),
        dedup=st.none() | st.just("d1"),
        timeout=st.none() | st.just(5_000),
        attributes=ATTRIBUTES,
    )
    def insert(
        self,
        wid: str,
        name: str,
        status: str,
        parent: str | None,
        queue: str | None,
        dedup: str | None,
        timeout: int | None,
        attributes: str | None = None,
    ) -> None:
        now = self.tick()
        record = WorkflowRecord(
            workflow_id=wid,
            status=status,
            name=name,
            inputs="in",
            created_at=now,
            updated_at=now,
            executor_id="e1",
            application_version="v1",
            parent_workflow_id=parent,
            queue_name=queue,
            deduplication_id=dedup if queue else None,
            workflow_timeout_ms=timeout,
            recovery_attempts=1 if status == "PENDING" else 0,
            attributes=attributes,
        )
        self.same(lambda s: s.insert_workflow(record))

    @rule(
        wid=IDS,
        fid=FIDS,
        name=NAMES,
        output=VALUES,
        child=st.none() | IDS,
        digest=st.none() | st.sampled_from(["0123456789abcdef", "fedcba9876543210"]),
    )
    def record_checkpoint(
        self, wid: str, fid: int, name: str, output: str, child: str | None, digest: str | None
    ) -> None:
        checkpoint = Checkpoint(
            fid,
            name,
            output=output,
            child_workflow_id=child,
            started_at_epoch_ms=self.now,
            completed_at_epoch_ms=self.now,
            args_digest=digest,
        )
        self.same(lambda s: s.record_checkpoint(wid, checkpoint))

    @rule(wid=IDS, success=st.booleans(), value=VALUES)
    def finish(self, wid: str, success: bool, value: str) -> None:
        now = self.tick()
        self.same(
            lambda s: s.finish_workflow(
                wid,
                status="SUCCESS" if success else "ERROR",
                output=value if success else None,
                error=None if success else value,
                now_ms=now,
            )
        )

    @rule(wids=st.lists(IDS, max_size=3))
    def cancel(self, wids: list[str]) -> None:
        now = self.tick()
        self.same(lambda s: sorted(s.cancel_workflows(wids, now)))

    @rule(wid=IDS)
    def resume(self, wid: str) -> None:
        now = self.tick()
        self.same(lambda s: s.resume_workflow(wid, "_internal", now))

    @rule(wid=IDS)
    def claim(self, wid: str) -> None:
        now = self.tick()
        self.same(lambda s: s.claim_workflow(wid, "e2", "v2", now))

    @rule(wid=IDS)
    def begin_recovery(self, wid: str) -> None:
        now = self.tick()
        self.same(lambda s: s.begin_recovery(wid, "e1", now))

    @rule(wids=st.lists(IDS | st.sampled_from(["f1", "f2"]), max_size=4))
    def recover_many(self, wids: list[str]) -> None:
        now = self.tick()
        self.same(lambda s: s.begin_recovery_many(wids, "e1", now))
        self.same(lambda s: s.load_checkpoints_many(wids))

    @rule(wid=IDS)
    def dead_letter(self, wid: str) -> None:
        now = self.tick()
        self.same(lambda s: s.dead_letter(wid, now))

    @rule(
        dest=IDS,
        topic=TOPICS,
        message=VALUES,
        key=st.none() | st.sampled_from(["m1", "m2"]),
        sender=st.none() | st.tuples(IDS, FIDS),
    )
    def send(
        self,
        dest: str,
        topic: str | None,
        message: str,
        key: str | None,
        sender: tuple[str, int] | None,
    ) -> None:
        now = self.tick()
        checkpoint = (sender[0], Checkpoint(sender[1], "DBOS.send")) if sender else None
        self.same(
            lambda s: s.send_message(
                dest, topic, message, message_id=key, now_ms=now, checkpoint=checkpoint
            )
        )

    @rule(
        messages=st.lists(
            st.builds(
                OutgoingMessage,
                IDS,
                TOPICS,
                VALUES,
                st.none() | st.sampled_from(["m1", "m2", "m3"]),
            ),
            max_size=3,
        ),
        sender=st.none() | st.tuples(IDS, FIDS),
    )
    def send_many(self, messages: list[OutgoingMessage], sender: tuple[str, int] | None) -> None:
        now = self.tick()
        checkpoint = (sender[0], Checkpoint(sender[1], "DBOS.send_bulk")) if sender else None
        self.same(lambda s: s.send_messages(messages, now_ms=now, checkpoint=checkpoint))

    @rule(wid=IDS, topic=TOPICS, fid=FIDS)
    def consume(self, wid: str, topic: str | None, fid: int) -> None:
        self.same(lambda s: s.consume_message(wid, topic, Checkpoint(fid, "DBOS.recv")))

    @rule(wid=IDS, key=KEYS, value=VALUES, fid=FIDS, checkpointed=st.booleans())
    def set_event(self, wid: str, key: str, value: str, fid: int, checkpointed: bool) -> None:
        checkpoint = Checkpoint(fid, "DBOS.setEvent") if checkpointed else None
        self.same(lambda s: s.set_event(wid, key, value, fid, checkpoint))

    @rule(wid=IDS, key=KEYS, value=VALUES, fid=FIDS)
    def write_stream(self, wid: str, key: str, value: str, fid: int) -> None:
        self.same(lambda s: s.write_stream(wid, key, value, fid, None))

    @rule(wids=st.lists(IDS, max_size=2))
    def delete(self, wids: list[str]) -> None:
        self.same(lambda s: s.delete_workflows(wids))

    @rule(
        original=IDS,
        new=st.sampled_from(["f1", "f2"]),
        start_step=st.integers(1, 6),
        swap=st.none() | st.dictionaries(IDS, IDS, max_size=2),
    )
    def fork(
        self, original: str, new: str, start_step: int, swap: dict[str, str] | None = None
    ) -> None:
        now = self.tick()
        record = WorkflowRecord(
            workflow_id=new,
            status="ENQUEUED",
            name="wf",
            inputs="in",
            created_at=now,
            updated_at=now,
            queue_name="_internal",
            forked_from=original,
        )
        self.same(lambda s: s.fork_workflow(original, record, start_step, swap))

    @rule(
        wid=IDS,
        priority=st.sampled_from([0, 1, 2]),
        partition=PARTITIONS,
        delay=st.none() | st.integers(0, 30),
        version=st.sampled_from([None, "v1", "v2"]),
        timeout=st.none() | st.just(5_000),
    )
    def enqueue(
        self,
        wid: str,
        priority: int,
        partition: str | None,
        delay: int | None,
        version: str | None,
        timeout: int | None,
        attributes: str | None = None,
    ) -> None:
        now = self.tick()
        record = WorkflowRecord(
            workflow_id=wid,
            status="ENQUEUED" if delay is None else "DELAYED",
            name="wf",
            inputs="in",
            created_at=now,
            updated_at=now,
            application_version=version,
            queue_name="q",
            queue_partition_key=partition,
            priority=priority,
            delay_until_epoch_ms=None if delay is None else now + delay,
            workflow_timeout_ms=timeout,
        )
        self.same(lambda s: s.insert_workflow(record))

    @rule(
        limits=QUEUE_LIMITS,
        local_running=st.integers(0, 2),
        partition_local=st.none() | st.integers(0, 2),
        partition=PARTITIONS,
        max_claims=st.none() | st.integers(0, 3),
        version=st.sampled_from([None, "v1"]),
        queue=st.sampled_from(["q", "_internal"]),
        take_unversioned=st.booleans(),
    )
    def claim_queued(
        self,
        limits: QueueLimits,
        local_running: int,
        partition_local: int | None,
        partition: str | None,
        max_claims: int | None,
        version: str | None,
        queue: str,
        take_unversioned: bool = True,
    ) -> None:
        now = self.tick()
        self.same(
            lambda s: s.claim_queued(
                queue,
                executor_id="e3",
                application_version=version,
                limits=limits,
                local_running=local_running,
                partition_key=partition,
                max_claims=max_claims,
                now_ms=now,
                partition_local_running=partition_local,
                take_unversioned=take_unversioned,
            )
        )

    @rule(
        max_claims=st.none() | st.integers(0, 3),
        version=st.sampled_from([None, "v1"]),
        take_unversioned=st.booleans(),
    )
    def claim_partition_heads(
        self, max_claims: int | None, version: str | None, take_unversioned: bool
    ) -> None:
        """The one-statement sweep of a queue whose partitions run one row at a time."""
        now = self.tick()
        self.same(
            lambda s: s.claim_partition_heads(
                "q",
                executor_id="e4",
                application_version=version,
                max_claims=max_claims,
                now_ms=now,
                take_unversioned=take_unversioned,
            )
        )

    @rule(
        wid=IDS,
        key=st.sampled_from(["k1", "k2"]),
        period=st.integers(0, 30),
        timeout=st.none() | st.integers(0, 40),
    )
    def debounce(self, wid: str, key: str, period: int, timeout: int | None) -> None:
        """The debouncer's bounce, on a debounced row inserted here (or on one held)."""
        now = self.tick()
        record = WorkflowRecord(
            workflow_id=wid,
            status="DELAYED",
            name="wf",
            inputs="in",
            created_at=now,
            updated_at=now,
            queue_name="q",
            deduplication_id=f"wf-{key}",
            delay_until_epoch_ms=now + period,
            is_debounced=True,
            debounce_deadline_epoch_ms=None if timeout is None else now + timeout,
        )
        self.same(lambda s: s.insert_workflow(record))
        self.same(
            lambda s: s.bounce_debounced(
                "wf",
                "q",
                f"wf-{key}",
                delay_until_epoch_ms=now + 2 * period,
                inputs="new",
                now_ms=now,
            )
        )

    @rule(wid=IDS, delay=st.integers(0, 30), inputs=st.none() | VALUES)
    def update_delayed(self, wid: str, delay: int, inputs: str | None) -> None:
        now = self.tick()
        self.same(
            lambda s: s.update_delayed(
                wid, delay_until_epoch_ms=now + delay, inputs=inputs, now_ms=now
            )
        )

    @rule()
    def queued_partitions(self) -> None:
        now = self.tick()
        self.same(lambda s: s.queued_partitions("q", now))

    @rule(wid=IDS, attributes=ATTRIBUTES, merge=st.booleans())
    def update_attributes(self, wid: str, attributes: str | None, merge: bool) -> None:
        now = self.tick()
        self.same(lambda s: s.update_workflow_attributes(wid, attributes, merge=merge, now_ms=now))

    @rule(wid=IDS, start_step=st.integers(1, 6))
    def rewind(self, wid: str, start_step: int) -> None:
        now = self.tick()
        self.same(lambda s: s.rewind_workflow(wid, start_step, "q", now))

    @rule(name=st.sampled_from(["v1", "v2", "v3"]), app=st.none() | APPS)
    def register_version(self, name: str, app: str | None) -> None:
        now = self.tick()
        self.same(lambda s: s.register_application_version(name, app, now))

    @rule(name=st.sampled_from(["v1", "v2", "v3"]), app=st.none() | st.just("shop"))
    def set_latest_version(self, name: str, app: str | None) -> None:
        now = self.tick()
        self.same(lambda s: s.set_latest_application_version(name, app, now))

    @rule(app=st.none() | APPS)
    def list_versions(self, app: str | None) -> None:
        # Version ids are random per store: compare everything else.
        self.same(
            lambda s: [
                (v.version_name, v.version_timestamp, v.created_at, v.application_name)
                for v in s.list_application_versions(app)
            ]
        )

    @rule(old=st.none() | APPS, new=APPS, adopt=st.booleans(), batch_size=st.integers(1, 3))
    def rename_application(self, old: str | None, new: str, adopt: bool, batch_size: int) -> None:
        # Workflows are inserted unclaimed: adopting them is how they come to have owners.
        assume(old != new)  # the client refuses it before asking the store
        self.same(
            lambda s: s.rename_application(old, new, adopt_unclaimed=adopt, batch_size=batch_size)
        )

    @rule(query=QUERIES)
    def list_workflows(self, query: WorkflowQuery) -> None:
        self.same(lambda s: s.list_workflows(query))

    @rule(query=QUERIES)
    def count_workflows(self, query: WorkflowQuery) -> None:
        self.same(lambda s: s.count_workflows(query))

    @rule(ids=st.lists(IDS, max_size=2))
    def descendants(self, ids: list[str]) -> None:
        self.same(lambda s: sorted(s.descendants(ids)))

    @rule(
        name=st.sampled_from(["q1", "q2"]),
        concurrency=st.none() | st.integers(1, 5),
        partition=st.none() | st.integers(1, 3),
        replace=st.booleans(),
        changes=st.none()
        | st.fixed_dictionaries({"worker_concurrency": st.none() | st.integers(1, 3)}),
        delete=st.booleans(),
    )
    def queue_definition(
        self,
        name: str,
        concurrency: int | None,
        partition: int | None,
        replace: bool,
        changes: dict[str, Any] | None,
        delete: bool,
    ) -> None:
        now = self.tick()
        record = QueueRecord(
            name=name,
            concurrency=concurrency,
            partition_concurrency=partition,
            created_at=now,
            updated_at=now,
        )
        self.same(lambda s: s.put_queue(record, replace=replace))
        if changes is not None:
            self.same(lambda s: s.update_queue(name, changes, now))
        if delete:
            self.same(lambda s: s.delete_queue(name))
        self.same(lambda s: s.list_queues())

    @rule(
        name=st.sampled_from(["s1", "s2"]),
        cron=st.sampled_from(["* * * * *", "0 0 * * *"]),
        apply=st.booleans(),
        status=st.none() | st.sampled_from(["ACTIVE", "PAUSED"]),
        fired=st.none() | st.sampled_from(["2026-01-01T00:00:00", "2026-02-01T00:00:00"]),
        delete=st.booleans(),
    )
    def schedule_definition(
        self,
        name: str,
        cron: str,
        apply: bool,
        status: str | None,
        fired: str | None,
        delete: bool,
    ) -> None:
        record = ScheduleRecord(
            schedule_id=f"id-{self.tick()}",
            schedule_name=name,
            workflow_name="wf",
            schedule=cron,
            context="c",
        )
        if apply:
            self.same(lambda s: s.apply_schedules([record]))
        else:
            self.same(lambda s: s.create_schedule(record))
        if status is not None:
            self.same(lambda s: s.set_schedule_status(name, status))
        if fired is not None:
            self.same(lambda s: s.schedule_fired(name, fired))
        if delete:
            self.same(lambda s: s.delete_schedule(name))
        self.same(lambda s: s.list_schedules())
        self.same(lambda s: s.list_schedules(statuses=["PAUSED"], name_prefixes=["s"]))

    # --- observable state ------------------------------------------------------------

    @invariant()
    def state_agrees(self) -> None:
        for wid in ["a", "b", "c", "d", "f1", "f2"]:
            self.same(lambda s, w=wid: s.get_workflow(w))  # type: ignore[misc]
            self.same(lambda s, w=wid: s.load_checkpoints(w))  # type: ignore[misc]
            self.same(lambda s, w=wid: s.get_all_events(w))  # type: ignore[misc]
            self.same(lambda s, w=wid: [s.has_message(w, t) for t in (None, "t1", "t2")])  # type: ignore[misc]
            for key in ("k1", "k2"):
                self.same(lambda s, w=wid, k=key: [s.read_stream(w, k, o) for o in range(3)])  # type: ignore[misc]
        self.same(lambda s: s.pending_workflow_ids("e1", None))


StoresAgree.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_stores_agree = StoresAgree.TestCase


def test_postgres_takes_part() -> None:
    """Under TRANSACT_REQUIRE_POSTGRES=1 the machine must include Postgres."""
    if not postgres_available():
        if postgres_required():
            pytest.fail(f"no Postgres at {postgres_server_url()}")
        pytest.skip(f"no Postgres at {postgres_server_url()}: the machine checks SQLite only")
    assert _postgres_store() is not None


class SweepsAgree(RuleBasedStateMachine):
    """Partition sweeps, dense: enqueues over three partition keys, sweeps and finishes.
    Every store claims what the model claims, and no partition ever runs two rows."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = StoresAgree()
        self.count = 0

    def teardown(self) -> None:
        self.inner.teardown()

    @rule(partition=st.sampled_from(["a", "b", "c"]), priority=st.integers(0, 2))
    def enqueue(self, partition: str, priority: int) -> None:
        self.count += 1
        self.inner.enqueue(f"s{self.count}", priority, partition, None, "v1", None)

    @rule(max_claims=st.none() | st.integers(0, 2))
    def sweep(self, max_claims: int | None) -> None:
        self.inner.claim_partition_heads(max_claims, "v1", take_unversioned=True)

    @rule(pick=st.integers(0, 5))
    def finish_one(self, pick: int) -> None:
        running = self.inner.model.list_workflows(WorkflowQuery(statuses=("PENDING",)))
        if running:
            wid = sorted(r.workflow_id for r in running)[pick % len(running)]
            now = self.inner.tick()
            self.inner.same(
                lambda s: s.finish_workflow(
                    wid, status="SUCCESS", output=None, error=None, now_ms=now
                )
            )

    @invariant()
    def one_running_row_per_partition(self) -> None:
        for _, store in [("model", self.inner.model), *self.inner.others]:
            running = store.list_workflows(WorkflowQuery(statuses=("PENDING",)))
            keys = [r.queue_partition_key for r in running]
            assert len(keys) == len(set(keys)), keys


SweepsAgree.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_sweeps_agree = SweepsAgree.TestCase
