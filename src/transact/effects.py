"""Every effect a workflow can issue, as immutable data.

Use them in :func:`transact.testing.run_program` scripts, or to inspect what a
``transact.fx`` program yields. Effects compare by value, payloads included; a
payload is left out of the hash, so it need not be hashable.
"""

from transact._core.effects import (
    CancelWorkflow,
    CloseStream,
    DeleteWorkflow,
    Effect,
    ForkWorkflow,
    GetAllEvents,
    GetEvent,
    GetResult,
    GetStatus,
    ListWorkflows,
    ListWorkflowSteps,
    ReadStream,
    Recv,
    ResumeWorkflow,
    RunStep,
    RunTransaction,
    Send,
    SendBulk,
    SendMessage,
    SetEvent,
    Sleep,
    StartChild,
    WaitFirst,
    WriteStream,
)
from transact._core.query import WorkflowQuery

__all__ = [
    "CancelWorkflow",
    "CloseStream",
    "DeleteWorkflow",
    "Effect",
    "ForkWorkflow",
    "GetAllEvents",
    "GetEvent",
    "GetResult",
    "GetStatus",
    "ListWorkflowSteps",
    "ListWorkflows",
    "ReadStream",
    "Recv",
    "ResumeWorkflow",
    "RunStep",
    "RunTransaction",
    "Send",
    "SendBulk",
    "SendMessage",
    "SetEvent",
    "Sleep",
    "StartChild",
    "WaitFirst",
    "WorkflowQuery",
    "WriteStream",
]
