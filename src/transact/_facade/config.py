"""``DBOSConfig``: the configuration keys, validated before anything is opened."""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import re
from typing import Any, TypedDict

import attrs

from transact._serialization import DefaultSerializer, Serializer
from transact._telemetry.setup import TelemetrySettings, telemetry_settings
from transact.errors import DBOSException, DBOSInitializationError


class DBOSConfig(TypedDict, total=False):
    """Configuration of a ``DBOS`` instance: DBOS's keys (2.x and 3.4).

    ``name`` is required. ``system_database_url`` selects the store:
    ``sqlite:///file.sqlite`` (default: ``sqlite:///<name>.sqlite``),
    ``postgresql://user@host:port/db``, or ``memory://<name>`` (tests). A key naming
    something ``transact`` does not do (Kafka, auto-upgrade, a custom engine, ...) is
    accepted with one warning naming it; a misspelt key is refused with the closest
    valid key suggested. ``docs/porting.md`` lists what each key does here.
    """

    name: str
    system_database_url: str | None
    application_database_url: str | None
    database_url: str | None
    sys_db_pool_size: int | None
    sys_db_polling_concurrency: int | None
    system_database_retry_timeout_sec: float | None
    db_engine_kwargs: dict[str, Any] | None
    system_database_engine: Any
    dbos_system_schema: str | None
    application_version: str | None
    executor_id: str | None
    enable_otlp: bool | None
    otlp_traces_endpoints: list[str] | None
    otlp_logs_endpoints: list[str] | None
    otlp_attributes: dict[str, str] | None
    otel_attribute_format: str | None
    log_level: str | None
    console_log_level: str | None
    otlp_log_level: str | None
    run_admin_server: bool | None
    admin_port: int | None
    serializer: Serializer | None
    enable_patching: bool | None
    use_listen_notify: bool | None
    run_migrations: bool | None
    max_executor_threads: int | None
    notification_listener_polling_interval_sec: float | None
    notification_coalesce_sec: float | None
    scheduler_polling_interval_sec: float | None
    kafka_queue_polling_interval_sec: float | None
    conductor_key: str | None
    conductor_url: str | None
    conductor_executor_metadata: dict[str, Any] | None
    # DBOS 3.4
    sys_db_idle_transaction_timeout_sec: float | None
    observability_query_timeout_sec: float | None
    auto_upgrade_interval_sec: float | None
    auto_upgrade_grace_sec: float | None
    strict_determinism: bool | None  # transact: changed arguments raise, not warn


KNOWN_KEYS = frozenset(DBOSConfig.__annotations__)

# Keys naming something transact does not do: accepted with one warning when set.
UNSUPPORTED_KEYS: dict[str, str] = {
    "kafka_queue_polling_interval_sec": "transact has no Kafka consumers",
    "auto_upgrade_interval_sec": "automatic upgrades are a DBOS enterprise feature",
    "auto_upgrade_grace_sec": "automatic upgrades are a DBOS enterprise feature",
    "system_database_engine": "transact opens its own engine from system_database_url",
    "db_engine_kwargs": "transact configures its own engines",
    "sys_db_polling_concurrency": "transact's waits share one notification listener",
    "notification_coalesce_sec": "transact notifies waiters as each write commits",
    "sys_db_idle_transaction_timeout_sec": "transact holds no transaction open while idle",
    "observability_query_timeout_sec": "listing queries run without a statement timeout",
}
# Keys whose False (or non-default) value is not honoured: warned about only then.
UNSUPPORTED_VALUES: dict[str, tuple[Any, str]] = {
    "use_listen_notify": (True, "transact always uses LISTEN/NOTIFY on Postgres"),
    "dbos_system_schema": ("dbos", "transact's system tables live in the schema 'transact'"),
}
_NAME = re.compile(r"^[a-z0-9_-]+$")
_SCHEMES = ("sqlite", "postgresql", "postgres", "memory")
DEFAULT_SQLITE_POLL_SECONDS = 0.1
DEFAULT_ADMIN_PORT = 3001
logger = logging.getLogger("dbos")
PATCHING_VERSION = "PATCHING_ENABLED"
"""The application version of every executor under ``enable_patching`` (unless pinned)."""


