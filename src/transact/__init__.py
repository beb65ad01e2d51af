"""transact: durable workflows with the DBOS Transact API on a typed functional core.

Port DBOS code by changing one import::

    from transact import DBOS, DBOSConfig, SetWorkflowID

Generator-style workflows, typed end to end, live in :mod:`transact.fx`; helpers for
your own test suites in :mod:`transact.testing`; every error in :mod:`transact.errors`.
"""

from transact._core.effects import SendMessage
from transact._core.status import WorkflowStatusString
from transact._facade.api_queues import DuplicationPolicy, EnqueueOptions, WorkflowIDReusePolicy
from transact._facade.api_schedules import ScheduleInput, WorkflowSchedule
from transact._facade.config import DBOSConfig
from transact._facade.context import (
    DBOSContextSetAuth,
    SetEnqueueOptions,
    SetWorkflowID,
    SetWorkflowTimeout,
)
from transact._facade.dbos import DBOS, __version__
from transact._facade.debouncer import Debouncer
from transact._facade.decorators import StepOptions
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.queues import Queue
from transact._facade.status import StepInfo, WorkflowStatus
from transact._serialization import DefaultSerializer, PortableJSONSerializer, Serializer
from transact.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded,
    DBOSConflictingWorkflowError,
    DBOSException,
    DBOSMaxStepRetriesExceeded,
    DBOSNonExistentWorkflowError,
    DBOSUnexpectedStepError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
    NondeterminismError,
)

__all__ = [
    "DBOS",
    "DBOSAwaitedWorkflowCancelledError",
    "DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded",
    "DBOSConfig",
    "DBOSConflictingWorkflowError",
    "DBOSContextSetAuth",
    "DBOSException",
    "DBOSMaxStepRetriesExceeded",
    "DBOSNonExistentWorkflowError",
    "DBOSUnexpectedStepError",
    "DBOSWorkflowCancelledError",
    "DBOSWorkflowConflictIDError",
    "Debouncer",
    "DefaultSerializer",
    "DuplicationPolicy",
    "EnqueueOptions",
    "NondeterminismError",
    "PortableJSONSerializer",
    "Queue",
    "ScheduleInput",
    "SendMessage",
    "Serializer",
    "SetEnqueueOptions",
    "SetWorkflowID",
    "SetWorkflowTimeout",
    "StepInfo",
    "StepOptions",
    "WorkflowHandle",
    "WorkflowHandleAsync",
    "WorkflowIDReusePolicy",
    "WorkflowSchedule",
    "WorkflowStatus",
    "WorkflowStatusString",
    "__version__",
]
