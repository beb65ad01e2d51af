"""Running persisted workflows: recovery at launch, resume, and the dispatch they share.

Composed into ``Runtime`` (which delegates to it): it needs the ``Env``, the runtime's
``launch`` and a filter of the workflows this process already runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from transact._core.checkpoint import Checkpoint, CheckpointLog
from transact._core.status import WorkflowStatusString as S
from transact._core.status import is_terminal
from transact._runtime.classes import rebind
from transact._runtime.clock import now_ms
from transact._runtime.env import Env
from transact._runtime.formats import decode_inputs, validated, workflow_serializer
from transact._runtime.registry import REGISTRY, WorkflowSpec
from transact._runtime.roles import check_roles
from transact._runtime.waiters import status_key
from transact._serialization import serialize_error
from transact._store.records import WorkflowRecord
from transact.errors import (
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSNotAuthorizedError,
    DBOSWorkflowFunctionNotFoundError,
    MaxRecoveryAttemptsExceededError,
    SerializationError,
)

__all__ = ["INTERNAL_QUEUE", "RECOVERY_BATCH", "Recovery"]

logger = logging.getLogger("dbos")

INTERNAL_QUEUE = "_dbos_internal_queue"

RECOVERY_BATCH = 500
"""How many PENDING workflows recovery claims (and reads the logs of) at once."""


class Recovery:
    """Runs persisted PENDING workflows from their logs (the ``Runtime`` methods of that
    concern)."""

    def __init__(
        self,
        env: Env,
        launch: Callable[..., Future[Any]],
        inactive: Callable[[list[str]], list[str]],
    ) -> None:
        self._env = env
        # ``Runtime.launch``: run a workflow from its log on the runner pool.
        self._launch = launch
        # The ids among those given that this process does not run at the moment.
        self._inactive = inactive

    def spec(
        self,
        name: str,
        workflow_id: str,
        class_name: str | None = None,
        config_name: str | None = None,
    ) -> WorkflowSpec:
        """The registered workflow ``name`` (a method bound to the target the names
        give)."""
        spec = REGISTRY.workflow(name)
        if spec is None:
            raise DBOSWorkflowFunctionNotFoundError(
                workflow_id, f"{name} is not a registered workflow function"
            )
        return rebind(spec, workflow_id, class_name, config_name)

    def dispatch(
        self, record: WorkflowRecord, checkpoints: list[Checkpoint] | None = None
    ) -> Future[Any] | None:
        """Run a persisted PENDING workflow from its log; None if it could not be run.

        ``checkpoints``: its log, if the caller already loaded it (else it is read here).
        """
        spec = self.spec(record.name, record.workflow_id, record.class_name, record.config_name)
        limit = spec.max_recovery_attempts
        if limit is not None and record.recovery_attempts > limit + 1:
            self._env.store.dead_letter(record.workflow_id, now_ms(self._env.clock))
            self._env.waiters.notify(status_key(record.workflow_id))
            raise MaxRecoveryAttemptsExceededError(record.workflow_id, limit)
        try:
            args, kwargs = decode_inputs(self._env, record, spec)
        except Exception as exc:
            self._fail(
                record,
                SerializationError(
                    f"cannot deserialize the inputs of workflow {record.workflow_id}: {exc}"
                ),
            )
            return None
        roles = json.loads(record.authenticated_roles) if record.authenticated_roles else None
        try:  # roles are checked again when a stored workflow runs, as DBOS does
            check_roles(spec.name, roles)
        except DBOSNotAuthorizedError as exc:
            self._fail(record, exc)
            return None
        try:
            args, kwargs = validated(spec, args, kwargs)
        except Exception as exc:  # its validate_args refused them: unrecoverable
            self._fail(record, exc)
            return None
        if checkpoints is None:
            checkpoints = self._env.store.load_checkpoints(record.workflow_id)
        return self._launch(record, spec, args, kwargs, log=CheckpointLog.of(checkpoints))

    def _fail(self, record: WorkflowRecord, error: Exception) -> None:
        """Mark a workflow that cannot run ERROR with ``error``."""
        try:
            serializer = workflow_serializer(self._env, record.serialization)
        except TypeError:
            serializer = self._env.serializer
        self._env.store.finish_workflow(
            record.workflow_id,
            status=S.ERROR.value,
            output=None,
            error=serialize_error(serializer, error),
            now_ms=now_ms(self._env.clock),
        )
        self._env.waiters.notify(status_key(record.workflow_id))

    def recover_pending(self, executor_ids: Sequence[str] | None = None) -> list[str]:
        """Re-run the PENDING workflows of ``executor_ids`` (default: this executor, as at
        launch) of this application version here; return their ids.

        Rows are claimed (they become this executor's) and their logs read
        ``RECOVERY_BATCH`` at a time (one write and one read per batch, not per
        workflow); each batch starts running while the next is claimed.
        """
        recovered: list[str] = []
        pending = [
            workflow_id
            for executor_id in executor_ids or [self._env.executor_id]
            for workflow_id in self._env.store.pending_workflow_ids(
                executor_id, self._env.application_version
            )
        ]
        for start in range(0, len(pending), RECOVERY_BATCH):
            chunk = pending[start : start + RECOVERY_BATCH]
            batch = self._inactive(chunk)
            records = self._env.store.begin_recovery_many(
                batch, self._env.executor_id, now_ms(self._env.clock)
            )
            logs = self._env.store.load_checkpoints_many([r.workflow_id for r in records])
            for record in records:
                try:
                    if self.dispatch(record, logs[record.workflow_id]) is not None:
                        recovered.append(record.workflow_id)
                except DBOSException as exc:
                    logger.error(
                        "Exception encountered when recovering workflow %s:",
                        record.workflow_id,
                        exc_info=exc,
                    )
        return recovered

    def resume(self, workflow_id: str, queue_name: str | None = None) -> None:
        """Put a workflow back in line and run it here from its log; with a
        ``queue_name``, leave it ENQUEUED there for that queue's runners."""
        record = self._env.store.resume_workflow(
            workflow_id, queue_name or INTERNAL_QUEUE, now_ms(self._env.clock)
        )
        if record is None:
            raise DBOSNonExistentWorkflowError("target", workflow_id)
        if is_terminal(record.status):
            return
        if queue_name is not None and queue_name != INTERNAL_QUEUE:
            # Other processes hear of it from the store (a status change to ENQUEUED).
            self._env.waiters.notify(f"queue:{queue_name}")
            return
        claimed = self._env.store.claim_workflow(
            workflow_id,
            self._env.executor_id,
            self._env.application_version,
            now_ms(self._env.clock),
        )
        if claimed is not None:
            self.dispatch(claimed)
