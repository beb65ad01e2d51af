"""Several executor processes sharing one system database (SQLite file or Postgres)."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys
import time

import pytest

from transact._store.factory import open_store

APP = pathlib.Path(__file__).with_name("executor_app.py")


def spawn(url: str, executor: str, effects: pathlib.Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(APP), url, executor, str(effects), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.strip()


@pytest.fixture
def shared_url(system_database_url: str) -> str:
    if system_database_url.startswith("memory://"):
        pytest.skip("the memory store does not outlive its process")
    return system_database_url


@pytest.mark.slow
def test_concurrent_starts_of_one_id_run_the_body_once(
    shared_url: str, tmp_path: pathlib.Path
) -> None:
    effects, go = tmp_path / "effects.txt", tmp_path / "go"
    processes = [
        spawn(shared_url, f"exec-{i}", effects, "start", "same-id", "--go-file", str(go))
        for i in range(3)
    ]
    time.sleep(1.0)  # let all three import and launch
    go.touch()
    assert [finish(p) for p in processes] == ["body-2"] * 3
    lines = effects.read_text().split("\n")
    assert sorted(line.split()[0] for line in lines if line) == ["body-1", "body-2"]


@pytest.mark.slow
def test_killed_executor_is_recovered_by_its_successor(
    shared_url: str, tmp_path: pathlib.Path
) -> None:
    effects = tmp_path / "effects.txt"
    victim = spawn(shared_url, "exec-a", effects, "slow", "victim")
    bystander = spawn(shared_url, "exec-b", tmp_path / "other.txt", "start", "other")
    while not effects.exists() or "slow" not in effects.read_text():
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert finish(bystander) == "body-2"  # another executor does not take exec-a's work
    store = open_store(shared_url)
    row = store.get_workflow("victim")
    store.close()
    assert row is not None and row.status == "PENDING" and row.executor_id == "exec-a"

    assert finish(spawn(shared_url, "exec-a", effects, "recover", "victim")) == "fast"
    ran = [line.split()[0] for line in effects.read_text().splitlines()]
    assert ran == ["slow", "slow", "fast"]  # the interrupted step again, then the rest once


@pytest.mark.slow
def test_duplicate_executor_stops_at_the_checkpoint_conflict(
    shared_url: str, tmp_path: pathlib.Path
) -> None:
    """A false recovery: a second process with the same executor id re-runs a workflow the
    first is still running. The later checkpoint write loses; that execution stops and
    records nothing more, and the outcome is recorded once."""
    effects = tmp_path / "effects.txt"
    first = spawn(shared_url, "exec-dup", effects, "slow", "dup")
    while not effects.exists() or "slow" not in effects.read_text():
        time.sleep(0.02)
    second = spawn(shared_url, "exec-dup", effects, "recover", "dup")
    results = sorted([finish(first), finish(second)])
    assert results in (["conflict", "fast"], ["fast", "fast"])
    ran = [line.split() for line in effects.read_text().splitlines()]
    assert [text for text, _ in ran].count("fast") == 1  # the loser never reached step 2
    store = open_store(shared_url)
    try:
        assert [c.function_name for c in store.load_checkpoints("dup")] == ["note", "note"]
        row = store.get_workflow("dup")
        assert row is not None and row.status == "SUCCESS"
    finally:
        store.close()
