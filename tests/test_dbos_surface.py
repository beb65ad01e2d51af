"""DBOS's public surface, written out from the spec, against what ``transact`` has.

The lists are DBOS Transact's (2.x, the seed's version, and 3.4 together;
``/work/shared/spec/dbos-semantics.md`` sections 1 to 3 and ``dbos-errors.md``):
the names of ``dbos.__all__``, the members of the ``DBOS`` class, the ``DBOSConfig``
keys and the classes of ``dbos.error``. A name DBOS has and ``transact`` lacks fails
here, unless it is in a ``PENDING_*`` set: work in progress on another branch, removed
from the set when that branch lands.
"""

from __future__ import annotations

import inspect

import transact
import transact.error
import transact.errors
from transact import DBOS
from transact._facade.config import KNOWN_KEYS

DBOS_NAMES = frozenset(
    {
        # classes
        "DBOS",
        "DBOSConfig",
        "DBOSClient",
        "DBOSConfiguredInstance",
        "Queue",
        "WorkflowHandle",
        "WorkflowHandleAsync",
        "WorkflowStatus",
        "Debouncer",
        "DebouncerClient",
        "SQLAlchemyDatasource",
        "AsyncSQLAlchemyDatasource",
        "DBOSPortableJSONSerializer",
        "Serializer",
        "PortableWorkflowError",
        "SendMessage",
        "KafkaMessage",
        # context managers
        "SetWorkflowID",
        "SetWorkflowTimeout",
        "SetEnqueueOptions",
        "SetWorkflowAttributes",
        "PropagateOtelContext",
        "DBOSContextEnsure",
        "DBOSContextSetAuth",
        # types
        "StepOptions",
        "EnqueueOptions",
        "DuplicationPolicy",
        "StepInfo",
        "VersionInfo",
        "WorkflowSchedule",
        "ScheduleInput",
        "ClientScheduleInput",
        "WorkflowStatusString",
        "WorkflowSerializationFormat",
        # functions
        "run_dbos_database_migrations",
        "pydantic_args_validator",
        "make_pydantic_args_validator",
        # 3.4
        "StepReservation",
        "StepStatus",
        "SetShardKey",
    }
)

_TWINNED = [
    "start_workflow",
    "enqueue_workflow",
    "enqueue_workflow_with_options",
    "run_step",
    "retrieve_workflow",
    "get_workflow_status",
    "get_result",
    "wait_first",
    "cancel_workflow",
    "cancel_workflows",
    "resume_workflow",
    "resume_workflows",
    "delete_workflow",
    "delete_workflows",
    "fork_workflow",
    "set_workflow_delay",
    "update_workflow_attributes",
    "list_workflows",
    "list_queued_workflows",
    "list_workflow_steps",
    "get_all_events",
    "send",
    "send_bulk",
    "recv",
    "set_event",
    "get_event",
    "sleep",
    "write_stream",
    "close_stream",
    "read_stream",
    "read_stream_offset",
    "patch",
    "deprecate_patch",
    "register_queue",
    "retrieve_queue",
    "delete_queue",
    "list_queues",
    "create_schedule",
    "list_schedules",
    "get_schedule",
    "delete_schedule",
    "pause_schedule",
    "resume_schedule",
    "apply_schedules",
    "backfill_schedule",
    "trigger_schedule",
    "list_application_versions",
    "get_latest_application_version",
    "set_latest_application_version",
    "rewind_workflow",
]

DBOS_MEMBERS = frozenset(
    [
        # lifecycle
        "launch",
        "destroy",
        "reset_system_database",
        "register_instance",
        "listen_queues",
        "alert_handler",
        # decorators
        "workflow",
        "step",
        "transaction",
        "scheduled",
        "dbos_class",
        "default_required_roles",
        "required_roles",
        "kafka_consumer",
        # durable asyncio.wait; 3.4's step reservation
        "asyncio_wait",
        "reserve_step",
        # class properties
        "workflow_id",
        "step_id",
        "step_status",
        "sql_session",
        "logger",
        "authenticated_user",
        "authenticated_roles",
        "assumed_role",
        "application_version",
        "executor_id",
        "span",
        "tracer",
        "set_authentication",
    ]
    + _TWINNED
    + [f"{name}_async" for name in _TWINNED]
)

