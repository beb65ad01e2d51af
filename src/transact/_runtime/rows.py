"""The row of a new workflow: built from its start options, and inserted (or attached to
an existing row of the same workflow function)."""

from __future__ import annotations

import json
import logging
from typing import Any

from transact._core.status import WorkflowStatusString as S
from transact._runtime.env import Env
from transact._runtime.formats import encode_inputs
from transact._runtime.options import StartOptions
from transact._runtime.registry import WorkflowSpec
from transact._runtime.roles import check_roles
from transact._runtime.state import WorkflowState
from transact._serialization import format_serializer, serialize_value
from transact._store.protocol import Store
from transact._store.records import WorkflowRecord
from transact.errors import DBOSConflictingWorkflowError, DBOSWorkflowIDInUseError

logger = logging.getLogger("dbos")


def new_record(
    env: Env,
    spec: WorkflowSpec,
    workflow_id: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    parent: WorkflowState | None,
    options: StartOptions,
) -> WorkflowRecord:
    """The PENDING row of a direct start (inputs serialized, deadline computed)."""
    now = env.clock.now()
    serializer = format_serializer(spec.serialization_type, env.serializer)
    inputs = serialize_value(
        serializer,
        encode_inputs(serializer, args, kwargs),
        f"the arguments of workflow {spec.name}",
    )
    timeout_ms: int | None = None
    deadline: float | None = None
    if options.timeout_seconds is not None:
        timeout_ms = int(options.timeout_seconds * 1000)
        deadline = now + options.timeout_seconds
    elif parent is not None and options.inherit_deadline:
        deadline = parent.deadline
    ms = int(now * 1000)
    roles = parent.authenticated_roles if parent else options.authenticated_roles
    assumed_role = check_roles(spec.name, roles)
    return WorkflowRecord(
        workflow_id=workflow_id,
        status=S.PENDING.value,
        name=spec.name,
        class_name=spec.class_name,
        config_name=spec.config_name,
        inputs=inputs,
        serialization=serializer.name(),
        executor_id=env.executor_id,
        application_version=env.application_version,
        created_at=ms,
        updated_at=ms,
        recovery_attempts=1,
        workflow_timeout_ms=timeout_ms,
        workflow_deadline_epoch_ms=int(deadline * 1000) if deadline is not None else None,
        parent_workflow_id=parent.workflow_id if parent is not None else None,
        authenticated_user=parent.authenticated_user if parent else options.authenticated_user,
        authenticated_roles=json.dumps(list(roles)) if roles is not None else None,
        assumed_role=assumed_role,
        attributes=options.attributes,  # never the parent's: children do not inherit
        otel_context=env.tracing.carrier(child=parent is not None),
    )


def insert(
    store: Store, record: WorkflowRecord, *, fresh_id: bool = False, announce: bool = False
) -> tuple[WorkflowRecord, bool]:
    """Insert the row or attach to an existing one of the same workflow function (and
    target: class and config name); ``DBOSConflictingWorkflowError`` otherwise. A
    ``reject`` reuse policy is ``check_reuse``'s. ``fresh_id``: the id was just generated;
    ``announce``: tell the queue's runners in other processes (``Store.insert_workflow``)."""
    stored, created = store.insert_workflow(record, fresh_id=fresh_id, announce=announce)
    if not created:
        check_attach(stored, record)
    return stored, created


def check_attach(stored: WorkflowRecord, record: WorkflowRecord) -> None:
    """Raise ``DBOSConflictingWorkflowError`` if ``stored``, the row already holding
    ``record``'s id, is of another workflow function or target; warn if of another
    queue (which is not changed)."""
    for noun, existing, new in (
        ("function name", stored.name, record.name),
        ("class name", stored.class_name, record.class_name),
        ("config name", stored.config_name, record.config_name),
    ):
        if existing != new:
            raise DBOSConflictingWorkflowError(
                record.workflow_id,
                f"Workflow already exists with a different {noun}: {existing}, but the "
                f"provided {noun} is: {new}",
            )
    if record.queue_name is not None and stored.queue_name != record.queue_name:
        logger.warning(
            "Workflow already exists in queue: %s, but the provided queue name is: %s. "
            "The queue is not updated.",
            stored.queue_name,
            record.queue_name,
        )


def check_reuse(stored: WorkflowRecord, created: bool, policy: str | None) -> None:
    """Raise ``DBOSWorkflowIDInUseError`` if the id was already used (``stored`` is the
    existing row) and ``policy`` is ``"reject"``."""
    if not created and policy == "reject":
        raise DBOSWorkflowIDInUseError(stored.workflow_id, stored.status, stored.name)
