"""Whether this executor runs the latest application version, which decides whether it
may run workflows that carry no version (forks, enqueues from a client), as in DBOS.

The answer is read from the store at most once per ``REFRESH_SECONDS`` per runtime (a
queue claim must not cost an extra round trip); ``forget`` drops it after this process
changed the latest version itself.
"""

from __future__ import annotations

import threading
import time
import weakref

from transact._runtime.services import Services

__all__ = ["REFRESH_SECONDS", "forget", "is_latest"]

REFRESH_SECONDS = 1.0

_cache: weakref.WeakKeyDictionary[Services, tuple[float, bool]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def is_latest(runtime: Services) -> bool:
    """True if no version is recorded or the latest one is this executor's."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(runtime)
    if cached is not None and now - cached[0] < REFRESH_SECONDS:
        return cached[1]
    versions = runtime.store.list_application_versions(None)
    latest = not versions or versions[0].version_name == runtime.application_version
    with _lock:
        _cache[runtime] = (now, latest)
    return latest


def forget(runtime: Services) -> None:
    """Read the answer again next time."""
    with _lock:
        _cache.pop(runtime, None)