DBOS_CONFIG_KEYS = frozenset(
    {
        "name",
        "system_database_url",
        "application_database_url",
        "database_url",
        "sys_db_pool_size",
        "sys_db_polling_concurrency",
        "db_engine_kwargs",
        "system_database_engine",
        "dbos_system_schema",
        "application_version",
        "executor_id",
        "enable_otlp",
        "otlp_traces_endpoints",
        "otlp_logs_endpoints",
        "otlp_attributes",
        "otel_attribute_format",
        "log_level",
        "console_log_level",
        "otlp_log_level",
        "admin_port",
        "run_admin_server",
        "conductor_key",
        "conductor_url",
        "conductor_executor_metadata",
        "serializer",
        "enable_patching",
        "use_listen_notify",
        "run_migrations",
        "max_executor_threads",
        "notification_listener_polling_interval_sec",
        "notification_coalesce_sec",
        "scheduler_polling_interval_sec",
        "kafka_queue_polling_interval_sec",
        # 3.4
        "sys_db_idle_transaction_timeout_sec",
        "observability_query_timeout_sec",
        "auto_upgrade_interval_sec",
        "auto_upgrade_grace_sec",
    }
)

_MAX = (
    "Workflow w has exceeded its maximum of 3 execution or recovery attempts. Further "
    "attempts to execute or recover it will fail. See documentation for details: "
    "https://docs.dbos.dev/python/reference/decorators"
)
_STREAM = (
    "Cannot deterministically read stream k in workflow w: another stream read in the "
    "same workflow is still in progress, so which read records which value would depend "
    "on task scheduling. Read streams from sequential workflow code, or read them from a "
    "step."
)
# class: (code, constructor arguments, message after "DBOS Error <code>: "), 2.x texts
DBOS_ERRORS: dict[str, tuple[int, tuple[object, ...], str]] = {
    "DBOSWorkflowConflictIDError": (1, ("w",), "Conflicting workflow ID w"),
    "DBOSRecoveryError": (2, ("w", "m"), "Recovery error for workflow ID w: m"),
    "DBOSInitializationError": (3, ("m",), "Error initializing DBOS Transact: m"),
    "DBOSWorkflowFunctionNotFoundError": (4, ("w", "m"), "Could not execute workflow w: m"),
    "DBOSNonExistentWorkflowError": (5, ("target", "w"), "Non-existent target workflow ID: w"),
    "MaxRecoveryAttemptsExceededError": (6, ("w", 3), _MAX),
    "DBOSMaxStepRetriesExceeded": (
        7,
        ("s", 3, []),
        "Step s has exceeded its maximum of 3 retries",
    ),
    "DBOSNotAuthorizedError": (8, ("m",), "m"),
    "DBOSConflictingWorkflowError": (
        9,
        ("w", "m"),
        "Conflicting workflow invocation with the same ID (w): m",
    ),
    "DBOSWorkflowCancelledError": (10, ("m",), "m"),
    "DBOSUnexpectedStepError": (
        11,
        ("w", 2, "a", "b"),
        "During execution of workflow w step 2, function b was recorded when a was "
        "expected. Check that your workflow is deterministic.",
    ),
    "DBOSQueueDeduplicatedError": (
        12,
        ("w", "q", "d"),
        "Workflow w was deduplicated due to an existing workflow in queue q with "
        "deduplication ID d.",
    ),
    "DBOSAwaitedWorkflowCancelledError": (13, ("w",), "Awaited workflow w was cancelled"),
    "DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded": (
        14,
        ("w",),
        "Awaited workflow w exceeded its maximum recovery attempts",
    ),
    "DBOSPatchNondeterminismError": (
        15,
        ("w", "p", "d"),
        "Cannot deterministically apply patch p in workflow w: d. Check that your "
        "workflow is deterministic.",
    ),
    "DBOSStreamTimeoutError": (
        16,
        ("w", "k", 2.0),
        "No value arrived on stream k of workflow w within 2.0 seconds",
    ),
    "DBOSStreamNondeterminismError": (17, ("w", "k"), _STREAM),
    "DBOSStepTimeoutError": (
        18,
        ("s", 1.5),
        "Step s was cancelled after exceeding its timeout of 1.5 seconds",
    ),
    "DBOSConflictingRegistrationError": (
        25,
        ("n",),
        "Operation (Name: n) is already registered with a conflicting function type",
    ),
    "DBOSQueryTimeoutError": (
        26,
        (2.5,),
        "This query was cancelled after exceeding its 2.5s statement timeout.",
    ),
    "DBOSWorkflowIDInUseError": (
        27,
        ("w", "SUCCESS", "f"),
        "Workflow ID w is already in use by workflow f with status SUCCESS.",
    ),
    "DBOSStepNondeterminismError": (
        28,
        ("w", 3),
        "Step 3 of workflow w was recorded twice by the same execution with different "
        "results. Check that your workflow is deterministic.",
    ),
}
DBOS_ERROR_BASES = ("DBOSException", "DBOSBaseException", "DBOSErrorCode")

# Implemented on other branches; the lead removes each name as its branch is merged.
PENDING_ELSEWHERE_NAMES: frozenset[str] = frozenset()

PENDING_ELSEWHERE_MEMBERS: frozenset[str] = frozenset()

PENDING_ELSEWHERE_CONFIG_KEYS: frozenset[str] = frozenset()

