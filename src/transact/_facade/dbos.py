"""The ``DBOS`` class: the one entry point, as in DBOS Transact."""

from __future__ import annotations

import hashlib
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from sqlalchemy.orm import Session
from typing_extensions import ParamSpec

from transact._facade import launched
from transact._facade.api_communication import CommunicationAPI
from transact._facade.api_management import ManagementAPI
from transact._facade.api_workflows import WorkflowsAPI
from transact._facade.classproperty import classproperty
from transact._facade.config import DBOSConfig, Settings, resolve
from transact._facade.context import ambient_auth
from transact._facade.decorators import StepOptions, WorkflowDecorator, make_step, retry_policy
from transact._facade.queues import Background, QueuesAPI, forget_queues_and_schedules
from transact._facade.transactions import sql_session, transaction_decorator
from transact._runtime.appdb import AppDatabase
from transact._runtime.clock import Clock, SystemClock
from transact._runtime.registry import DEFAULT_MAX_RECOVERY_ATTEMPTS, REGISTRY
from transact._runtime.runtime import Runtime
from transact._runtime.state import current_frame
from transact._store.factory import open_store
from transact._store.protocol import Store
from transact.errors import DBOSException, DBOSInitializationError

P = ParamSpec("P")
R = TypeVar("R")

__version__ = "0.1.0"
logger = logging.getLogger("transact")

_lock = threading.RLock()
_instance: DBOS | None = None


