"""Awaiting workflows: wait for an outcome, and turn a terminal row into a result.

Composed into ``Runtime`` (which delegates to it); it needs only an ``Env``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from transact._core.status import is_terminal
from transact._runtime.env import Env
from transact._runtime.outcomes import outcome_of
from transact._runtime.parking import wait_future
from transact._runtime.waiters import status_key
from transact._store.records import WorkflowRecord
from transact.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
)


class Awaiting:
    """Waits for workflows' outcomes (the ``Runtime`` methods of that concern)."""

    def __init__(self, env: Env) -> None:
        self._env = env

    def wait_terminal(
        self,
        workflow_id: str,
        *,
        poll_seconds: float | None = None,
        interrupt: threading.Event | None = None,
        timeout: float | None = None,
    ) -> WorkflowRecord | None:
        """Wait until the workflow has an outcome; None if interrupted or timed out.

        The row comes without its inputs.
        """

        def finished() -> WorkflowRecord | None:
            # The outcome only: a workflow's inputs can be large, and nobody here reads them.
            row = self._env.store.get_workflow(workflow_id, load_input=False)
            return row if row is not None and is_terminal(row.status) else None

        self._env.store.listen_for_outcomes()  # before the first check, so none is missed
        return self._env.waiters.wait_for(
            status_key(workflow_id),
            finished,
            clock=self._env.clock,
            deadline=self._env.clock.now() + timeout if timeout is not None else None,
            poll_seconds=poll_seconds if poll_seconds is not None else self._env.poll_seconds,
            interrupt=interrupt,
        )

    def wait_any(self, workflow_ids: Sequence[str], poll_seconds: float) -> str:
        """Wait until one of ``workflow_ids`` has finished; return the first finished one
        in the order given."""
        store = self._env.store

        def first_done() -> str | None:
            for workflow_id in workflow_ids:
                row = store.get_workflow(workflow_id, load_input=False, load_output=False)
                if row is not None and is_terminal(row.status):
                    return workflow_id
            return None

        store.listen_for_outcomes()
        done = self._env.waiters.wait_for(
            [status_key(w) for w in workflow_ids],
            first_done,
            clock=self._env.clock,
            deadline=None,
            poll_seconds=poll_seconds,
        )
        assert done is not None  # no deadline: only a finished workflow ends the wait
        return done

    def result(self, workflow_id: str, future: Future[Any] | None, poll_seconds: float) -> Any:
        """The outcome of a workflow, waiting as long as it takes."""
        if future is not None:
            try:
                return wait_future(future)  # parks a workflow awaiting another
            except DBOSWorkflowCancelledError:
                if not self._env.closing:
                    raise DBOSAwaitedWorkflowCancelledError(workflow_id) from None
            except DBOSWorkflowConflictIDError:
                pass  # another execution owns the outcome: read it from the store
        row = self.wait_terminal(workflow_id, poll_seconds=poll_seconds)
        assert row is not None  # no timeout and no interrupt: only an outcome ends the wait
        return outcome_of(self._env.serializer, row)
