"""The process's one configuration and its life: ``DBOS(config)``, ``launch``, ``destroy``.

``DBOS(config=...)`` configures this process once (later constructions reuse the first
configuration); ``launch`` opens and migrates the system database, builds the runtime,
recovers this executor's pending workflows and starts the background threads; ``destroy``
undoes all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import threading
import uuid
import weakref
from typing import Any

import attrs

from transact._facade import launched, migration, properties
from transact._facade.admin.server import AdminServer
from transact._facade.alerts import forget_alert_handler
from transact._facade.conductor.client import DEFAULT_CONDUCTOR_URL, ConductorClient, answers
from transact._facade.config import DBOSConfig, Settings, resolve, warn_unsupported
from transact._facade.logs import configure_logger
from transact._facade.queues import Background, forget_queues_and_schedules
from transact._runtime.appdb import AppDatabase
from transact._runtime.classes import CLASSES
from transact._runtime.clock import Clock, SystemClock
from transact._runtime.loops import running_loop
from transact._runtime.registry import REGISTRY
from transact._runtime.runtime import Runtime
from transact._store.factory import open_store
from transact._store.protocol import Store
from transact._telemetry.setup import Telemetry
from transact._telemetry.setup import start as start_telemetry
from transact.errors import DBOSException, DBOSInitializationError

__version__ = "0.1.0"
logger = logging.getLogger("dbos")


@attrs.define
class Configured:
    """What ``DBOS(config=...)`` set, and what ``launch`` started from it."""

    settings: Settings
    clock: Clock = attrs.field(factory=SystemClock)
    launched: bool = False
    background: Background | None = None  # queue runner and schedulers, once launched
    admin: AdminServer | None = None  # with ``run_admin_server``, once launched
    conductor: ConductorClient | None = None  # with a ``conductor_key``, once launched
    telemetry: Telemetry | None = None  # tracing and log export, once launched
    facade: object = None  # the ``DBOS`` instance every construction returns


_lock = threading.RLock()
_configured: Configured | None = None


def configure(
    config: DBOSConfig,
    *,
    fastapi: Any = None,
    flask: Any = None,
    conductor_url: str | None = None,
    conductor_key: str | None = None,
) -> tuple[Configured, bool]:
    """The process's configuration, made from ``config`` if there is none yet (raises
    ``DBOSInitializationError`` for a bad config); True when this call made it.

    When it is made, the web integrations are installed on ``fastapi`` / ``flask``.
    """
    global _configured
    with _lock:
        if _configured is not None:
            return _configured, False
        settings = resolve(config)
        configure_logger(settings.log_level, settings.console_log_level)
        warn_unsupported(config)
        # The config's conductor keys, when set, win over the constructor's arguments.
        settings = attrs.evolve(
            settings,
            conductor_key=settings.conductor_key or conductor_key,
            conductor_url=settings.conductor_url or conductor_url,
        )
        configured = Configured(settings)
        # The integrations import their framework: only when the application passes one.
        if fastapi is not None:
            from transact._facade.web import fastapi as fastapi_integration

            fastapi_integration.install(fastapi, launch=launch, destroy=destroy)
        if flask is not None:
            from transact._facade.web import flask as flask_integration

            flask_integration.install(flask)
        _configured = configured
        launched.set_configured(True)
        return configured, True


def configured() -> Configured:
    """The current configuration; ``DBOSException`` before ``DBOS(config=...)``."""
    if _configured is None:
        raise DBOSException("No DBOS was created yet")
    return _configured


def launch() -> None:
    """Open the system database, migrate it, and recover this executor's PENDING
    workflows. Idempotent. Raises ``DBOSInitializationError`` if the database cannot
    be opened."""
    try:
        _launch()
    except Exception:
        logger.error("DBOS failed to launch:", exc_info=True)
        raise


def _launch() -> None:
    with _lock:
        if _configured is None:  # DBOS 3.4's error (2.x silently does nothing)
            raise DBOSException(
                "DBOS.launch() was called without a DBOS instance. Construct "
                "DBOS(config=...) first; DBOS.destroy() discards the instance."
            )
        state = _configured
        if state.launched:
            logger.warning("DBOS was already launched")
            return
        settings = state.settings
        store = _open_and_migrate(
            settings, verify_only=settings.config.get("run_migrations") is False
        )
        runtime = Runtime(
            store,
            serializer=settings.serializer,
            clock=state.clock,
            # Under Conductor every process is a fresh executor; Conductor recovers the
            # executors that disappeared (as DBOS does).
            executor_id=str(uuid.uuid4()) if settings.conductor_key else settings.executor_id,
            application_version=settings.application_version or _compute_version(),
            poll_seconds=settings.poll_seconds,
            max_threads=settings.max_threads,
        )
        state.telemetry = start_telemetry(
            settings.telemetry,
            application_name=settings.name,
            application_version=runtime.env.application_version,
            executor_id=runtime.env.executor_id,
            workflow_id=properties.workflow_id,
        )
        runtime.env.tracing = state.telemetry.tracing
        runtime.env.strict_determinism = settings.strict_determinism
        if settings.application_database_url:
            runtime.app_db = AppDatabase(settings.application_database_url)
            runtime.app_db.migrate()
        # The versions table knows every version that ever ran (DBOS's registration).
        store.register_application_version(
            runtime.application_version, None, int(state.clock.now() * 1000)
        )
        runtime.main_loop = running_loop() or launched.MAIN_LOOP.get()
        launched.set_runtime(runtime)
        state.launched = True
    if not settings.conductor_key:
        recovered = runtime.recover_pending()
        if recovered:
            logger.info("Recovering %d pending workflow(s)", len(recovered))
    # After recovery, so the queue runner counts the recovered queued workflows against
    # per-worker limits before it claims more.
    background = Background(runtime)
    background.start()
    state.background = background
    if settings.admin_port is not None:
        logger.warning(
            "The DBOS admin server is deprecated and will be removed in a future version of DBOS."
        )
        admin = AdminServer(settings.admin_port, deactivate=background.schedules.stop)
        admin.start()
        state.admin = admin
    if settings.conductor_key:
        conductor = ConductorClient(
            settings.conductor_url or DEFAULT_CONDUCTOR_URL,
            settings.name,
            settings.conductor_key,
            answers(settings.conductor_metadata, __version__),
        )
        conductor.start()
        state.conductor = conductor


def destroy(*, destroy_registry: bool = False, workflow_completion_timeout_sec: float = 0) -> None:
    """Shut down: wait up to ``workflow_completion_timeout_sec`` for running workflows,
    stop the rest (they stay PENDING and are recovered at the next launch), close the
    database, and forget the configuration. ``destroy_registry`` also forgets the
    decorated functions."""
    global _configured
    with _lock:
        runtime = launched.runtime_or_none()
        launched.set_runtime(None)
        background = _configured.background if _configured is not None else None
        admin = _configured.admin if _configured is not None else None
        conductor = _configured.conductor if _configured is not None else None
        telemetry = _configured.telemetry if _configured is not None else None
        _configured = None
        launched.set_configured(False)
    if conductor is not None:
        conductor.stop()
    if admin is not None:
        admin.stop()
    if background is not None:
        background.stop()  # no new claims or firings while running ones finish
    if runtime is not None:
        runtime.shutdown(workflow_completion_timeout_sec)
    if telemetry is not None:
        telemetry.shutdown()  # after the workflows' last spans ended
    if destroy_registry:
        forget_queues_and_schedules()
        forget_alert_handler()
        REGISTRY.clear()
        CLASSES.clear()


def reset_system_database(
    *, system_database_url: str | None = None, schema: str | None = None, truncate: bool = False
) -> None:
    """Delete every workflow and its history from the system database (tests only).

    The database is the configured one, or ``system_database_url`` (which also works
    with no ``DBOS`` made). ``schema`` and ``truncate`` are DBOS's; here the schema is
    fixed and the tables are always emptied. Raises ``AssertionError`` once launched.
    """
    del schema, truncate  # one fixed schema; emptying the tables is what both do here
    state = _configured
    if state is not None and state.launched:
        raise AssertionError(
            "The system database cannot be reset after DBOS is launched. Resetting the "
            "system database is a destructive operation that should only be used in a "
            "test environment."
        )
    if state is None and system_database_url is None:
        logger.warning(
            "reset_system_database has no effect because global DBOS object does not exist"
        )
        return
    if state is not None:
        settings = state.settings
        if system_database_url is not None:
            settings = attrs.evolve(settings, system_database_url=system_database_url)
    else:
        assert system_database_url is not None
        settings = resolve({"name": "reset", "system_database_url": system_database_url})
    store = _open_and_migrate(settings)
    try:
        store.reset()
    finally:
        store.close()


def migrate() -> None:
    """Create or upgrade the configured system database (and the application database of
    ``@DBOS.transaction``, if one is configured) without launching: the code of
    ``transact migrate`` and ``run_dbos_database_migrations``. For deployments that
    migrate in a release step and launch with ``run_migrations=False``.

    Raises ``DBOSException`` if no ``DBOS`` was made, ``DBOSInitializationError`` if a
    database cannot be reached or migrated.
    """
    state = _configured
    if state is None:
        raise DBOSException("DBOS.migrate() requires DBOS(config=...) to be called first")
    settings = state.settings
    migration.run_dbos_database_migrations(
        settings.system_database_url, app_database_url=settings.application_database_url
    )


async def migrate_async() -> None:
    """``migrate`` without blocking the event loop."""
    await asyncio.to_thread(migrate)


def application_version() -> str:
    """The application version this executor runs (set at launch)."""
    return launched.runtime().application_version


def executor_id() -> str:
    """This executor's id (config ``executor_id``, env ``DBOS__VMID``, or "local")."""
    runtime = launched.runtime_or_none()
    if runtime is not None:
        return runtime.executor_id
    return configured().settings.executor_id


