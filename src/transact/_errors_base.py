"""What every `transact` error shares: DBOS's numeric error codes, the two bases
(``DBOSException`` and ``DBOSBaseException``) and pickling by constructor arguments.

The classes are public through :mod:`transact.errors`, which re-exports them, and their
``__module__`` says so: a pickled error (a checkpointed workflow error) and a traceback
name ``transact.errors.<Class>``, as they did before these classes moved here.
"""

from __future__ import annotations

import enum
from typing import Any

_PUBLIC_MODULE = "transact.errors"


class DBOSErrorCode(enum.Enum):
    """DBOS's numeric error codes (``exc.dbos_error_code`` holds the value)."""

    __module__ = _PUBLIC_MODULE

    ConflictingIDError = 1
    RecoveryError = 2
    InitializationError = 3
    WorkflowFunctionNotFound = 4
    NonExistentWorkflowError = 5
    MaxRecoveryAttemptsExceeded = 6
    MaxStepRetriesExceeded = 7
    NotAuthorized = 8
    ConflictingWorkflowError = 9
    WorkflowCancelled = 10
    UnexpectedStep = 11
    QueueDeduplicated = 12
    AwaitedWorkflowCancelled = 13
    AwaitedWorkflowMaxRecoveryAttemptsExceeded = 14
    PatchNondeterminism = 15
    StreamTimeout = 16
    StreamNondeterminism = 17
    StepTimeout = 18
    ConflictingRegistrationError = 25
    QueryTimeout = 26
    WorkflowIDInUse = 27
    StepNondeterminism = 28


def _format(message: str, code: int | None) -> str:
    return f"DBOS Error {code}: {message}" if code is not None else f"DBOS Error: {message}"


class _DBOSError(BaseException):
    """What both error bases share: a message, DBOS's code, and pickling by arguments."""

    __module__ = _PUBLIC_MODULE

    def __init__(self, message: str, dbos_error_code: int | None = None) -> None:
        self.message = message
        self.dbos_error_code = dbos_error_code
        self._args: tuple[Any, ...] = (message, dbos_error_code)
        super().__init__(message)

    def __str__(self) -> str:
        return _format(self.message, self.dbos_error_code)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._args)


class DBOSException(_DBOSError, Exception):
    """Base of every ordinary `transact` error.

    ``message`` is the human text, ``dbos_error_code`` DBOS's numeric code (or None).
    """

    __module__ = _PUBLIC_MODULE
    status_code: int | None = None


class DBOSBaseException(_DBOSError):
    """Base of control-flow signals: a BaseException, so ``except Exception`` misses it."""

    __module__ = _PUBLIC_MODULE
