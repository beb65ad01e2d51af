"""A datasource's database: its engine (sync or async) and its ``datasource_outputs``
table, which records each transaction's outcome in the user's own transaction.

The table lives in the user database (in schema ``dbos`` on Postgres, as DBOS puts it),
created by the datasource; the system database is not touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from transact._serialization import Serializer

DEFAULT_SCHEMA = "dbos"


def outputs_table(schema: str | None) -> Table:
    """``datasource_outputs`` in ``schema`` (None on SQLite, which has no schemas)."""
    return Table(
        "datasource_outputs",
        MetaData(schema=schema),
        Column("workflow_id", Text, primary_key=True),
        Column("step_id", Integer, primary_key=True),
        Column("output", Text),
        Column("error", Text),
        Column("serialization", Text),
        Column("created_at", BigInteger, nullable=False),
    )


def sync_url(database_url: str) -> URL:
    """``database_url`` with a driver this package ships (psycopg for Postgres)."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def async_url(database_url: str) -> URL:
    """``database_url`` with an asyncio driver (psycopg's async mode, aiosqlite)."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        url = url.set(drivername="postgresql+psycopg_async")
    elif url.drivername in ("sqlite", "sqlite+pysqlite"):
        url = url.set(drivername="sqlite+aiosqlite")
    return url


class DatasourceDatabase:
    """The ``TransactionTarget`` of one datasource (sync or async engine)."""

    def __init__(
        self,
        sessions: Callable[[], Any],
        engine: Engine | AsyncEngine,
        schema: str | None,
        serializer: Serializer | None,
    ) -> None:
        self.new_session = sessions  # the user's sessionmaker (sync or async)
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        self.schema = (schema or DEFAULT_SCHEMA) if self.is_postgres else None
        self.table = outputs_table(self.schema)
        self.serializer = serializer

    @property
    def output_serializer(self) -> Serializer | None:
        """The datasource's serializer (None: the application serializer)."""
        return self.serializer

    def migrate(self, connection: Any) -> None:
        """Create the schema and the outputs table if missing (idempotent)."""
        if self.schema is not None:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        self.table.metadata.create_all(connection)

    def output_query(self, workflow_id: str, function_id: int) -> Executable:
        """The query of the recorded ``(output, error)`` row of that transaction."""
        c = self.table.c
        key = (c.workflow_id == workflow_id) & (c.step_id == function_id)
        return select(c.output, c.error).where(key)

    def output_insert(
        self,
        workflow_id: str,
        function_id: int,
        name: str,
        output: str,
        serialization: str,
        created_at: int,
    ) -> Executable:
        """The statement recording the transaction's output (the name is in the system
        database's checkpoint; DBOS's table has no column for it)."""
        del name
        return insert(self.table).values(
            workflow_id=workflow_id,
            step_id=function_id,
            output=output,
            serialization=serialization,
            created_at=created_at,
        )