def _open_and_migrate(settings: Settings, *, verify_only: bool = False) -> Store:
    """Open the system database and migrate it (``verify_only``: check it is current)."""
    url = settings.system_database_url
    try:
        if verify_only:
            migration.missing_sqlite_file(url)
        store = open_store(url, pool_size=settings.pool_size, retry_timeout=settings.retry_timeout)
        if verify_only:
            migration.verify_schema(store, url)
        else:
            store.migrate()
    except DBOSException:
        raise
    except Exception as exc:
        raise DBOSInitializationError(
            f"cannot open the system database {settings.system_database_url!r}: {exc}"
        ) from exc
    return store


def _compute_version() -> str:
    """A hash of every registered workflow's source: code changes get a new version."""
    digest = hashlib.md5(usedforsecurity=False)
    for spec in sorted(REGISTRY.workflows(), key=lambda s: s.name):
        digest.update(_source_of(spec.func) or spec.name.encode())
    digest.update(__version__.encode())
    return digest.hexdigest()


# A function's source, read once per process: ``inspect.getsource`` tokenizes the whole
# file around it, about 0.2 ms a workflow, which every launch paid for every registered
# workflow (40 ms for 200; a test launching per Hypothesis example spent 95% of its time
# there). The code a process runs cannot change under it, so neither can its version.
_SOURCES: weakref.WeakKeyDictionary[Any, bytes | None] = weakref.WeakKeyDictionary()


def _source_of(func: Any) -> bytes | None:
    """The source text of ``func``, or None where Python cannot find it."""
    try:
        return _SOURCES[func]
    except (KeyError, TypeError):  # TypeError: an object without weak references
        pass
    try:
        source: bytes | None = inspect.getsource(func).encode()
    except (OSError, TypeError):
        source = None
    with contextlib.suppress(TypeError):
        _SOURCES[func] = source
    return source
