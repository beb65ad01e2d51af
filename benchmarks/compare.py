"""``make bench-compare``: the same workloads on transact and on the released ``dbos``
package, back to back, on SQLite and Postgres; one table with each figure and the ratio.

``python benchmarks/compare.py [--db sqlite,postgres] [--no-write]``. The ``dbos``
package lives in ``.venv-dbos`` (``make bench-compare`` creates it); the workloads are
``compare_workloads.py``, one file written against DBOS's API and run by both. Each
library gets a fresh database per run. The table is printed and, unless
``--no-write``, written to ``benchmarks/COMPARE.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "benchmarks" / "compare_workloads.py"
PYTHONS = {
    "transact": ROOT / ".venv" / "bin" / "python",
    "dbos": ROOT / ".venv-dbos" / "bin" / "python",
}
POSTGRES = os.environ.get(
    "TRANSACT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def fresh_url(db: str, library: str, folder: Path) -> str:
    """An empty system database for one run."""
    if db == "sqlite":
        return f"sqlite:///{folder}/{library}.sqlite"
    name = f"bench_compare_{library}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}"


def run(library: str, url: str) -> dict[str, float]:
    done = subprocess.run(
        [str(PYTHONS[library]), str(WORKLOADS), library, url],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"{library} on {url} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def advantage(name: str, ours: float, theirs: float) -> float:
    """How many times better transact's figure is (a latency: theirs over ours)."""
    return theirs / ours if name.endswith("(ms)") else ours / theirs


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        "| Workload | DB | transact | dbos | transact's advantage |",
        "|---|---|---|---|---|",
    ]
    for db, by_library in results.items():
        ours, theirs = by_library["transact"], by_library["dbos"]
        for name in ours:
            ratio = advantage(name, ours[name], theirs[name])
            lines.append(
                f"| {name} | {db} | {_shown(ours[name])} | {_shown(theirs[name])} | {ratio:.1f}x |"
            )
    return "\n".join(lines)


def _shown(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args(argv)
    version = subprocess.run(
        [str(PYTHONS["dbos"]), "-c", "import importlib.metadata as m; print(m.version('dbos'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for db in options.db.split(","):
            results[db] = {}
            for library in ("transact", "dbos"):
                results[db][library] = run(library, fresh_url(db, library, Path(folder)))
                print(f"{db} {library}: {results[db][library]}", flush=True)
    body = table(results)
    print(body)
    if not options.no_write:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        path = ROOT / "benchmarks" / "COMPARE.md"
        path.write_text(
            f"# transact against DBOS {version}\n\n"
            f"`make bench-compare`, {stamp}, {platform.machine()} with {os.cpu_count()} cores, "
            "one run each, back to back (`benchmarks/compare.py`; the workloads are "
            "`benchmarks/compare_workloads.py`, one file run by both libraries).\n\n"
            f"{body}\n{_commentary(path)}"
        )
    return 0


def _commentary(path: Path) -> str:
    """The hand-written sections after the table (from the first ``## `` heading), kept
    across runs: the figures they quote are for a person to bring up to date."""
    text = path.read_text() if path.exists() else ""
    start = text.find("\n## ")
    return text[start:] if start >= 0 else ""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
