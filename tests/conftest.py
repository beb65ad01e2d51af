"""The store fixtures: every behaviour test runs on memory, SQLite and Postgres.

``system_database_url`` is the one parametrized fixture (ids ``memory``, ``sqlite``,
``postgres``); ``store`` opens a migrated store on it. Select one store with
``-k memory`` (or ``sqlite``, ``postgres``). Postgres params skip when no server answers
(see ``_pg``), unless ``TRANSACT_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._pg import drop_database, recreate_database, require_postgres
from transact._store.factory import open_store
from transact._store.protocol import Store

STORE_PARAMS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A database of this test process (``transact_test_<pid>``), recreated once per session.

    Skips (or fails under ``TRANSACT_REQUIRE_POSTGRES=1``) when no server answers.
    """
    require_postgres()
    name = f"transact_test_{os.getpid()}"
    yield recreate_database(name)
    drop_database(name)


@pytest.fixture(params=STORE_PARAMS)
def system_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty system database URL for each store kind."""
    kind: str = request.param
    if kind == "memory":
        return f"memory://test-{uuid.uuid4().hex}"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/sys.sqlite"
    # Asked for lazily, so memory and SQLite runs never touch the Postgres server.
    url: str = request.getfixturevalue("postgres_database_url")
    return emptied(url)


def emptied(url: str) -> str:
    """``url`` after migrating its database and deleting every workflow in it."""
    store = open_store(url)
    try:
        store.migrate()
        store.reset()
    finally:
        store.close()
    return url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def durable_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh system database that outlives a process: SQLite and Postgres."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/durable.sqlite"
    return emptied(request.getfixturevalue("postgres_database_url"))


@pytest.fixture
def store(system_database_url: str) -> Iterator[Store]:
    """A migrated store on ``system_database_url``, closed after the test."""
    opened = open_store(system_database_url)
    opened.migrate()
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def dbos_logs_captured(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """``caplog`` sees the ``dbos`` logger, which (as DBOS's) does not propagate to root."""
    logger = logging.getLogger("dbos")
    logger.addHandler(caplog.handler)
    yield
    logger.removeHandler(caplog.handler)


@pytest.fixture
def transact_postgres_url(postgres_database_url: str) -> str:
    """The plugin's Postgres runs (``transact_every_store``) use this session's database."""
    return postgres_database_url
