"""Awaiting workflows: wait for an outcome, and turn a terminal row into a result.

Mixed into ``Runtime``; it needs only the attributes declared here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from transact._core.status import is_terminal
from transact._runtime.clock import Clock
from transact._runtime.outcomes import outcome_of
from transact._runtime.waiters import Waiters, status_key
from transact._serialization import Serializer
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord
from transact.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
)


class Awaiting:
    """Waits for workflows' outcomes (the ``Runtime`` methods of that concern)."""

    store: Store
    serializer: Serializer
    clock: Clock
    waiters: Waiters
    poll_seconds: float
    closing: bool

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
            row = self.store.get_workflow(workflow_id, load_input=False)
            return row if row is not None and is_terminal(row.status) else None

        self.store.listen_for_outcomes()  # before the first check, so none is missed
        return self.waiters.wait_for(
            status_key(workflow_id),
            finished,
            clock=self.clock,
            deadline=self.clock.now() + timeout if timeout is not None else None,
            poll_seconds=poll_seconds if poll_seconds is not None else self.poll_seconds,
            interrupt=interrupt,
        )

    def wait_any(
        self, workflow_ids: Sequence[str], first_done: Callable[[], str | None], poll_seconds: float
    ) -> str:
        """Wait until ``first_done`` names a finished workflow among ``workflow_ids``."""
        self.store.listen_for_outcomes()
        done = self.waiters.wait_for(
            [status_key(w) for w in workflow_ids],
            first_done,
            clock=self.clock,
            deadline=None,
            poll_seconds=poll_seconds,
        )
        assert done is not None  # no deadline: only a finished workflow ends the wait
        return done

    def result(self, workflow_id: str, future: Future[Any] | None, poll_seconds: float) -> Any:
        """The outcome of a workflow, waiting as long as it takes."""
        if future is not None:
            try:
                return future.result()
            except DBOSWorkflowCancelledError:
                if not self.closing:
                    raise DBOSAwaitedWorkflowCancelledError(workflow_id) from None
            except DBOSWorkflowConflictIDError:
                pass  # another execution owns the outcome: read it from the store
        row = self.wait_terminal(workflow_id, poll_seconds=poll_seconds)
        assert row is not None  # no timeout and no interrupt: only an outcome ends the wait
        return outcome_of(self.serializer, row)