# Members that DBOS gives no ``_async`` twin: lifecycle, decorators and properties.
NOT_TWINNED = frozenset(
    {
        "launch",
        "destroy",
        "reset_system_database",
        "register_instance",
        "listen_queues",
        "alert_handler",
        "workflow",
        "step",
        "transaction",
        "scheduled",
        "dbos_class",
        "default_required_roles",
        "required_roles",
        "kafka_consumer",
        "asyncio_wait",
        "reserve_step",
        "set_authentication",
    }
)


def _members() -> set[str]:
    return {name for name in vars(DBOS) if not name.startswith("_")}


def test_every_dbos_name_is_exported() -> None:
    missing = DBOS_NAMES - set(transact.__all__) - PENDING_ELSEWHERE_NAMES
    assert not missing, f"DBOS exports these and transact does not: {sorted(missing)}"
    for name in transact.__all__:
        assert hasattr(transact, name), name


def test_pending_names_are_really_missing() -> None:
    """A name that landed must leave its pending set, so the list stays exact."""
    landed = PENDING_ELSEWHERE_NAMES & set(transact.__all__)
    assert not landed, f"remove from PENDING_ELSEWHERE_NAMES: {sorted(landed)}"
    landed = PENDING_ELSEWHERE_MEMBERS & _members()
    assert not landed, f"remove from PENDING_ELSEWHERE_MEMBERS: {sorted(landed)}"
    landed = PENDING_ELSEWHERE_CONFIG_KEYS & KNOWN_KEYS
    assert not landed, f"remove from PENDING_ELSEWHERE_CONFIG_KEYS: {sorted(landed)}"


def test_every_dbos_member_exists() -> None:
    missing = DBOS_MEMBERS - _members() - PENDING_ELSEWHERE_MEMBERS
    assert not missing, f"DBOS has these members and transact does not: {sorted(missing)}"


def test_every_dbos_config_key_is_accepted() -> None:
    missing = DBOS_CONFIG_KEYS - KNOWN_KEYS - PENDING_ELSEWHERE_CONFIG_KEYS
    assert not missing, f"DBOSConfig keys transact refuses: {sorted(missing)}"
    annotated = set(transact.DBOSConfig.__annotations__)
    assert not DBOS_CONFIG_KEYS - annotated - PENDING_ELSEWHERE_CONFIG_KEYS


def test_error_module_holds_every_dbos_error_with_its_code_and_text() -> None:
    for name, (code, args, text) in DBOS_ERRORS.items():
        cls = getattr(transact.error, name)
        assert cls is getattr(transact.errors, name)
        error = cls(*args)
        assert error.dbos_error_code == code, name
        assert str(error) == f"DBOS Error {code}: {text}", name
        assert transact.errors.DBOSErrorCode(code).value == code
    for name in DBOS_ERROR_BASES:
        assert hasattr(transact.error, name), name
    assert str(transact.errors.DBOSException("plain")) == "DBOS Error: plain"
    assert not issubclass(transact.errors.DBOSBaseException, Exception)


def test_every_blocking_member_has_its_async_twin() -> None:
    members = _members()
    for name in members:
        attribute = inspect.getattr_static(DBOS, name)
        if name.endswith("_async") or name in NOT_TWINNED:
            continue
        if not isinstance(attribute, staticmethod):
            continue  # a class property
        function = attribute.__func__
        if inspect.iscoroutinefunction(function):
            continue
        assert f"{name}_async" in members, f"DBOS.{name} has no DBOS.{name}_async"
    for name in _TWINNED:
        if name in members:
            assert f"{name}_async" in members, f"DBOS.{name} has no DBOS.{name}_async"
            twin = inspect.getattr_static(DBOS, f"{name}_async").__func__
            is_async = inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin)
            assert is_async, f"{name}_async is not async"


def test_errors_pickle_with_their_arguments() -> None:
    """DBOS's errors round-trip through pickle (the default serializer) with their text."""
    import pickle

    for name, (_, args, _text) in DBOS_ERRORS.items():
        error = getattr(transact.errors, name)(*args)
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error), name


def test_each_async_twin_takes_its_blocking_member_s_parameters() -> None:
    members = _members()
    for name in sorted(members):
        if name.endswith("_async") or f"{name}_async" not in members:
            continue
        sync = inspect.signature(inspect.getattr_static(DBOS, name).__func__)
        twin = inspect.signature(inspect.getattr_static(DBOS, f"{name}_async").__func__)
        params = [(p.name, p.kind, p.default) for p in twin.parameters.values()]
        if [p[1] for p in params] == [inspect.Parameter.VAR_KEYWORD]:
            continue  # forwards its keyword filters to the blocking form's own checks
        assert params == [(p.name, p.kind, p.default) for p in sync.parameters.values()], name