class DBOS(WorkflowsAPI, ManagementAPI, CommunicationAPI, QueuesAPI):
    """The durable-workflow runtime of this process (a singleton), and its API.

    Create it once with a config, decorate workflows and steps, then ``launch()``::

        DBOS(config={"name": "shop"})   # SQLite in ./shop.sqlite
        DBOS.launch()
    """

    def __new__(cls, *, config: DBOSConfig, **_: Any) -> DBOS:
        global _instance
        with _lock:
            if _instance is None:
                instance = super().__new__(cls)
                instance._settings = resolve(config)
                instance._clock = SystemClock()
                instance._launched = False
                _instance = instance
            return _instance

    def __init__(
        self,
        *,
        config: DBOSConfig,
        fastapi: Any = None,
        flask: Any = None,
        conductor_url: str | None = None,
        conductor_key: str | None = None,
    ) -> None:
        """Configure the runtime; raises ``DBOSInitializationError`` for a bad config.

        While an instance exists, later constructions return it and ignore their
        arguments. ``fastapi``, ``flask`` and the conductor arguments are accepted for
        compatibility and not used.
        """

    _settings: Settings
    _background: Background | None = None  # queue runner and schedulers, once launched
    _clock: Clock
    _launched: bool

    # --- lifecycle -------------------------------------------------------------------

    @classmethod
    def _get(cls) -> DBOS:
        if _instance is None:
            raise DBOSException("create DBOS(config=...) before using it")
        return _instance

    @classmethod
    def launch(cls) -> None:
        """Open the system database, migrate it, and recover this executor's PENDING
        workflows. Idempotent. Raises ``DBOSInitializationError`` if the database cannot
        be opened."""
        with _lock:
            dbos = cls._get()
            if dbos._launched:
                logger.warning("DBOS.launch() called twice; ignoring the second call")
                return
            settings = dbos._settings
            logging.getLogger("transact").setLevel(settings.log_level)
            store = _open_and_migrate(settings)
            runtime = Runtime(
                store,
                serializer=settings.serializer,
                clock=dbos._clock,
                executor_id=settings.executor_id,
                application_version=settings.application_version or _compute_version(),
                poll_seconds=settings.poll_seconds,
                max_threads=settings.max_threads,
            )
            if settings.application_database_url:
                runtime.app_db = AppDatabase(settings.application_database_url)
                runtime.app_db.migrate()
            launched.set_runtime(runtime)
            dbos._launched = True
        recovered = runtime.recover_pending()
        if recovered:
            logger.info("Recovering %d pending workflow(s)", len(recovered))
        # After recovery, so the queue runner counts the recovered queued workflows
        # against per-worker limits before it claims more.
        background = Background(runtime)
        background.start()
        dbos._background = background

    @classmethod
    def destroy(
        cls, *, destroy_registry: bool = False, workflow_completion_timeout_sec: float = 0
    ) -> None:
        """Shut down: wait up to ``workflow_completion_timeout_sec`` for running
        workflows, stop the rest (they stay PENDING and are recovered at the next launch),
        close the database, and forget the instance. ``destroy_registry`` also forgets the
        decorated functions."""
        global _instance
        with _lock:
            runtime = launched.runtime_or_none()
            launched.set_runtime(None)
            background = _instance._background if _instance is not None else None
            _instance = None
        if background is not None:
            background.stop()  # no new claims or firings while running ones finish
        if runtime is not None:
            runtime.shutdown(workflow_completion_timeout_sec)
        if destroy_registry:
            forget_queues_and_schedules()
            REGISTRY.clear()

    @classmethod
    def reset_system_database(cls) -> None:
        """Delete every workflow and its history from the system database (tests only).

        Raises ``DBOSException`` if DBOS is launched.
        """
        dbos = cls._get()
        if dbos._launched:
            raise DBOSException("reset_system_database must be called before DBOS.launch()")
        store = _open_and_migrate(dbos._settings)
        try:
            store.reset()
        finally:
            store.close()

    # --- decorators ------------------------------------------------------------------

    @classmethod
    def workflow(
        cls,
        *,
        name: str | None = None,
        max_recovery_attempts: int | None = DEFAULT_MAX_RECOVERY_ATTEMPTS,
    ) -> WorkflowDecorator:
        """Declare a workflow: its steps are checkpointed and it resumes after a crash.

        Works on ordinary functions and on ``transact.fx`` generator functions.
        ``max_recovery_attempts`` (None: unlimited) bounds how often a workflow that keeps
        crashing is re-dispatched before it is moved to MAX_RECOVERY_ATTEMPTS_EXCEEDED.
        """
        return WorkflowDecorator(name, max_recovery_attempts)

    @classmethod
    def step(
        cls,
        *,
        name: str | None = None,
        retries_allowed: bool = False,
        interval_seconds: float = 1.0,
        max_attempts: int = 3,
        backoff_rate: float = 2.0,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Declare a step: inside a workflow it runs once and its outcome is recorded.

        With ``retries_allowed`` a failing step is retried up to ``max_attempts`` times,
        waiting ``interval_seconds * backoff_rate**i`` after attempt ``i``; when all fail
        it raises ``DBOSMaxStepRetriesExceeded``. Raises ``ValueError`` for bad options.
        """
        options = StepOptions(
            name=name,
            retries_allowed=retries_allowed,
            interval_seconds=interval_seconds,
            max_attempts=max_attempts,
            backoff_rate=backoff_rate,
        )
        retry_policy(options)  # validate now, at decoration time

        def decorate(func: Callable[P, R]) -> Callable[P, R]:
            return make_step(func, options)

        return decorate

    @classmethod
    def transaction(
        cls,
        isolation_level: Literal[
            "SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED"
        ] = "SERIALIZABLE",
        *,
        name: str | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Declare a transaction on the application database (``application_database_url``).

        Inside a workflow it runs exactly once: its outcome is recorded in the same
        commit as its writes, then checkpointed; serialization failures are retried.
        Outside a workflow it is one plain transaction. Use ``DBOS.sql_session`` inside.
        """
        return transaction_decorator(isolation_level, name)

    # --- context properties ----------------------------------------------------------

    @classproperty
    def sql_session(cls) -> Session:
        """The SQLAlchemy session of the running ``@DBOS.transaction``."""
        return sql_session()

    @classproperty
    def workflow_id(cls) -> str | None:
        """The id of the running workflow (also inside its steps), else None."""
        frame = current_frame()
        return frame.workflow.workflow_id if frame is not None else None

    @classproperty
    def step_id(cls) -> int | None:
        """The function id of the running step, else None."""
        frame = current_frame()
        return frame.step_id if frame is not None else None

    @classproperty
    def authenticated_user(cls) -> str | None:
        """The user the running workflow acts for (``DBOSContextSetAuth``), else None."""
        frame = current_frame()
        if frame is not None:
            return frame.workflow.authenticated_user
        return ambient_auth()[0]

    @classproperty
    def authenticated_roles(cls) -> list[str] | None:
        """The roles of ``authenticated_user``, else None."""
        frame = current_frame()
        roles = frame.workflow.authenticated_roles if frame is not None else ambient_auth()[1]
        return list(roles) if roles is not None else None

    @classproperty
    def logger(cls) -> logging.Logger:
        """The library's logger."""
        return logger

    @classproperty
    def application_version(cls) -> str:
        """The application version this executor runs (set at launch)."""
        return launched.runtime().application_version

    @classproperty
    def executor_id(cls) -> str:
        """This executor's id (config ``executor_id``, env ``DBOS__VMID``, or "local")."""
        runtime = launched.runtime_or_none()
        if runtime is not None:
            return runtime.executor_id
        return cls._get()._settings.executor_id


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
