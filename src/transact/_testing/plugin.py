"""The pytest plugin, registered through the ``pytest11`` entry point (active wherever
``transact`` is installed).

Fixtures:

- ``transact_url``: a fresh system database URL per test: a new ``memory://`` store,
  or ``--transact-url URL`` (emptied before each test), or, for a test marked
  ``@pytest.mark.transact_every_store``, each of memory, SQLite (in ``tmp_path``) and
  Postgres (``--transact-postgres-url`` / ``TRANSACT_TEST_POSTGRES_URL``, or the
  ``transact_postgres_url`` fixture overridden; skipped without one), as three test ids.
- ``transact_clock``: a ``FakeClock(auto_advance=True)``; ``transact_dbos`` uses it
  when the test asks for both.
- ``transact_dbos``: ``DBOS`` launched on ``transact_url`` for the test, destroyed after
  it, with every thread the runtime started joined (a thread still alive fails the test).
- ``transact_client``: a ``DBOSClient`` on ``transact_url``, beside the launched runtime.

Nothing here runs for a test that asks for none of them.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from transact._client.client import DBOSClient

from transact._testing.fake_clock import FakeClock

MARKER = "transact_every_store"
_STORES = ("memory", "sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--transact-url`` and ``--transact-postgres-url``."""
    group = parser.getgroup("transact")
    group.addoption(
        "--transact-url",
        default=None,
        help="system database URL for the transact fixtures (default: a fresh memory:// store)",
    )
    group.addoption(
        "--transact-postgres-url",
        default=os.environ.get("TRANSACT_TEST_POSTGRES_URL"),
        help=f"Postgres URL for tests marked {MARKER} (emptied before each test)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line(
        "markers", f"{MARKER}: run the test on the memory, SQLite and Postgres stores"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A marked test that uses ``transact_url`` runs once per store."""
    if metafunc.definition.get_closest_marker(MARKER) and "transact_url" in metafunc.fixturenames:
        metafunc.parametrize("transact_store_kind", _STORES, ids=list(_STORES))


def _emptied(url: str) -> str:
    from transact._store.factory import open_store

    store = open_store(url)
    try:
        store.migrate()
        store.reset()
    finally:
        store.close()
    return url


@pytest.fixture
def transact_postgres_url(request: pytest.FixtureRequest) -> str | None:
    """The Postgres database of the ``postgres`` runs (a project may override this
    fixture with one of its own); None skips them."""
    url: str | None = request.config.getoption("--transact-postgres-url")
    return url


@pytest.fixture
def transact_store_kind() -> str | None:
    """The store of a test marked ``transact_every_store`` (parametrized); else None."""
    return None


@pytest.fixture
def transact_url(
    request: pytest.FixtureRequest, tmp_path: Path, transact_store_kind: str | None
) -> str:
    """A fresh, empty system database URL for this test (see the module docstring)."""
    kind = transact_store_kind
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/transact.sqlite"
    if kind == "postgres":
        url: str | None = request.getfixturevalue("transact_postgres_url")
        if not url:
            pytest.skip("no Postgres: pass --transact-postgres-url or TRANSACT_TEST_POSTGRES_URL")
        return _emptied(url)
    given: str | None = request.config.getoption("--transact-url")
    if kind is None and given:
        return _emptied(given)
    return f"memory://pytest-{uuid.uuid4().hex}"


@pytest.fixture
def transact_clock() -> FakeClock:
    """A ``FakeClock`` that jumps to the next deadline once every waiter waits."""
    return FakeClock(auto_advance=True)


def _join_new_threads(before: set[threading.Thread], seconds: float = 10.0) -> list[str]:
    """Join the threads started since ``before``; the names of those still alive."""
    left = []
    for thread in set(threading.enumerate()) - before:
        if thread is threading.current_thread():
            continue
        thread.join(seconds)
        if thread.is_alive() and thread.name.startswith("transact"):
            left.append(thread.name)
    return left


@pytest.fixture
def transact_dbos(request: pytest.FixtureRequest, transact_url: str) -> Iterator[Any]:
    """``DBOS`` launched on ``transact_url`` for the test (with ``transact_clock`` when
    the test asks for it); destroyed after, its threads joined."""
    from transact._facade import lifecycle
    from transact._facade.dbos import DBOS

    clock = (
        request.getfixturevalue("transact_clock")
        if "transact_clock" in request.fixturenames
        else None
    )
    before = set(threading.enumerate())
    DBOS.destroy()
    DBOS(config={"name": "pytest", "system_database_url": transact_url})
    if clock is not None:
        lifecycle.configured().clock = clock
    DBOS.launch()
    try:
        yield DBOS
    finally:
        DBOS.destroy()
        left = _join_new_threads(before)
    if left:
        pytest.fail(f"threads left running after the test: {', '.join(sorted(left))}")


@pytest.fixture
def transact_client(transact_url: str, transact_dbos: Any) -> Iterator[DBOSClient]:
    """A ``DBOSClient`` on ``transact_url`` (the launched runtime's database)."""
    from transact._client.client import DBOSClient  # imported when a test asks for it

    client = DBOSClient(system_database_url=transact_url)
    try:
        yield client
    finally:
        client.destroy()
