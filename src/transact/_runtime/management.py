"""The runtime side of workflow management: fork and delete.

``fork`` and ``delete`` are operator verbs on top of the store's ``fork_workflow`` and
``delete_workflows``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from transact._core.status import WorkflowStatusString as S
from transact._runtime.announcer import announce
from transact._runtime.clock import now_ms
from transact._runtime.latest import is_latest
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import REGISTRY
from transact._runtime.services import Services
from transact._runtime.waiters import status_key
from transact._store.protocol import Store
from transact._store.records import WorkflowQuery, WorkflowRecord
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
    queue_name: str | None = None,
    queue_partition_key: str | None = None,
    replacement_children: Mapping[str, str] | None = None,
) -> tuple[str, Future[Any] | None]:
    """Fork ``original_id`` at ``start_step``; return the fork's id and, if it runs here,
    its future.

    The fork gets a copy of the original's checkpoints (children renamed through
    ``replacement_children``), event history and stream entries below ``start_step``
    (past the end of the log: all of them; it then runs on from there). Without a
    ``queue_name`` it is enqueued on the internal queue and this process claims and runs
    it at once when it can (the workflow is registered here and ``application_version``
    is this executor's, or None and this executor runs the latest version); otherwise it
    stays ENQUEUED for an executor that may run it. With a ``queue_name`` (and
    ``queue_partition_key``) it waits on that queue.

    Raises ``DBOSNonExistentWorkflowError`` for an unknown original, ``ValueError`` if
    ``start_step`` is below 1, ``DBOSConflictingWorkflowError`` if ``new_id`` is taken.
    """
    validate_start_step(start_step)
    store = runtime.store
    original = store.get_workflow(original_id, load_output=False)
    if original is None:
        raise DBOSNonExistentWorkflowError("target", original_id)
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
        queue_name=queue_name or INTERNAL_QUEUE,
        queue_partition_key=queue_partition_key,
        workflow_timeout_ms=(int(timeout_seconds * 1000) if timeout_seconds is not None else None),
        forked_from=original_id,
        attributes=original.attributes,
        application_name=original.application_name,
    )
    store.fork_workflow(original_id, record, start_step, replacement_children)
    if queue_name is not None and queue_name != INTERNAL_QUEUE:
        announce(runtime, queue_name)
        return fork_id, None
    # Without a version, the executors of the latest version run it (DBOS).
    runnable = REGISTRY.workflow(original.name) is not None and (
        application_version == runtime.application_version
        or (application_version is None and is_latest(runtime))
    )
    if not runnable:
        return fork_id, None
    claimed = store.claim_workflow(
        fork_id, runtime.executor_id, runtime.application_version, now_ms(runtime.clock)
    )
    if claimed is None:  # another executor's queue runner was quicker
        return fork_id, None
    return fork_id, runtime.dispatch(claimed)


# --- bulk cancel, resume, delete; rewind ------------------------------------------------


def with_descendants(store: Store, workflow_ids: Sequence[str], children: bool) -> list[str]:
    """``workflow_ids`` and, with ``children``, every descendant of them (once each)."""
    ids = list(dict.fromkeys(workflow_ids))
    if children:
        ids += [d for d in store.descendants(ids) if d not in ids]
    return ids


def forks_of(store: Store, workflow_id: str) -> list[str]:
    """Every workflow forked from ``workflow_id``, from its forks, and so on (oldest
    first per generation)."""
    found: list[str] = []
    frontier = [workflow_id]
    while frontier:
        query = WorkflowQuery(forked_from=tuple(frontier), load_input=False, load_output=False)
        frontier = [
            r.workflow_id for r in store.list_workflows(query) if r.workflow_id not in found
        ]
        found += frontier
    return found


def require_all(store: Store, workflow_ids: Sequence[str]) -> None:
    """DBOS's ``DBOSNonExistentWorkflowError`` naming every missing id (in call order)."""
    missing = [
        wid
        for wid in dict.fromkeys(workflow_ids)
        if store.get_workflow(wid, load_input=False, load_output=False) is None
    ]
    if missing:
        raise DBOSNonExistentWorkflowError("Workflow", ", ".join(missing))


def delete_many(runtime: Services, workflow_ids: Sequence[str], *, delete_children: bool) -> None:
    """Delete the workflows that exist (unknown ids are skipped), as ``delete`` does."""
    for workflow_id in dict.fromkeys(workflow_ids):
        if runtime.store.get_workflow(workflow_id, load_input=False, load_output=False):
            delete(runtime, workflow_id, delete_children=delete_children)


def rewind(runtime: Services, workflow_id: str, start_step: int, queue_name: str | None) -> None:
    """Forget a finished workflow's history from ``start_step`` on and run it again from
    there, as a resume does (here, or on ``queue_name``). Raises ``ValueError`` for a
    step below 1, ``DBOSNonExistentWorkflowError`` for an unknown workflow, and
    ``DBOSException`` for one still PENDING, ENQUEUED or DELAYED."""
    if isinstance(start_step, bool) or not isinstance(start_step, int) or start_step < 1:
        raise ValueError(f"start_step must be >= 1, got {start_step}")
    queue = queue_name or INTERNAL_QUEUE
    row = runtime.store.rewind_workflow(workflow_id, start_step, queue, now_ms(runtime.clock))
    runtime.waiters.notify(status_key(workflow_id))
    if queue != INTERNAL_QUEUE:
        announce(runtime, queue)
        return
    if REGISTRY.workflow(row.name) is None:  # stays in line for an executor that has it
        return
    claimed = runtime.store.claim_workflow(
        workflow_id, runtime.executor_id, runtime.application_version, now_ms(runtime.clock)
    )
    if claimed is not None:
        runtime.dispatch(claimed)


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
