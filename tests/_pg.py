"""Postgres helpers for tests: which server to use, whether it answers, a scratch database.

The server comes from ``TRANSACT_TEST_POSTGRES_URL`` (default: the local server as
``postgres``). Tests skip where no server answers, unless ``TRANSACT_REQUIRE_POSTGRES=1``
(set by CI), which turns the skip into a failure so CI can never pass by skipping.
"""

from __future__ import annotations

import functools
import os
from urllib.parse import urlsplit, urlunsplit

import pytest

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_server_url() -> str:
    """The URL of the server tests may create databases on."""
    return os.environ.get("TRANSACT_TEST_POSTGRES_URL") or DEFAULT_SERVER_URL


def postgres_required() -> bool:
    """True when a missing server must fail the run instead of skipping."""
    return os.environ.get("TRANSACT_REQUIRE_POSTGRES") == "1"


def database_url(server_url: str, database: str) -> str:
    """``server_url`` pointing at ``database`` instead (same scheme, user, host, query)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + database))


def libpq_url(url: str) -> str:
    """``url`` without a SQLAlchemy driver suffix (``postgresql+psycopg`` -> ``postgresql``),
    as psycopg expects."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


@functools.cache
def postgres_available() -> bool:
    """Whether the server answers within two seconds (asked once per process)."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(postgres_server_url()), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def require_postgres() -> None:
    """Skip the calling test if no server answers, or fail under TRANSACT_REQUIRE_POSTGRES=1."""
    if postgres_available():
        return
    message = f"no Postgres server answers at {postgres_server_url()} (TRANSACT_TEST_POSTGRES_URL)"
    if postgres_required():
        pytest.fail(f"{message}, and TRANSACT_REQUIRE_POSTGRES=1", pytrace=False)
    pytest.skip(message)


def recreate_database(name: str) -> str:
    """Drop and create database ``name`` on the server; return its URL."""
    import psycopg
    from psycopg import sql

    server = postgres_server_url()
    with psycopg.connect(libpq_url(server), autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server, name)


def drop_database(name: str) -> None:
    """Drop database ``name``, closing whatever connections are still open on it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        libpq_url(postgres_server_url()), autocommit=True, connect_timeout=5
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