@attrs.frozen
class Settings:
    """A validated configuration with every default filled in.

    ``config`` is the whole (validated) ``DBOSConfig``, for keys read where they act.
    """

    name: str
    system_database_url: str
    application_database_url: str | None
    executor_id: str
    application_version: str | None
    serializer: Serializer
    pool_size: int
    poll_seconds: float
    max_threads: int | None
    log_level: str
    admin_port: int | None = None  # None: no admin server (``run_admin_server`` unset)
    conductor_key: str | None = None  # set: connect to DBOS Conductor
    conductor_url: str | None = None
    conductor_metadata: dict[str, Any] | None = None
    console_log_level: str | None = None  # None: log_level
    config: dict[str, Any] = attrs.field(factory=dict, eq=False)
    enable_patching: bool = False  # DBOS.patch allowed; the version is PATCHING_ENABLED
    telemetry: TelemetrySettings = attrs.field(factory=TelemetrySettings)  # enable_otlp...
    retry_timeout: float = 60.0  # system_database_retry_timeout_sec
    strict_determinism: bool = False


def _url_for_name(name: str) -> str:
    stem = name.replace("-", "_").replace(" ", "_")
    if stem[:1].isdigit():
        stem = "_" + stem
    return f"sqlite:///{stem}.sqlite"


def _derived_url(name: str, app_url: str | None) -> str:
    """DBOS's system database when none is given: beside an application database
    (SQLite: the same file; Postgres: ``<database>_dbos_sys``), else a SQLite file."""
    if not app_url:
        return _url_for_name(name)
    if app_url.startswith("sqlite"):
        return app_url
    base, _, query = app_url.partition("?")
    return f"{base}_dbos_sys" + (f"?{query}" if query else "")


def resolve(config: DBOSConfig) -> Settings:
    """Validate ``config``; raise ``DBOSInitializationError`` naming what is wrong."""
    if not isinstance(config, dict):
        raise DBOSInitializationError(
            f"config must be a DBOSConfig dict, not {type(config).__name__}"
        )
    _refuse_unknown_keys(config)
    name = config.get("name")
    if not name:
        raise DBOSInitializationError("Configuration must specify an application name")
    if not isinstance(name, str) or not 3 <= len(name) <= 30 or not _NAME.match(name):
        raise DBOSInitializationError(
            f"Invalid app name {name}.  App names must be between 3 and 30 characters long "
            "and contain only lowercase letters, numbers, dashes, and underscores."
        )
    app_url = config.get("database_url") or config.get("application_database_url")
    url = config.get("system_database_url") or _derived_url(name, app_url)
    if not isinstance(url, str) or not url.startswith(_SCHEMES) or "://" not in url:
        raise DBOSInitializationError(
            f"invalid system_database_url {url!r}: use sqlite:///<file>, "
            "postgresql://user@host:port/db or memory://<name>"
        )
    if url.startswith("postgres") and not url.split("://", 1)[1].partition("/")[2].split("?")[0]:
        raise DBOSInitializationError("Database name must be specified in the connection URL")
    serializer = config.get("serializer") or DefaultSerializer()
    if not isinstance(serializer, Serializer):
        raise DBOSInitializationError(
            "config 'serializer' must implement serialize, deserialize and name"
        )
    _check_numbers(config)
    poll = config.get("notification_listener_polling_interval_sec")
    if poll is None:
        poll = DEFAULT_SQLITE_POLL_SECONDS
    pool_size = config.get("sys_db_pool_size")
    if pool_size is None:
        pool_size = 20
    if pool_size < 1:
        raise DBOSInitializationError(f"sys_db_pool_size must be positive, got {pool_size}")
    retry_timeout = config.get("system_database_retry_timeout_sec")
    if retry_timeout is None:
        retry_timeout = 60.0
    if (
        isinstance(retry_timeout, bool)
        or not isinstance(retry_timeout, int | float)
        or not retry_timeout >= 0
    ):
        raise DBOSInitializationError(
            "system_database_retry_timeout_sec must be a number of seconds >= 0, "
            f"got {retry_timeout!r}"
        )
    return Settings(
        retry_timeout=float(retry_timeout),
        name=name,
        system_database_url=url,
        application_database_url=app_url,
        executor_id=config.get("executor_id") or os.environ.get("DBOS__VMID") or "local",
        application_version=config.get("application_version")
        or os.environ.get("DBOS__APPVERSION")
        or (PATCHING_VERSION if config.get("enable_patching") else None),
        serializer=serializer,
        pool_size=pool_size,
        poll_seconds=poll,
        max_threads=config.get("max_executor_threads"),
        log_level=config.get("log_level") or "INFO",
        admin_port=_admin_port(config),
        conductor_key=config.get("conductor_key"),
        conductor_url=config.get("conductor_url"),
        conductor_metadata=_conductor_metadata(config),
        console_log_level=config.get("console_log_level"),
        config=dict(config),
        enable_patching=bool(config.get("enable_patching")),
        telemetry=_telemetry(config),
        strict_determinism=bool(config.get("strict_determinism")),
    )


