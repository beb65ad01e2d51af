"""``DBOSConfig``: the configuration keys, validated before anything is opened."""

from __future__ import annotations

import json
import os
import re
from typing import Any, TypedDict

import attrs

from transact._serialization import DefaultSerializer, Serializer
from transact.errors import DBOSInitializationError


class DBOSConfig(TypedDict, total=False):
    """Configuration of a ``DBOS`` instance (DBOS's keys; unknown keys are rejected).

    ``name`` is required. ``system_database_url`` selects the store:
    ``sqlite:///file.sqlite`` (default: ``sqlite:///<name>.sqlite``),
    ``postgresql://user@host:port/db``, or ``memory://<name>`` (tests).
    """

    name: str
    system_database_url: str | None
    application_database_url: str | None
    database_url: str | None
    sys_db_pool_size: int | None
    sys_db_polling_concurrency: int | None
    db_engine_kwargs: dict[str, Any] | None
    dbos_system_schema: str | None
    application_version: str | None
    executor_id: str | None
    enable_otlp: bool | None
    otlp_traces_endpoints: list[str] | None
    otlp_logs_endpoints: list[str] | None
    otlp_attributes: dict[str, str] | None
    log_level: str | None
    console_log_level: str | None
    run_admin_server: bool | None
    admin_port: int | None
    serializer: Serializer | None
    enable_patching: bool | None
    use_listen_notify: bool | None
    run_migrations: bool | None
    max_executor_threads: int | None
    notification_listener_polling_interval_sec: float | None
    scheduler_polling_interval_sec: float | None
    conductor_key: str | None
    conductor_url: str | None
    conductor_executor_metadata: dict[str, Any] | None
    strict_determinism: bool | None  # transact: changed arguments raise, not warn


KNOWN_KEYS = frozenset(DBOSConfig.__annotations__)
_NAME = re.compile(r"^[a-z0-9_-]{3,30}$")
_SCHEMES = ("sqlite", "postgresql", "postgres", "memory")
DEFAULT_SQLITE_POLL_SECONDS = 0.1
DEFAULT_ADMIN_PORT = 3001


@attrs.frozen
class Settings:
    """A validated configuration with every default filled in."""

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
    strict_determinism: bool = False


def _url_for_name(name: str) -> str:
    stem = name.replace("-", "_").replace(" ", "_")
    if stem[:1].isdigit():
        stem = "_" + stem
    return f"sqlite:///{stem}.sqlite"


def resolve(config: DBOSConfig) -> Settings:
    """Validate ``config``; raise ``DBOSInitializationError`` naming what is wrong."""
    if not isinstance(config, dict):
        raise DBOSInitializationError(
            f"config must be a DBOSConfig dict, not {type(config).__name__}"
        )
    unknown = sorted(set(config) - KNOWN_KEYS)
    if unknown:
        raise DBOSInitializationError(
            f"unknown config key(s) {', '.join(map(repr, unknown))}; valid keys are "
            f"{', '.join(sorted(KNOWN_KEYS))}"
        )
    name = config.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise DBOSInitializationError(
            f"config 'name' must be 3 to 30 characters of a-z, 0-9, - and _, got {name!r}"
        )
    url = config.get("system_database_url") or _url_for_name(name)
    if not isinstance(url, str) or not url.startswith(_SCHEMES) or "://" not in url:
        raise DBOSInitializationError(
            f"invalid system_database_url {url!r}: use sqlite:///<file>, "
            "postgresql://user@host:port/db or memory://<name>"
        )
    serializer = config.get("serializer") or DefaultSerializer()
    if not isinstance(serializer, Serializer):
        raise DBOSInitializationError(
            "config 'serializer' must implement serialize, deserialize and name"
        )
    poll = config.get("notification_listener_polling_interval_sec")
    if poll is None:
        poll = DEFAULT_SQLITE_POLL_SECONDS
    if not poll >= 0.001:
        raise DBOSInitializationError(
            f"notification_listener_polling_interval_sec must be at least 0.001, got {poll}"
        )
    pool_size = config.get("sys_db_pool_size")
    if pool_size is None:
        pool_size = 20
    if pool_size < 1:
        raise DBOSInitializationError(f"sys_db_pool_size must be positive, got {pool_size}")
    return Settings(
        name=name,
        system_database_url=url,
        application_database_url=config.get("database_url")
        or config.get("application_database_url"),
        executor_id=config.get("executor_id") or os.environ.get("DBOS__VMID") or "local",
        application_version=config.get("application_version") or os.environ.get("DBOS__APPVERSION"),
        serializer=serializer,
        pool_size=pool_size,
        poll_seconds=poll,
        max_threads=config.get("max_executor_threads"),
        log_level=config.get("log_level") or "INFO",
        admin_port=_admin_port(config),
        conductor_key=config.get("conductor_key"),
        conductor_url=config.get("conductor_url"),
        conductor_metadata=_conductor_metadata(config),
        strict_determinism=bool(config.get("strict_determinism")),
    )


def _conductor_metadata(config: DBOSConfig) -> dict[str, Any] | None:
    """``conductor_executor_metadata``, which must be JSON-serializable."""
    metadata = config.get("conductor_executor_metadata")
    if metadata is None:
        return None
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise DBOSInitializationError(
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
