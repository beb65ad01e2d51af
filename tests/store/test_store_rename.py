"""``Store.rename_application``, the same on every store: which rows change owner, the
counts, batches of one transaction each, and a version name the new owner holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.store.test_store_conformance import ENQUEUED, PENDING, SUCCESS, add, row, wf
from transact._store.protocol import Store
from transact._store.records import Reowned
from transact._store.sql.engine.backend import Mode
from transact._store.sql.store import SQLStore


def _apps(store: Store, *workflow_ids: str) -> list[str | None]:
    return [row(store, w).application_name for w in workflow_ids]


def _owned(store: Store) -> None:
    add(
        store,
        wf("old-1", SUCCESS, application_name="old-app", updated_at=5),
        wf("old-2", PENDING, application_name="old-app"),
        wf("old-3", ENQUEUED, queue_name="q", application_name="old-app"),
        wf("free-1", SUCCESS),
        wf("free-2", PENDING),
        wf("other", SUCCESS, application_name="other-app"),
    )


def test_rename_re_owns_the_old_names_rows_only(store: Store) -> None:
    _owned(store)
    done = store.rename_application("old-app", "new-app", adopt_unclaimed=False, batch_size=10)
    assert done == Reowned(workflows=3, versions=0)
    assert _apps(store, "old-1", "old-2", "old-3") == ["new-app"] * 3
    assert _apps(store, "free-1", "free-2", "other") == [None, None, "other-app"]
    # Only the owner changes: the run's status and times are as they were.
    assert (row(store, "old-1").status, row(store, "old-1").updated_at) == (SUCCESS, 5)
    assert row(store, "old-3").queue_name == "q"
    # Done once: a second call finds nothing left.
    again = store.rename_application("old-app", "new-app", adopt_unclaimed=False, batch_size=10)
    assert again == Reowned(workflows=0, versions=0)


def test_rename_adopts_unclaimed_rows(store: Store) -> None:
    _owned(store)
    done = store.rename_application(None, "new-app", adopt_unclaimed=True, batch_size=10)
    assert done == Reowned(workflows=2, versions=0)
    assert _apps(store, "free-1", "free-2") == ["new-app"] * 2
    assert _apps(store, "old-1", "other") == ["old-app", "other-app"]
    both = store.rename_application("old-app", "new-app", adopt_unclaimed=True, batch_size=10)
    assert both == Reowned(workflows=3, versions=0)
    assert set(_apps(store, "old-1", "old-2", "old-3", "free-1")) == {"new-app"}


def test_rename_without_an_owner_to_take_from_does_nothing(store: Store) -> None:
    _owned(store)
    done = store.rename_application(None, "new-app", adopt_unclaimed=False, batch_size=10)
    assert done == Reowned(workflows=0, versions=0)
    assert _apps(store, "old-1", "free-1") == ["old-app", None]


def test_rename_refuses_an_empty_batch(store: Store) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        store.rename_application("a-app", "b-app", adopt_unclaimed=False, batch_size=0)


def _count_writes(store: Store) -> Callable[[], int]:
    """How many write transactions the store ran since now (0 forever on memory)."""
    if not isinstance(store, SQLStore):
        return lambda: 0
    calls: list[Mode] = []
    backend = store.backend
    original = backend.run

    def counted(mode: Mode, work: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(mode)
        return original(mode, work, *args, **kwargs)

    backend.run = counted  # type: ignore[method-assign]
    return lambda: calls.count(Mode.WRITE)


def test_rename_works_in_batches_of_one_transaction(store: Store) -> None:
    add(store, *(wf(f"w-{n}", SUCCESS, application_name="old-app") for n in range(5)))
    for n in range(3):
        store.register_application_version(f"v{n}", "old-app", 100 + n)
    writes = _count_writes(store)
    done = store.rename_application("old-app", "new-app", adopt_unclaimed=False, batch_size=2)
    assert done == Reowned(workflows=5, versions=3)
    assert set(_apps(store, *(f"w-{n}" for n in range(5)))) == {"new-app"}
    if isinstance(store, SQLStore):
        # Workflows: 2 + 2 + 1, then an empty batch; versions: 2 + 1, then an empty one.
        assert writes() == 4 + 3


def test_rename_merges_a_version_name_the_new_owner_holds(store: Store) -> None:
    store.register_application_version("v1", "old-app", 100)
    store.register_application_version("v2", "old-app", 300)
    store.register_application_version("v1", "new-app", 200)
    store.register_application_version("v1", None, 400)
    store.register_application_version("v3", None, 500)
    held = {v.version_name: v for v in store.list_application_versions("new-app")}["v1"]

    done = store.rename_application("old-app", "new-app", adopt_unclaimed=True, batch_size=10)
    # Every row left its owner: two moved, two merged into the new owner's v1.
    assert done == Reowned(workflows=0, versions=4)
    listed = store.list_application_versions("new-app")
    assert [(v.version_name, v.application_name) for v in listed] == [
        ("v3", "new-app"),
        ("v1", "new-app"),
        ("v2", "new-app"),
    ]
    merged = listed[1]
    # The held row stays (its id), at the latest timestamp of the three (unclaimed v1's).
    assert merged.version_id == held.version_id
    assert merged.version_timestamp == 400
    # Nothing is left to old-app, nor unclaimed.
    assert store.list_application_versions("old-app") == []


def test_rename_keeps_the_old_names_version_over_an_unclaimed_one(store: Store) -> None:
    store.register_application_version("v1", None, 100)
    store.register_application_version("v1", "old-app", 200)
    mine = store.list_application_versions("old-app")
    old_v1 = next(v for v in mine if v.application_name == "old-app")
    done = store.rename_application("old-app", "new-app", adopt_unclaimed=True, batch_size=1)
    assert done == Reowned(workflows=0, versions=2)
    [only] = store.list_application_versions("new-app")
    assert (only.version_id, only.application_name) == (old_v1.version_id, "new-app")
    assert only.version_timestamp == old_v1.version_timestamp
