"""Open the store a ``system_database_url`` names."""

from __future__ import annotations

from transact._store.protocol import Store
from transact.errors import DBOSInitializationError


def open_store(url: str, *, pool_size: int = 20, retry_timeout: float | None = None) -> Store:
    """The store for ``url``: ``memory://<name>``, ``sqlite:///<path>`` or ``postgresql://...``.

    Raises ``DBOSInitializationError`` for any other scheme. The store is not migrated yet.
    ``retry_timeout``: how long a verb retries while the database is away (seconds;
    default ``DEFAULT_RETRY_TIMEOUT`` of the SQL engine).
    """
    if url.startswith("memory://"):
        from transact._store.memory import MemoryStore

        return MemoryStore.named(url.removeprefix("memory://"))
    if url.startswith("sqlite"):
        from transact._store.sql.dialects.sqlite import open_sqlite_store

        return open_sqlite_store(url, retry_timeout=retry_timeout)
    if url.startswith(("postgresql", "postgres://")):
        from transact._store.sql.dialects.postgres import open_postgres_store

        return open_postgres_store(url, pool_size=pool_size, retry_timeout=retry_timeout)
    raise DBOSInitializationError(
        f"unsupported system_database_url {url!r}: use sqlite:///<file>, "
        "postgresql://user@host:port/db or memory://<name>"
    )
