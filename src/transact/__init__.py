"""transact: durable workflows with the DBOS Transact API on a typed functional core.

Port DBOS code by changing one import::

    from transact import DBOS, DBOSConfig, SetWorkflowID

Generator-style workflows, typed end to end, live in :mod:`transact.fx`; helpers for
your own test suites in :mod:`transact.testing`; every error in :mod:`transact.errors`.
"""

from transact._client.client import DBOSClient
from transact._client.debouncer import DebouncerClient
from transact._core.effects import SendMessage
from transact._core.status import WorkflowStatusString
from transact._facade.api_enqueue import EnqueueOptions, WorkflowIDReusePolicy
from transact._facade.api_schedules import ClientScheduleInput, ScheduleInput, WorkflowSchedule
from transact._facade.classes import DBOSConfiguredInstance
from transact._facade.config import DBOSConfig
from transact._facade.context import (
    DBOSContextEnsure,
    DBOSContextSetAuth,
    SetEnqueueOptions,
    SetShardKey,
    SetWorkflowAttributes,
    SetWorkflowID,
    SetWorkflowTimeout,
)
from transact._facade.datasources import AsyncSQLAlchemyDatasource, SQLAlchemyDatasource
from transact._facade.dbos import DBOS, __version__
from transact._facade.debouncer import Debouncer
from transact._facade.decorators import StepOptions
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.migration import run_dbos_database_migrations
from transact._facade.queues import Queue
from transact._facade.status import StepInfo, WorkflowStatus
from transact._facade.step_types import StepReservation, StepStatus
from transact._facade.types import DuplicationPolicy, KafkaMessage, VersionInfo
from transact._facade.validation import make_pydantic_args_validator, pydantic_args_validator
from transact._serialization import (
    DBOSPortableJSONSerializer,
    DefaultSerializer,
    PortableJSONSerializer,
    PortableWorkflowError,
    Serializer,
    WorkflowSerializationFormat,
)
from transact._telemetry.propagate import PropagateOtelContext
from transact.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded,
    DBOSConflictingWorkflowError,
    DBOSException,
    DBOSMaxStepRetriesExceeded,
    DBOSNonExistentWorkflowError,
    DBOSNotAuthorizedError,
    DBOSUnexpectedStepError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
    NondeterminismError,
)

__all__ = [
    "DBOS",
    "AsyncSQLAlchemyDatasource",
    "ClientScheduleInput",
    "DBOSAwaitedWorkflowCancelledError",
    "DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded",
    "DBOSClient",
    "DBOSConfig",
    "DBOSConfiguredInstance",
    "DBOSConflictingWorkflowError",
    "DBOSContextEnsure",
    "DBOSContextSetAuth",
    "DBOSException",
    "DBOSMaxStepRetriesExceeded",
    "DBOSNonExistentWorkflowError",
    "DBOSNotAuthorizedError",
    "DBOSPortableJSONSerializer",
    "DBOSUnexpectedStepError",
    "DBOSWorkflowCancelledError",
    "DBOSWorkflowConflictIDError",
    "Debouncer",
    "DebouncerClient",
    "DefaultSerializer",
    "DuplicationPolicy",
    "EnqueueOptions",
    "KafkaMessage",
    "NondeterminismError",
    "PortableJSONSerializer",
    "PortableWorkflowError",
    "PropagateOtelContext",
    "Queue",
    "SQLAlchemyDatasource",
    "ScheduleInput",
    "SendMessage",
    "Serializer",
    "SetEnqueueOptions",
    "SetShardKey",
    "SetWorkflowAttributes",
    "SetWorkflowID",
    "SetWorkflowTimeout",
    "StepInfo",
    "StepOptions",
    "StepReservation",
    "StepStatus",
    "VersionInfo",
    "WorkflowHandle",
    "WorkflowHandleAsync",
    "WorkflowIDReusePolicy",
    "WorkflowSchedule",
    "WorkflowSerializationFormat",
    "WorkflowStatus",
    "WorkflowStatusString",
    "__version__",
    "make_pydantic_args_validator",
    "pydantic_args_validator",
    "run_dbos_database_migrations",
]
