"""The ``DBOS`` class: the one entry point, as in DBOS Transact.

Its body is the whole public surface, one line per member. Each member is a plain
function of the module that owns its concern (its docstring is the member's); this body
only names them. Members are static: call them on the class (``DBOS.send(...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from transact._facade import (
    alerts,
    api_asyncio,
    api_enqueue,
    api_queues,
    classes,
    decorators,
    lifecycle,
    loop_guard,
    properties,
    queues,
    roles,
    step_types,
    transactions,
    unsupported,
    versions,
)
from transact._facade import api_attributes as attributes
from transact._facade import api_events as events
from transact._facade import api_management as management
from transact._facade import api_messages as messages
from transact._facade import api_patching as patching
from transact._facade import api_schedules as schedules
from transact._facade import api_streams as streams
from transact._facade import api_workflows as workflows
from transact._facade.classproperty import classproperty
from transact._facade.config import DBOSConfig
from transact._telemetry import tracer as telemetry

F = TypeVar("F", bound=Callable[..., Any])

__version__ = lifecycle.__version__


def _member(func: F) -> F:
    """``func`` as a static member: the same function whether read from the class or an
    instance (typed as ``func`` itself, so overloads and ParamSpecs survive)."""
    return staticmethod(func)  # type: ignore[return-value]


class DBOS:
    """The durable-workflow runtime of this process (a singleton), and its API.

    Create it once with a config, decorate workflows and steps, then ``launch()``::

        DBOS(config={"name": "shop"})   # SQLite in ./shop.sqlite
        DBOS.launch()
    """

    def __new__(
        cls,
        *,
        config: DBOSConfig,
        fastapi: Any = None,
        flask: Any = None,
        conductor_url: str | None = None,
        conductor_key: str | None = None,
    ) -> DBOS:
        """Configure the runtime; raises ``DBOSInitializationError`` for a bad config.

        While a configuration exists, later constructions return the same instance and
        ignore their arguments. ``fastapi=app`` launches DBOS with the app and honours
        the ``dbos-idempotency-key`` header; ``flask=app`` honours the header (see
        ``docs/web.md``). ``conductor_key`` (with ``conductor_url``; the config's keys win)
        connects this process to DBOS Conductor (``docs/conductor.md``).
        """
        state, made = lifecycle.configure(
            config,
            fastapi=fastapi,
            flask=flask,
            conductor_url=conductor_url,
            conductor_key=conductor_key,
        )
        facade = state.facade
        if made or not isinstance(facade, cls):
            facade = super().__new__(cls)
            state.facade = facade
        return facade

    def __init__(
        self,
        *,
        config: DBOSConfig,
        fastapi: Any = None,
        flask: Any = None,
        conductor_url: str | None = None,
        conductor_key: str | None = None,
    ) -> None:
        """Everything happens in ``__new__`` (the configuration is made once)."""

    # --- lifecycle -------------------------------------------------------------------
    launch = _member(lifecycle.launch)
    destroy = _member(lifecycle.destroy)
    reset_system_database = _member(lifecycle.reset_system_database)
    migrate = _member(lifecycle.migrate)
    migrate_async = _member(lifecycle.migrate_async)

    # --- declaring workflows, steps, transactions, schedules -------------------------
    workflow = _member(decorators.workflow)
    step = _member(decorators.step)
    transaction = _member(transactions.transaction)
    scheduled = _member(queues.scheduled)
    alert_handler = _member(alerts.alert_handler)
    kafka_consumer = _member(unsupported.kafka_consumer)

    # --- classes and configured instances ---------------------------------------------
    dbos_class = _member(classes.dbos_class)
    register_instance = _member(classes.register_instance)

    # --- roles ------------------------------------------------------------------------
    required_roles = _member(roles.required_roles)
    default_required_roles = _member(roles.default_required_roles)
    set_authentication = _member(roles.set_authentication)

    # --- starting and awaiting workflows ---------------------------------------------
    start_workflow = _member(workflows.start_workflow)
    start_workflow_async = _member(workflows.start_workflow_async)
    retrieve_workflow = _member(workflows.retrieve_workflow)
    retrieve_workflow_async = _member(workflows.retrieve_workflow_async)
    get_result = _member(workflows.get_result)
    get_result_async = _member(workflows.get_result_async)
    wait_first = _member(workflows.wait_first)
    wait_first_async = _member(workflows.wait_first_async)
    run_step = _member(workflows.run_step)
    run_step_async = _member(workflows.run_step_async)
    reserve_step = _member(step_types.reserve_step)
    reserve_step_async = _member(step_types.reserve_step_async)
    sleep = _member(workflows.sleep)
    sleep_async = _member(workflows.sleep_async)
    asyncio_wait = _member(api_asyncio.asyncio_wait)

    # --- inspecting workflows ---------------------------------------------------------
    get_workflow_status = _member(workflows.get_workflow_status)
    get_workflow_status_async = _member(workflows.get_workflow_status_async)
    list_workflows = _member(workflows.list_workflows)
    list_workflows_async = _member(workflows.list_workflows_async)
    list_queued_workflows = _member(queues.list_queued_workflows)
    list_queued_workflows_async = _member(queues.list_queued_workflows_async)
    list_workflow_steps = _member(workflows.list_workflow_steps)
    list_workflow_steps_async = _member(workflows.list_workflow_steps_async)
    list_application_versions = _member(versions.list_application_versions)
    list_application_versions_async = _member(versions.list_application_versions_async)
    get_latest_application_version = _member(versions.get_latest_application_version)
    get_latest_application_version_async = _member(versions.get_latest_application_version_async)

    # --- operating on workflows -------------------------------------------------------
    cancel_workflow = _member(management.cancel_workflow)
    cancel_workflow_async = _member(management.cancel_workflow_async)
    resume_workflow = _member(management.resume_workflow)
    resume_workflow_async = _member(management.resume_workflow_async)
    delete_workflow = _member(management.delete_workflow)
    delete_workflow_async = _member(management.delete_workflow_async)
    cancel_workflows = _member(management.cancel_workflows)
    cancel_workflows_async = _member(management.cancel_workflows_async)
    resume_workflows = _member(management.resume_workflows)
    resume_workflows_async = _member(management.resume_workflows_async)
    delete_workflows = _member(management.delete_workflows)
    delete_workflows_async = _member(management.delete_workflows_async)
    fork_workflow = _member(management.fork_workflow)
    fork_workflow_async = _member(management.fork_workflow_async)
    rewind_workflow = _member(management.rewind_workflow)
    rewind_workflow_async = _member(management.rewind_workflow_async)
    update_workflow_attributes = _member(attributes.update_workflow_attributes)
    update_workflow_attributes_async = _member(attributes.update_workflow_attributes_async)
    set_latest_application_version = _member(versions.set_latest_application_version)
    set_latest_application_version_async = _member(versions.set_latest_application_version_async)
    patch = _member(patching.patch)
    patch_async = _member(patching.patch_async)
    deprecate_patch = _member(patching.deprecate_patch)
    deprecate_patch_async = _member(patching.deprecate_patch_async)

    # --- queues (DBOS 3: kept in the database, enqueued by name) -----------------------
    register_queue = _member(api_queues.register_queue)
    register_queue_async = _member(api_queues.register_queue_async)
    retrieve_queue = _member(api_queues.retrieve_queue)
    retrieve_queue_async = _member(api_queues.retrieve_queue_async)
    delete_queue = _member(api_queues.delete_queue)
    delete_queue_async = _member(api_queues.delete_queue_async)
    list_queues = _member(api_queues.list_queues)
    list_queues_async = _member(api_queues.list_queues_async)
    listen_queues = _member(api_queues.listen_queues)
    enqueue_workflow = _member(api_enqueue.enqueue_workflow)
    enqueue_workflow_async = _member(api_enqueue.enqueue_workflow_async)
    enqueue_workflow_with_options = _member(api_enqueue.enqueue_workflow_with_options)
    enqueue_workflow_with_options_async = _member(api_enqueue.enqueue_workflow_with_options_async)
    set_workflow_delay = _member(api_enqueue.set_workflow_delay)
    set_workflow_delay_async = _member(api_enqueue.set_workflow_delay_async)

    # --- schedules created at run time -----------------------------------------------
    create_schedule = _member(schedules.create_schedule)
    create_schedule_async = _member(schedules.create_schedule_async)
    list_schedules = _member(schedules.list_schedules)
    list_schedules_async = _member(schedules.list_schedules_async)
    get_schedule = _member(schedules.get_schedule)
    get_schedule_async = _member(schedules.get_schedule_async)
    delete_schedule = _member(schedules.delete_schedule)
    delete_schedule_async = _member(schedules.delete_schedule_async)
    pause_schedule = _member(schedules.pause_schedule)
    pause_schedule_async = _member(schedules.pause_schedule_async)
    resume_schedule = _member(schedules.resume_schedule)
    resume_schedule_async = _member(schedules.resume_schedule_async)
    apply_schedules = _member(schedules.apply_schedules)
    apply_schedules_async = _member(schedules.apply_schedules_async)
    backfill_schedule = _member(schedules.backfill_schedule)
    backfill_schedule_async = _member(schedules.backfill_schedule_async)
    trigger_schedule = _member(schedules.trigger_schedule)
    trigger_schedule_async = _member(schedules.trigger_schedule_async)

    # --- messages, events, streams ----------------------------------------------------
    send = _member(messages.send)
    send_async = _member(messages.send_async)
    send_bulk = _member(messages.send_bulk)
    send_bulk_async = _member(messages.send_bulk_async)
    recv = _member(messages.recv)
    recv_async = _member(messages.recv_async)
    set_event = _member(events.set_event)
    set_event_async = _member(events.set_event_async)
    get_event = _member(events.get_event)
    get_event_async = _member(events.get_event_async)
    get_all_events = _member(events.get_all_events)
    get_all_events_async = _member(events.get_all_events_async)
    write_stream = _member(streams.write_stream)
    write_stream_async = _member(streams.write_stream_async)
    close_stream = _member(streams.close_stream)
    close_stream_async = _member(streams.close_stream_async)
    read_stream = _member(streams.read_stream)
    read_stream_async = _member(streams.read_stream_async)
    read_stream_offset = _member(streams.read_stream_offset)
    read_stream_offset_async = _member(streams.read_stream_offset_async)

    # --- the running context ----------------------------------------------------------
    workflow_id = classproperty(properties.workflow_id)
    step_id = classproperty(properties.step_id)
    step_status = classproperty(step_types.step_status)
    authenticated_user = classproperty(properties.authenticated_user)
    authenticated_roles = classproperty(properties.authenticated_roles)
    assumed_role = classproperty(roles.assumed_role)
    sql_session = classproperty(transactions.sql_session)
    logger = classproperty(properties.library_logger)
    application_version = classproperty(lifecycle.application_version)
    executor_id = classproperty(lifecycle.executor_id)
    span = classproperty(telemetry.current_span)
    tracer = classproperty(telemetry.tracer)


# DBOS's RuntimeError for a blocking member called on a running event loop.
loop_guard.guard(DBOS)
