"""The web dashboard, as an ASGI application to serve or to mount.

Run it against any system database with ``transact dashboard -s URL``, or mount it in
your own application next to a launched ``DBOS``::

    app = FastAPI()
    DBOS(config=config, fastapi=app)
    app.mount("/dashboard", dashboard_app())

Every asset ships in the package; nothing is fetched from the internet. See
``docs/dashboard.md``.
"""

from __future__ import annotations

from starlette.applications import Starlette

from transact._dashboard.app import create_app
from transact._dashboard.source import Source
from transact._facade.admin.output import queues_metadata
from transact._facade.launched import runtime
from transact._serialization import DefaultSerializer, Serializer
from transact._store.factory import open_store

__all__ = ["dashboard_app"]


def dashboard_app(
    system_database_url: str | None = None,
    *,
    token: str | None = None,
    serializer: Serializer | None = None,
) -> Starlette:
    """The dashboard's ASGI application.

    Args:
        system_database_url: the system database to show. None: the launched ``DBOS``'s
            (looked up at each request, so the app may be mounted before launch);
            resumed and forked workflows then run in this process. With a URL nothing
            runs here: they are enqueued for the application's executors.
        token: when set, every request must carry it (``Authorization: Bearer``, or
            ``?token=`` once in the browser). Required by ``transact dashboard`` for any
            address but the loopback.
        serializer: how the application serializes values (default: DBOS's); a value
            this process cannot decode is shown as its stored text.
    """
    if system_database_url is None:

        def launched_source() -> Source:
            rt = runtime()
            return Source(rt.store, rt.serializer, rt, queues_metadata)

        return create_app(launched_source, token=token)
    store = open_store(system_database_url)  # never migrated here: the application does
    source = Source(store, serializer or DefaultSerializer(), queues=queues_metadata)
    return create_app(lambda: source, token=token, on_shutdown=store.close)
