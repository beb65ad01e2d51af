"""The workflows executing in this process: their states and futures by id, from
``Runtime.register`` to ``Runtime.unregister``, and interrupting them (a cancel here, a
cancel or delete heard from another process, shutdown).

Composed into ``Runtime`` (which delegates to it); it needs only an ``Env``.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from transact._core.status import WorkflowStatusString as S
from transact._runtime.env import Env
from transact._runtime.state import WorkflowState


class Executions:
    """The table of this process's running executions (the ``Runtime`` methods of that
    concern); one lock guards it."""

    def __init__(self, env: Env) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}
        self._active: dict[str, WorkflowState] = {}

    def add(self, state: WorkflowState, future: Future[Any]) -> None:
        """An execution starts here; its outcome will go to ``future``."""
        with self._lock:
            self._futures[state.workflow_id] = future
            self._active[state.workflow_id] = state

    def remove(self, state: WorkflowState, future: Future[Any]) -> None:
        """The execution ended; a newer one of the same workflow stays."""
        with self._lock:
            if self._futures.get(state.workflow_id) is future:
                del self._futures[state.workflow_id]
            if self._active.get(state.workflow_id) is state:
                del self._active[state.workflow_id]

    def future(self, workflow_id: str) -> Future[Any] | None:
        """The future of a workflow running in this process, if any."""
        with self._lock:
            return self._futures.get(workflow_id)

    def futures(self) -> list[Future[Any]]:
        """The futures of every execution running here now."""
        with self._lock:
            return list(self._futures.values())

    def inactive(self, workflow_ids: list[str]) -> list[str]:
        """Those of ``workflow_ids`` not running in this process."""
        with self._lock:
            return [i for i in workflow_ids if i not in self._active]

    def active_count(self) -> int:
        """How many workflows this process is running."""
        with self._lock:
            return len(self._active)

    def interrupt(self, workflow_id: str) -> None:
        """Stop this process's execution of the workflow (if any) at its next effect."""
        with self._lock:
            state = self._active.get(workflow_id)
        if state is not None:
            state.cancelled.set()
            self._env.waiters.notify_all()  # wake it if it waits on a message, event or result

    def interrupt_all(self) -> None:
        """Stop every execution running here at its next effect (shutdown)."""
        with self._lock:
            states = list(self._active.values())
        for state in states:
            state.cancelled.set()
        self._env.waiters.notify_all()

    def on_notify(self, key: str) -> None:
        """A notification pushed by the store: wake its waiters; a workflow running here
        that another process cancelled or deleted stops at its next effect."""
        self._env.waiters.notify(key)
        if key.startswith("status:"):
            workflow_id = key.removeprefix("status:")
            with self._lock:
                state = self._active.get(workflow_id)
            # A finishing workflow hears its own outcome notification: nothing to check.
            if state is not None and not state.finishing:
                row = self._env.store.get_workflow(workflow_id, load_input=False, load_output=False)
                if row is None or row.status == S.CANCELLED.value:
                    self.interrupt(workflow_id)
