"""The runtime: starts, runs, finishes, recovers and awaits workflows against one store."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from transact._core.checkpoint import EMPTY_LOG, CheckpointLog
from transact._core.effects import StartChild
from transact._runtime import rows
from transact._runtime.announcer import announce
from transact._runtime.appdb import AppDatabase
from transact._runtime.awaiting import Awaiting
from transact._runtime.clock import Clock, now_ms
from transact._runtime.enqueue_rows import enqueued_record
from transact._runtime.env import Env
from transact._runtime.execution import execute, execute_async
from transact._runtime.executions import Executions
from transact._runtime.loops import loop_for
from transact._runtime.management import delete, fork, rewind
from transact._runtime.options import StartOptions as StartOptions  # re-exported
from transact._runtime.performers import PERFORMERS
from transact._runtime.recovery import Recovery
from transact._runtime.registry import WorkflowSpec
from transact._runtime.runner_pool import Dispatcher
from transact._runtime.state import WorkflowState
from transact._runtime.waiters import status_key
from transact._runtime.watchdog import Watchdog
from transact._serialization import Serializer, tolerant
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord
from transact.errors import (
    DBOSBaseException,
)

logger = logging.getLogger("dbos")

DEFAULT_MAX_THREADS = 512
RUNNERS_PER_CPU = 4
"""Background workflows run on this many threads per CPU while none is held up
(``dispatcher.py``): enough to keep the CPUs busy while others wait on the database."""


class Runtime:
    """Everything a launched executor owns: store, serializer, clock, threads, waiters."""

    def __init__(
        self,
        store: Store,
        *,
        serializer: Serializer,
        clock: Clock,
        executor_id: str,
        application_version: str,
        poll_seconds: float,
        max_threads: int | None = None,
    ) -> None:
        self.env = Env(
            store,
            # Reads portable JSON too: values stored by portable workflows or with
            # serialization_type= sit in tables that carry no format column.
            tolerant(serializer),
            clock,
            PERFORMERS,
            executor_id=executor_id,
            application_version=application_version,
        )
        self.store = store
        self.serializer = self.env.serializer
        self.clock = clock
        self.executor_id = executor_id
        self.application_version = application_version
        self.waiters = self.env.waiters
        # Waiting for outcomes is its own object; these names are the Runtime's API.
        self.awaiting = Awaiting(self.env)
        self.wait_terminal = self.awaiting.wait_terminal
        self.wait_any = self.awaiting.wait_any
        self.result = self.awaiting.result
        # This process's executions are their own object too; as above.
        self.executions = Executions(self.env)
        self.future = self.executions.future
        self.interrupt = self.executions.interrupt
        self.active_count = self.executions.active_count
        self.recovery = Recovery(self.env, self.launch, self.executions.inactive)
        self.spec = self.recovery.spec
        self.dispatch = self.recovery.dispatch
        self.recover_pending = self.recovery.recover_pending
        self.resume = self.recovery.resume
        max_threads = max_threads or DEFAULT_MAX_THREADS
        self.pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="transact")
        self.dispatcher = Dispatcher(
            self.pool,
            runners=min(max_threads, RUNNERS_PER_CPU * (os.cpu_count() or 1)),
            max_runners=max_threads,
        )
        # The application's loop (running at launch, or the web server's): recovered and
        # dequeued async workflows run there, as in DBOS.
        self.main_loop: asyncio.AbstractEventLoop | None = None
        pushed = store.subscribe(self.executions.on_notify)
        # With pushed notifications the poll is only a safety net.
        self.poll_seconds = max(poll_seconds, 5.0) if pushed else poll_seconds
        self.env.poll_seconds = self.poll_seconds
        # Deadlines, and cancels or deletes by other processes that nobody pushes to us.
        self.watchdog = Watchdog(
            store,
            self.waiters,
            self.cancel_for_timeout,
            clock=clock,
            poll_seconds=self.poll_seconds,
        )

    @property
    def closing(self) -> bool:
        """True once shutdown began: no workflow writes any more."""
        return self.env.closing

    @closing.setter
    def closing(self, value: bool) -> None:
        self.env.closing = value

    @property
    def app_db(self) -> AppDatabase | None:
        """The application database of ``@DBOS.transaction`` (None if not configured)."""
        return self.env.app_db

    @app_db.setter
    def app_db(self, value: AppDatabase | None) -> None:
        self.env.app_db = value

    # --- starting --------------------------------------------------------------------

    def new_record(
        self,
        spec: WorkflowSpec,
        workflow_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        parent: WorkflowState | None = None,
        options: StartOptions = StartOptions(),
    ) -> WorkflowRecord:
        """The PENDING row of a direct start (see ``rows.new_record``)."""
        return rows.new_record(self.env, spec, workflow_id, args, kwargs, parent, options)

    def insert(
        self, record: WorkflowRecord, *, fresh_id: bool = False
    ) -> tuple[WorkflowRecord, bool]:
        """Insert the row or attach to an existing one (see ``rows.insert``)."""
        return rows.insert(self.store, record, fresh_id=fresh_id)

    def start(
        self,
        spec: WorkflowSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        options: StartOptions,
        inline: bool,
    ) -> tuple[str, Future[Any] | None]:
        """Start a root workflow; returns its id and, if this call runs it, its future."""
        workflow_id = options.workflow_id or str(uuid.uuid4())
        record = self.new_record(spec, workflow_id, args, kwargs, options=options)
        stored, created = self.insert(record, fresh_id=options.workflow_id is None)
        rows.check_reuse(stored, created, options.reuse_policy)
        if not created:
            return workflow_id, None
        return workflow_id, self.launch(record, spec, args, kwargs, inline=inline)

    def prepare_child(
        self, parent: WorkflowState, child_id: str, effect: StartChild
    ) -> Callable[[bool], None] | None:
        """Insert a child's row; return a function that runs it, or None if it existed."""
        spec = self.spec(effect.name, child_id, effect.class_name, effect.config_name)
        args, kwargs = tuple(effect.args), dict(effect.kwargs)
        options = StartOptions(
            workflow_id=child_id,
            timeout_seconds=effect.timeout_seconds,
            inherit_deadline=effect.inherit_deadline,
            attributes=effect.attributes,
        )
        record = self.new_record(spec, child_id, args, kwargs, parent=parent, options=options)
        if effect.enqueue is not None:
            return self._prepare_queued_child(record, effect)
        _, created = self.insert(record)
        if not created:
            return None

        def run(inline: bool) -> None:
            self.launch(record, spec, args, kwargs, inline=inline, loop=parent.loop)

        return run

    def _prepare_queued_child(
        self, record: WorkflowRecord, effect: StartChild
    ) -> Callable[[bool], None] | None:
        """Insert an enqueued child's row; the returned function announces it to the
        queue's runners, here and in other processes (the child runs wherever it is
        dequeued, never in the parent's thread)."""
        assert effect.enqueue is not None
        queued = enqueued_record(record, effect.enqueue, timed=effect.timeout_seconds is not None)
        _, created = self.insert(queued)
        if not created:
            return None
        queue_name = effect.enqueue.queue_name
        return lambda _inline: announce(self, queue_name)

    def launch(
        self,
        record: WorkflowRecord,
        spec: WorkflowSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        log: CheckpointLog = EMPTY_LOG,
        inline: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> Future[Any]:
        """Run the workflow in this thread (``inline``) or on the pool; return its future.

        An async workflow runs on ``loop`` (its parent's) or the main loop when one is
        running, as DBOS runs it (``inline``: this thread waits for it); else on a
        worker thread's own loop.
        """
        target = loop_for(spec, loop, self.main_loop, inline=inline)
        state, future = self.register(record, spec, log)
        if target is not None:
            body = self.run_async(state, spec, args, kwargs, future)
            asyncio.run_coroutine_threadsafe(body, target)
            if inline:
                wait_futures([future])
            return future
        if inline:
            self._run(state, spec, args, kwargs, future, inline=True)
        else:
            self.dispatcher.submit(
                functools.partial(self._run, state, spec, args, kwargs, future, inline=False)
            )
        return future

    async def run_async(
        self,
        state: WorkflowState,
        spec: WorkflowSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        future: Future[Any],
    ) -> None:
        """Run an async workflow on the running loop; its outcome goes to ``future``."""
        try:
            future.set_result(await execute_async(self.env, state, spec, args, kwargs))
        except BaseException as exc:  # the future carries it to whoever awaits
            future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.unregister(state, future)

    def register(
        self, record: WorkflowRecord, spec: WorkflowSpec, log: CheckpointLog = EMPTY_LOG
    ) -> tuple[WorkflowState, Future[Any]]:
        """The state and future of an execution about to start here, known to this
        runtime (awaiting, cancellation, the watchdog) until ``unregister``."""
        deadline = record.workflow_deadline_epoch_ms
        state = WorkflowState(
            self.env,
            self,
            record.workflow_id,
            spec.name,
            log=log,
            deadline=deadline / 1000 if deadline is not None else None,
            authenticated_user=record.authenticated_user,
            authenticated_roles=(
                tuple(json.loads(record.authenticated_roles))
                if record.authenticated_roles
                else None
            ),
            assumed_role=record.assumed_role,
            serialization=record.serialization,
            queue_name=record.queue_name,
            otel_context=record.otel_context,
        )
        future: Future[Any] = Future()
        self.executions.add(state, future)
        self.watchdog.watch(state)  # its deadline, and cancels from other processes
        return state, future

    def unregister(self, state: WorkflowState, future: Future[Any]) -> None:
        """The execution ended (its outcome is in ``future``)."""
        self.watchdog.unwatch(state)
        self.executions.remove(state, future)

    def _run(
        self,
        state: WorkflowState,
        spec: WorkflowSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        future: Future[Any],
        *,
        inline: bool,
    ) -> None:
        try:
            future.set_result(execute(self.env, state, spec, args, kwargs))
        except BaseException as exc:  # the future carries it to whoever awaits
            future.set_exception(exc)
            if not inline and isinstance(exc, Exception):  # DBOS logs it, with its traceback
                kind = "asynchronous" if spec.is_async else "background"
                logger.error("Exception encountered in %s workflow:", kind, exc_info=exc)
            # An interrupt (KeyboardInterrupt, SystemExit, a crash) of a workflow running
            # in the caller's thread belongs to the caller, as it would without us.
            if inline and not isinstance(exc, (Exception, DBOSBaseException)):
                raise
        finally:
            self.unregister(state, future)

    # --- cancelling ------------------------------------------------------------------

    def cancel(self, workflow_ids: list[str]) -> None:
        """Cancel the workflows; those running here stop at their next effect."""
        cancelled = self.store.cancel_workflows(workflow_ids, now_ms(self.clock))
        for workflow_id in cancelled:
            self.interrupt(workflow_id)
            self.waiters.notify(status_key(workflow_id))

    def cancel_for_timeout(self, state: WorkflowState) -> None:
        """A workflow ran past its deadline: cancel it."""
        self.cancel([state.workflow_id])

    def fork(
        self,
        original_id: str,
        start_step: int,
        *,
        new_id: str | None,
        application_version: str | None,
        timeout_seconds: float | None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
        replacement_children: Mapping[str, str] | None = None,
    ) -> str:
        """Fork ``original_id`` at ``start_step`` (see ``management.fork``); the fork's id."""
        fork_id, _ = fork(
            self,
            original_id,
            start_step,
            new_id=new_id,
            application_version=application_version,
            timeout_seconds=timeout_seconds,
            queue_name=queue_name,
            queue_partition_key=queue_partition_key,
            replacement_children=replacement_children,
        )
        return fork_id

    def delete(self, workflow_id: str, *, delete_children: bool) -> list[str]:
        """Delete the workflow (see ``management.delete``); return the ids deleted."""
        return delete(self, workflow_id, delete_children=delete_children)

    def rewind(self, workflow_id: str, start_step: int, queue_name: str | None) -> None:
        """Run a finished workflow again from ``start_step`` (see ``management.rewind``)."""
        rewind(self, workflow_id, start_step, queue_name)

    # --- shutdown --------------------------------------------------------------------

    def shutdown(self, workflow_completion_timeout_sec: float = 0) -> None:
        """Stop: wait up to the timeout for running workflows, then interrupt the rest.

        Interrupted workflows stay PENDING in the store; the next launch recovers them.
        """
        if workflow_completion_timeout_sec > 0:
            wait_futures(self.executions.futures(), timeout=workflow_completion_timeout_sec)
        self.watchdog.stop()
        self.closing = True
        self.executions.interrupt_all()
        self.dispatcher.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.store.close()
        if self.app_db is not None:
            self.app_db.close()