def _refuse_unknown_keys(config: DBOSConfig) -> None:
    """A key DBOS does not know is a typo: refuse it, suggesting the closest key."""
    for key in sorted(set(config) - KNOWN_KEYS):
        close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DBOSInitializationError(f"unknown config key {key!r}{hint}")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_numbers(config: DBOSConfig) -> None:
    """DBOS's checks (and messages) for its interval and timeout keys."""
    for key in (
        "notification_listener_polling_interval_sec",
        "notification_coalesce_sec",
        "kafka_queue_polling_interval_sec",
    ):
        value: Any = config.get(key)
        if value is not None and not (_finite(value) and value >= 0.001):
            raise DBOSInitializationError(
                f"{key} must be a finite number at least 0.001 seconds, got {value}"
            )
    for key in ("sys_db_idle_transaction_timeout_sec", "observability_query_timeout_sec"):
        value = config.get(key)
        if value is not None and not _finite(value):
            raise DBOSInitializationError(f"{key} must be a finite number, got {value}")
    value = config.get("auto_upgrade_interval_sec")
    if value is not None and not (_finite(value) and value > 0):
        raise DBOSInitializationError(
            f"auto_upgrade_interval_sec must be a finite positive number of seconds, got {value}"
        )
    value = config.get("auto_upgrade_grace_sec")
    if value is not None and not (_finite(value) and value >= 0):
        raise DBOSInitializationError(
            f"auto_upgrade_grace_sec must be a finite non-negative number of seconds, got {value}"
        )


def warn_unsupported(config: DBOSConfig) -> None:
    """One warning per key that is set but names something transact does not do
    (logged once ``DBOS(config=...)`` has configured the logger)."""
    for key, why in UNSUPPORTED_KEYS.items():
        if config.get(key) is not None:
            logger.warning("DBOSConfig key %r is accepted but has no effect: %s", key, why)
    for key, (honoured, why) in UNSUPPORTED_VALUES.items():
        value = config.get(key)
        if value is not None and value != honoured:
            logger.warning("DBOSConfig key %r=%r is accepted but not honoured: %s", key, value, why)


def _telemetry(config: DBOSConfig) -> TelemetrySettings:
    try:
        return telemetry_settings(config)
    except ValueError as exc:
        raise DBOSInitializationError(str(exc)) from None


def _conductor_metadata(config: DBOSConfig) -> dict[str, Any] | None:
    """``conductor_executor_metadata``, which must be JSON-serializable."""
    metadata = config.get("conductor_executor_metadata")
    if metadata is None:
        return None
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise DBOSException(
            f"conductor_executor_metadata must be JSON-serializable: {exc}"
        ) from None
    return dict(metadata)


def _admin_port(config: DBOSConfig) -> int | None:
    """The admin server's port when ``run_admin_server`` is set (default 3001)."""
    if not config.get("run_admin_server"):
        return None
    port = config.get("admin_port")
    if port is None:
        return DEFAULT_ADMIN_PORT
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise DBOSInitializationError(f"admin_port must be a port number, got {port!r}")
    return port
