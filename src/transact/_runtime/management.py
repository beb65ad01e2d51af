"""The runtime side of workflow management: fork and delete.

``fork`` and ``delete`` are operator verbs on top of the store's ``fork_workflow`` and
``delete_workflows``.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import Future
from typing import Any

from transact._core.status import WorkflowStatusString as S
from transact._runtime.clock import now_ms
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import REGISTRY
from transact._runtime.services import Services
from transact._runtime.waiters import status_key
from transact._store.records import WorkflowRecord
from transact.errors import DBOSNonExistentWorkflowError

logger = logging.getLogger("dbos")


# --- fork ------------------------------------------------------------------------------


def validate_start_step(start_step: object) -> int:
    """``start_step`` as a function id (an int of at least 1); ``ValueError`` otherwise."""
    if isinstance(start_step, bool) or not isinstance(start_step, int):
        raise ValueError(f"start_step must be an int, got {start_step!r}")
    if start_step < 1:
        raise ValueError(f"start_step must be at least 1 (the first step), got {start_step}")
    return start_step


def fork(
    runtime: Services,
    original_id: str,
    start_step: int,
    *,
    new_id: str | None,
    application_version: str | None,
    timeout_seconds: float | None,
) -> tuple[str, Future[Any] | None]:
    """Fork ``original_id`` at ``start_step``; return the fork's id and, if it runs here,
    its future.

    The fork gets a copy of the original's checkpoints, event history and stream entries
    below ``start_step`` and is enqueued on the internal queue; this process claims and
    runs it at once when it can (the workflow is registered here and
    ``application_version`` is None or this executor's). Otherwise it stays ENQUEUED for
    an executor of that version.

    Raises ``DBOSNonExistentWorkflowError`` for an unknown original, ``ValueError`` if
    ``start_step`` is below 1 or past the end of the original's log (more than its last
    function id + 1), ``DBOSConflictingWorkflowError`` if ``new_id`` is taken.
    """
    validate_start_step(start_step)
    store = runtime.store
    original = store.get_workflow(original_id, load_output=False)
    if original is None:
        raise DBOSNonExistentWorkflowError("target", original_id)
    checkpoints = store.load_checkpoints(original_id)
    last = checkpoints[-1].function_id if checkpoints else 0
    if start_step > last + 1:
        # Past the end there is nothing to re-run, and the gap would be a position the
        # fork could never have reached: almost surely a mistake, so refuse it.
        raise ValueError(
            f"start_step {start_step} is past the end of workflow {original_id}: its last "
            f"recorded step is {last}, so start_step must be between 1 and {last + 1}"
        )
    fork_id = new_id or str(uuid.uuid4())
    now = now_ms(runtime.clock)
    record = WorkflowRecord(
        workflow_id=fork_id,
        status=S.ENQUEUED.value,
        name=original.name,
        inputs=original.inputs,
        serialization=original.serialization,
        class_name=original.class_name,
        config_name=original.config_name,
        application_version=application_version,
        application_id=original.application_id,
        authenticated_user=original.authenticated_user,
        assumed_role=original.assumed_role,
        authenticated_roles=original.authenticated_roles,
        created_at=now,
        updated_at=now,
        queue_name=INTERNAL_QUEUE,
        workflow_timeout_ms=(int(timeout_seconds * 1000) if timeout_seconds is not None else None),
        forked_from=original_id,
    )
    store.fork_workflow(original_id, record, start_step)
    runnable = REGISTRY.workflow(original.name) is not None and application_version in (
        None,
        runtime.application_version,
    )
    if not runnable:
        return fork_id, None
    claimed = store.claim_workflow(
        fork_id, runtime.executor_id, runtime.application_version, now_ms(runtime.clock)
    )
    if claimed is None:  # another executor's queue runner was quicker
        return fork_id, None
    return fork_id, runtime.dispatch(claimed)


# --- delete ----------------------------------------------------------------------------


def delete(runtime: Services, workflow_id: str, *, delete_children: bool) -> list[str]:
    """Delete the workflow (and with ``delete_children`` its descendants) with their
    checkpoints, messages, events and streams; return the ids deleted.

    Executions of them in this process stop at their next effect (or at once if they
    wait); in other processes at their next write or the watchdog's next look.
    Raises ``DBOSNonExistentWorkflowError`` for an unknown id, writing nothing.
    """
    store = runtime.store
    if store.get_workflow(workflow_id, load_input=False, load_output=False) is None:
        raise DBOSNonExistentWorkflowError("target", workflow_id)
    doomed = [workflow_id]
    if delete_children:
        doomed += store.descendants([workflow_id])
    # Cancel first: a status change is pushed to other processes (Postgres NOTIFY) and a
    # delete is not, so executors elsewhere stop their runs at once instead of at their
    # next write. A crash between the two leaves the active ones CANCELLED, not deleted.
    store.cancel_workflows(doomed, now_ms(runtime.clock))
    store.delete_workflows(doomed)
    for doomed_id in doomed:
        runtime.interrupt(doomed_id)
        runtime.waiters.notify(status_key(doomed_id))
    return doomed
