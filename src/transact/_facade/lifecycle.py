"""The process's one configuration and its life: ``DBOS(config)``, ``launch``, ``destroy``.

``DBOS(config=...)`` configures this process once (later constructions reuse the first
configuration); ``launch`` opens and migrates the system database, builds the runtime,
recovers this executor's pending workflows and starts the background threads; ``destroy``
undoes all of it.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import threading
import uuid
from typing import Any

import attrs

from transact._facade import launched
from transact._facade.admin.server import AdminServer
from transact._facade.conductor.client import DEFAULT_CONDUCTOR_URL, ConductorClient, answers
from transact._facade.config import DBOSConfig, Settings, resolve
from transact._facade.queues import Background, forget_queues_and_schedules
from transact._runtime.appdb import AppDatabase
from transact._runtime.clock import Clock, SystemClock
from transact._runtime.registry import REGISTRY
from transact._runtime.runtime import Runtime
from transact._store.factory import open_store
from transact._store.protocol import Store
from transact.errors import DBOSException, DBOSInitializationError

__version__ = "0.1.0"
logger = logging.getLogger("transact")


@attrs.define
class Configured:
    """What ``DBOS(config=...)`` set, and what ``launch`` started from it."""

    settings: Settings
    clock: Clock = attrs.field(factory=SystemClock)
    launched: bool = False
    background: Background | None = None  # queue runner and schedulers, once launched
    admin: AdminServer | None = None  # with ``run_admin_server``, once launched
    conductor: ConductorClient | None = None  # with a ``conductor_key``, once launched
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
        return configured, True


def configured() -> Configured:
    """The current configuration; ``DBOSException`` before ``DBOS(config=...)``."""
    if _configured is None:
        raise DBOSException("create DBOS(config=...) before using it")
    return _configured


def launch() -> None:
    """Open the system database, migrate it, and recover this executor's PENDING
    workflows. Idempotent. Raises ``DBOSInitializationError`` if the database cannot
    be opened."""
    with _lock:
        state = configured()
        if state.launched:
            logger.warning("DBOS.launch() called twice; ignoring the second call")
            return
        settings = state.settings
        logging.getLogger("transact").setLevel(settings.log_level)
        store = _open_and_migrate(settings)
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
        runtime.env.strict_determinism = settings.strict_determinism
        if settings.application_database_url:
            runtime.app_db = AppDatabase(settings.application_database_url)
            runtime.app_db.migrate()
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
        _configured = None
    if conductor is not None:
        conductor.stop()
    if admin is not None:
        admin.stop()
    if background is not None:
        background.stop()  # no new claims or firings while running ones finish
    if runtime is not None:
        runtime.shutdown(workflow_completion_timeout_sec)
    if destroy_registry:
        forget_queues_and_schedules()
        REGISTRY.clear()


def reset_system_database() -> None:
    """Delete every workflow and its history from the system database (tests only).

    Raises ``DBOSException`` if DBOS is launched.
    """
    state = configured()
    if state.launched:
        raise DBOSException("reset_system_database must be called before DBOS.launch()")
    store = _open_and_migrate(state.settings)
    try:
        store.reset()
    finally:
        store.close()


def application_version() -> str:
    """The application version this executor runs (set at launch)."""
    return launched.runtime().application_version


def executor_id() -> str:
    """This executor's id (config ``executor_id``, env ``DBOS__VMID``, or "local")."""
    runtime = launched.runtime_or_none()
    if runtime is not None:
        return runtime.executor_id
    return configured().settings.executor_id


def _open_and_migrate(settings: Settings) -> Store:
    try:
        store = open_store(settings.system_database_url, pool_size=settings.pool_size)
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
        try:
            digest.update(inspect.getsource(spec.func).encode())
        except (OSError, TypeError):
            digest.update(spec.name.encode())
    digest.update(__version__.encode())
    return digest.hexdigest()
