"""DBOS's external client: operate on an application's workflows from any process.

``DBOSClient`` is also exported by :mod:`transact`; this module adds the handle types
its methods return.
"""

from transact._client.client import DBOSClient
from transact._client.debouncer import DebouncerClient
from transact._client.handles import (
    WorkflowHandleClientAsyncPolling,
    WorkflowHandleClientPolling,
)

__all__ = [
    "DBOSClient",
    "DebouncerClient",
    "WorkflowHandleClientAsyncPolling",
    "WorkflowHandleClientPolling",
]
