"""Every error `transact` raises, with DBOS's names.

The tree::

    Exception
    └── DBOSException                       (message, dbos_error_code)
        ├── DBOSRecoveryError               2  recovery could not dispatch a workflow
        ├── DBOSInitializationError         3  bad configuration, database unreachable
        ├── DBOSWorkflowFunctionNotFoundError 4 no registered function for a name
        ├── DBOSNonExistentWorkflowError    5  a workflow id that does not exist
        ├── MaxRecoveryAttemptsExceededError 6 dispatched more often than allowed
        ├── DBOSMaxStepRetriesExceeded      7  a step failed on every attempt
        ├── DBOSNotAuthorizedError          8
        ├── DBOSConflictingWorkflowError    9  an id reused for another function
        ├── DBOSUnexpectedStepError         11 non-determinism (alias NondeterminismError)
        ├── DBOSQueueDeduplicatedError      12
        ├── DBOSAwaitedWorkflowCancelledError 13
        ├── DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded 14
        ├── DBOSStreamTimeoutError          16
        ├── DBOSStreamNondeterminismError   17
        ├── DBOSStepTimeoutError            18
        ├── DBOSPatchNondeterminismError    15
        ├── DBOSConflictingRegistrationError 25
        ├── DBOSQueryTimeoutError           26
        ├── DBOSWorkflowIDInUseError        27
        ├── DBOSStepNondeterminismError     28
        └── SerializationError              (transact) a value that cannot be stored
    BaseException
    └── DBOSBaseException                   control flow that ``except Exception`` must miss
        ├── DBOSWorkflowConflictIDError     1  another execution recorded this position first
        └── DBOSWorkflowCancelledError      10 the running workflow was cancelled

Every class pickles by its constructor arguments, so a workflow's error survives the
default (pickle) serializer and comes back as the same class.
"""

from __future__ import annotations

# The codes and the bases live in _errors_base.py; their ``__module__`` is this module,
# where each (the private _DBOSError too) can be imported, so pickles name this module.
from transact._errors_base import DBOSBaseException, DBOSErrorCode, DBOSException
from transact._errors_base import _DBOSError as _DBOSError

__all__ = [
    "DBOSAwaitedWorkflowCancelledError",
    "DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded",
    "DBOSBaseException",
    "DBOSConflictingRegistrationError",
    "DBOSConflictingWorkflowError",
    "DBOSErrorCode",
    "DBOSException",
    "DBOSInitializationError",
    "DBOSMaxStepRetriesExceeded",
    "DBOSNonExistentWorkflowError",
    "DBOSNotAuthorizedError",
    "DBOSPatchNondeterminismError",
    "DBOSQueryTimeoutError",
    "DBOSQueueDeduplicatedError",
    "DBOSRecoveryError",
    "DBOSStepNondeterminismError",
    "DBOSStepTimeoutError",
    "DBOSStreamNondeterminismError",
    "DBOSStreamTimeoutError",
    "DBOSUnexpectedStepError",
    "DBOSWorkflowCancelledError",
    "DBOSWorkflowConflictIDError",
    "DBOSWorkflowFunctionNotFoundError",
    "DBOSWorkflowIDInUseError",
    "MaxRecoveryAttemptsExceededError",
    "NondeterminismError",
    "SerializationError",
]


class DBOSWorkflowConflictIDError(DBOSBaseException):
    """Another execution of the same workflow already recorded this position."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"Conflicting workflow ID {workflow_id}", 1)
        self.workflow_id = workflow_id
        self._args = (workflow_id,)


class DBOSRecoveryError(DBOSException):
    """Recovery could not dispatch a workflow."""

    def __init__(self, workflow_id: str, message: str | None = None) -> None:
        super().__init__(f"Recovery error for workflow ID {workflow_id}: {message}", 2)
        self.workflow_id = workflow_id
        self._args = (workflow_id, message)


class DBOSInitializationError(DBOSException):
    """The configuration is invalid or the system database cannot be used."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Error initializing DBOS Transact: {message}", 3)
        self.detail = message
        self._args = (message,)


