"""Application versions (on the ``DBOS`` class): every version that ever launched is
recorded; the one with the highest timestamp is the latest. ``VersionInfo`` describes
one. Executors register their version at launch."""

from __future__ import annotations

import asyncio

from transact._facade.launched import runtime
from transact._facade.types import VersionInfo
from transact._runtime import latest
from transact._runtime.clock import now_ms
from transact._store.records import VersionRecord
from transact.errors import DBOSException

__all__ = [
    "VersionInfo",
    "get_latest_application_version",
    "get_latest_application_version_async",
    "list_application_versions",
    "list_application_versions_async",
    "set_latest_application_version",
    "set_latest_application_version_async",
]


def _info(record: VersionRecord) -> VersionInfo:
    return VersionInfo(
        version_id=record.version_id,
        version_name=record.version_name,
        version_timestamp=record.version_timestamp,
        created_at=record.created_at,
        application_name=record.application_name,
    )


def list_application_versions() -> list[VersionInfo]:
    """Every recorded application version, the latest (highest timestamp) first."""
    return [_info(v) for v in runtime().store.list_application_versions(None)]


def get_latest_application_version() -> VersionInfo:
    """The latest application version; ``DBOSException`` if none is recorded."""
    versions = list_application_versions()
    if not versions:
        raise DBOSException("No application versions found")
    return versions[0]


def set_latest_application_version(
    version_name: str, *, application_name: str | None = None
) -> None:
    """Make ``version_name`` the latest version (its timestamp becomes now, above every
    other): workflows with no version (forks, ``enqueue`` from a client) are then run
    by executors of that version. Recording it first if it is not recorded. A roll-back
    or roll-forward switch."""
    rt = runtime()
    rt.store.set_latest_application_version(version_name, application_name, now_ms(rt.clock))
    latest.forget(rt)


async def list_application_versions_async() -> list[VersionInfo]:
    """``DBOS.list_application_versions`` without blocking the loop."""
    return await asyncio.to_thread(list_application_versions)


async def get_latest_application_version_async() -> VersionInfo:
    """``DBOS.get_latest_application_version`` without blocking the loop."""
    return await asyncio.to_thread(get_latest_application_version)


async def set_latest_application_version_async(
    version_name: str, *, application_name: str | None = None
) -> None:
    """``DBOS.set_latest_application_version`` without blocking the loop."""
    await asyncio.to_thread(
        lambda: set_latest_application_version(version_name, application_name=application_name)
    )
