"""The application database of ``@DBOS.transaction``: an engine and its outputs table.

A transaction's outcome is written to ``transact_transaction_outputs`` in the same
database transaction as the user's own writes, so a commit and its record can never be
separated: after a crash between the commit and the system checkpoint, the re-executed
workflow finds the row and does not run the transaction again.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from transact._serialization import Serializer
from transact.errors import DBOSInitializationError

metadata = MetaData()

transaction_outputs = Table(
    "transact_transaction_outputs",
    metadata,
    Column("workflow_uuid", Text, primary_key=True),
    Column("function_id", Integer, primary_key=True),
    Column("function_name", Text, nullable=False),
    Column("output", Text),
    Column("error", Text),
    Column("created_at", BigInteger, nullable=False),
)

ISOLATION_LEVELS = ("SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED")


class TransactionTarget(Protocol):
    """A database whose transactions run exactly once: the application database of
    ``@DBOS.transaction`` or a datasource. Its outputs table is read and written with the
    session of the user's own transaction, so the record commits with the writes."""

    is_postgres: bool

    def new_session(self) -> Any:
        """A session on the target's engine (``Session`` or ``AsyncSession``)."""
        ...

    @property
    def output_serializer(self) -> Serializer | None:
        """How outputs are stored in its table; None: the application serializer."""
        ...

    def output_query(self, workflow_id: str, function_id: int) -> Executable:
        """The query of the recorded ``(output, error)`` row of that transaction."""
        ...

    def output_insert(
        self,
        workflow_id: str,
        function_id: int,
        name: str,
        output: str,
        serialization: str,
        created_at: int,
    ) -> Executable:
        """The statement recording the transaction's output, run in the user's transaction."""
        ...


class AppDatabase:
    """The engine of ``application_database_url`` (SQLite or Postgres)."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise DBOSInitializationError(f"invalid application_database_url: {exc}") from exc
        if parsed.get_backend_name() == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
            self.is_postgres = True
        elif parsed.get_backend_name() == "sqlite":
            self.is_postgres = False
        else:
            raise DBOSInitializationError(
                f"application_database_url must be SQLite or Postgres, got {parsed.drivername!r}"
            )
        self.engine: Engine = create_engine(parsed, pool_pre_ping=True)

    def migrate(self) -> None:
        """Create the outputs table if it is missing (idempotent)."""
        try:
            metadata.create_all(self.engine)
        except Exception as exc:
            raise DBOSInitializationError(
                f"cannot prepare the application database "
                f"{self.engine.url.render_as_string(hide_password=True)}: {exc}"
            ) from exc

    output_serializer: Serializer | None = None  # outputs use the application serializer

    def new_session(self) -> Session:
        """A session on the application database."""
        return Session(self.engine)

    def output_query(self, workflow_id: str, function_id: int) -> Executable:
        """The query of the recorded ``(output, error)`` row of that transaction."""
        key = (transaction_outputs.c.workflow_uuid == workflow_id) & (
            transaction_outputs.c.function_id == function_id
        )
        return select(transaction_outputs.c.output, transaction_outputs.c.error).where(key)

    def output_insert(
        self,
        workflow_id: str,
        function_id: int,
        name: str,
        output: str,
        serialization: str,
        created_at: int,
    ) -> Executable:
        """The statement recording the transaction's output, run in the user's transaction."""
        del serialization  # this table has no column for it (the app serializer's)
        return insert(transaction_outputs).values(
            workflow_uuid=workflow_id,
            function_id=function_id,
            function_name=name,
            output=output,
            created_at=created_at,
        )

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()