class DBOSWorkflowFunctionNotFoundError(DBOSException):
    """No function is registered under the name a workflow row carries."""

    def __init__(self, workflow_id: str, message: str | None = None) -> None:
        super().__init__(f"Could not execute workflow {workflow_id}: {message}", 4)
        self.workflow_id = workflow_id
        self._args = (workflow_id, message)


class DBOSNonExistentWorkflowError(DBOSException):
    """The workflow id names no workflow."""

    def __init__(self, destination: str, destination_id: str | None = None) -> None:
        wid = destination_id if destination_id is not None else destination
        super().__init__(f"Non-existent {destination} workflow ID: {wid}", 5)
        self.destination = destination
        self.destination_id = destination_id
        self.workflow_id = wid
        self._args = (destination, destination_id)


class MaxRecoveryAttemptsExceededError(DBOSException):
    """A workflow was dispatched more times than its ``max_recovery_attempts`` allows."""

    def __init__(self, workflow_id: str, max_retries: int | None = None) -> None:
        limit = "number" if max_retries is None else f"of {max_retries}"
        super().__init__(
            f"Workflow {workflow_id} has exceeded its maximum {limit} execution or recovery "
            "attempts. Further attempts to execute or recover it will fail. See "
            "documentation for details: https://docs.dbos.dev/python/reference/decorators",
            6,
        )
        self.workflow_id = workflow_id
        self.max_retries = max_retries
        self._args = (workflow_id, max_retries)


class DBOSMaxStepRetriesExceeded(DBOSException):
    """A step failed on every allowed attempt; ``errors`` holds each attempt's exception."""

    def __init__(self, step_name: str, max_retries: int, errors: list[BaseException]) -> None:
        super().__init__(f"Step {step_name} has exceeded its maximum of {max_retries} retries", 7)
        self.step_name = step_name
        self.max_retries = max_retries
        self.errors = list(errors)
        self._args = (step_name, max_retries, self.errors)


class DBOSNotAuthorizedError(DBOSException):
    """A required-role check failed."""

    status_code = 403

    def __init__(self, message: str) -> None:
        super().__init__(message, 8)
        self._args = (message,)


class DBOSConflictingWorkflowError(DBOSException):
    """A workflow id was reused for a different workflow function."""

    def __init__(self, workflow_id: str, message: str | None = None) -> None:
        super().__init__(
            f"Conflicting workflow invocation with the same ID ({workflow_id}): {message}", 9
        )
        self.workflow_id = workflow_id
        self._args = (workflow_id, message)


class DBOSWorkflowCancelledError(DBOSBaseException):
    """Raised inside a running workflow when it notices it was cancelled."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 10)
        self._args = (message,)


class DBOSUnexpectedStepError(DBOSException):
    """Non-determinism: the code issued another operation than the log recorded here.

    Attributes: ``workflow_id``, ``step_id`` (the position), ``expected`` (what the code
    issued now) and ``recorded`` (what the checkpoint log holds at that position).
    """

    def __init__(self, workflow_id: str, step_id: int, expected: str, recorded: str) -> None:
        super().__init__(
            f"During execution of workflow {workflow_id} step {step_id}, function {recorded} "
            f"was recorded when {expected} was expected. Check that your workflow is "
            "deterministic.",
            11,
        )
        self.workflow_id = workflow_id
        self.step_id = step_id
        self.expected = expected
        self.recorded = recorded
        self._args = (workflow_id, step_id, expected, recorded)


NondeterminismError = DBOSUnexpectedStepError
"""The `transact` name of :class:`DBOSUnexpectedStepError`."""


class DBOSQueueDeduplicatedError(DBOSException):
    """A deduplication id is already held by a live workflow on the queue."""

    def __init__(self, workflow_id: str, queue_name: str, deduplication_id: str) -> None:
        super().__init__(
            f"Workflow {workflow_id} was deduplicated due to an existing workflow in queue "
            f"{queue_name} with deduplication ID {deduplication_id}.",
            12,
        )
        self.workflow_id = workflow_id
        self.queue_name = queue_name
        self.deduplication_id = deduplication_id
        self._args = (workflow_id, queue_name, deduplication_id)


class DBOSAwaitedWorkflowCancelledError(DBOSException):
    """The awaited workflow was cancelled."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"Awaited workflow {workflow_id} was cancelled", 13)
        self.workflow_id = workflow_id
        self._args = (workflow_id,)


class DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded(DBOSException):
    """The awaited workflow exceeded its recovery attempts (dead-lettered)."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(
            f"Awaited workflow {workflow_id} exceeded its maximum recovery attempts", 14
        )
        self.workflow_id = workflow_id
        self._args = (workflow_id,)


class DBOSStreamTimeoutError(DBOSException):
    """No stream value arrived within the timeout, or the stream ended first."""

    def __init__(self, workflow_id: str, key: str, timeout_seconds: float | None = None) -> None:
        within = f" within {timeout_seconds} seconds" if timeout_seconds is not None else ""
        super().__init__(f"No value arrived on stream {key} of workflow {workflow_id}{within}", 16)
        self.workflow_id = workflow_id
        self.key = key
        self.timeout_seconds = timeout_seconds
        self._args = (workflow_id, key, timeout_seconds)


class DBOSStreamNondeterminismError(DBOSException):
    """Concurrent checkpointed reads of one stream inside one workflow."""

    def __init__(self, workflow_id: str, key: str) -> None:
        super().__init__(
            f"Cannot deterministically read stream {key} in workflow {workflow_id}: another "
            "stream read in the same workflow is still in progress, so which read records "
            "which value would depend on task scheduling. Read streams from sequential "
            "workflow code, or read them from a step.",
            17,
        )
        self.workflow_id = workflow_id
        self.key = key
        self._args = (workflow_id, key)


class DBOSStepTimeoutError(DBOSException):
    """An async step exceeded its ``timeout_seconds``."""

    def __init__(self, step_name: str, timeout_seconds: float) -> None:
        super().__init__(
            f"Step {step_name} was cancelled after exceeding its timeout of {timeout_seconds} "
            "seconds",
            18,
        )
        self.step_name = step_name
        self.timeout_seconds = timeout_seconds
        self._args = (step_name, timeout_seconds)


class DBOSConflictingRegistrationError(DBOSException):
    """The same name was registered as a different kind of function."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Operation (Name: {name}) is already registered with a conflicting function type",
            25,
        )
        self.name = name
        self._args = (name,)


class SerializationError(DBOSException):
    """A value (argument, result, message, event) cannot be serialized or deserialized."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._args = (message,)


class DBOSPatchNondeterminismError(DBOSException):
    """A patch cannot be applied deterministically (``DBOS.patch``)."""

    def __init__(self, workflow_id: str, patch_name: str, details: str) -> None:
        super().__init__(
            f"Cannot deterministically apply patch {patch_name} in workflow {workflow_id}: "
            f"{details}. Check that your workflow is deterministic.",
            15,
        )
        self.workflow_id = workflow_id
        self.patch_name = patch_name
        self._args = (workflow_id, patch_name, details)


class DBOSQueryTimeoutError(DBOSException):
    """A system-database query exceeded its statement timeout."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(
            f"This query was cancelled after exceeding its {timeout_seconds:g}s statement timeout.",
            26,
        )
        self.timeout_seconds = timeout_seconds
        self._args = (timeout_seconds,)


class DBOSWorkflowIDInUseError(DBOSException):
    """A workflow id is already used by another workflow."""

    def __init__(self, workflow_id: str, workflow_status: str, workflow_name: str) -> None:
        super().__init__(
            f"Workflow ID {workflow_id} is already in use by workflow {workflow_name} with "
            f"status {workflow_status}.",
            27,
        )
        self.workflow_id = workflow_id
        self._args = (workflow_id, workflow_status, workflow_name)


class DBOSStepNondeterminismError(DBOSException):
    """One execution recorded the same step twice with different results."""

    def __init__(self, workflow_id: str, step_id: int) -> None:
        super().__init__(
            f"Step {step_id} of workflow {workflow_id} was recorded twice by the same "
            "execution with different results. Check that your workflow is deterministic.",
            28,
        )
        self.workflow_id = workflow_id
        self.workflow_id = workflow_id
        self.step_id = step_id
        self._args = (workflow_id, step_id)
