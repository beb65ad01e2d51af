"""How long a queue runner waits between two claims of one queue when it is woken.

A pure policy: ``QueueRunner`` (``_runtime/queue_runner.py``) asks :func:`next_claim_gap`
after each claim. A claim costs about the same whatever number of rows it takes (one
transaction, a server-side update, a read of the batch's logs), so under a heavy stream
of enqueues the gap lengthens until each claim gathers about :data:`GATHER_TARGET` rows;
a light one, or the first enqueue after a quiet spell, is claimed as soon as before.
"""

from __future__ import annotations

__all__ = [
    "GATHER_TARGET",
    "GATHER_THRESHOLD",
    "MAX_CLAIM_GAP_SECONDS",
    "MIN_CLAIM_GAP_SECONDS",
    "next_claim_gap",
]

MIN_CLAIM_GAP_SECONDS = 0.01
"""Least time between two claims of one queue by one process when woken: at most that
much latency added during a burst (a claim after a quiet spell runs at once), and a
burst of enqueues is claimed in batches. 10 ms rather than 5: a claim costs the server
as much as its update of the rows it takes (~190 µs for three), and with three worker
processes claims half as frequent took 1,070-1,170/s to 1,180-1,410/s on Postgres and
1,426/s to 2,025/s on SQLite (``make bench``'s queue, interleaved runs)."""

MAX_CLAIM_GAP_SECONDS = 0.04
"""The longest gap: reached after claims that found nothing (other processes took the
rows first: woken by the same announcements, busy processes would otherwise all claim
every few milliseconds and most of them find nothing), or while a steady stream of
enqueues is gathered (:data:`GATHER_TARGET`)."""

GATHER_TARGET = 8
"""Rows a claim should gather under heavy load. With three worker processes on Postgres
and the CPU saturated, claims of 2-4 rows every 10 ms made claiming a large share of each
workflow's cost; gathering took the queue benchmark from 696-734/s to 746-765/s
(interleaved runs, ``benchmarks/PROFILE.md``)."""


GATHER_THRESHOLD = 3
"""Rows a claim must find before the next one waits to gather more. Fewer come from a
rate that the least gap already claims in small batches, where waiting would add latency
and save little: at 100 enqueues a second into one process, a threshold of 2 took the
mean wait in line from 6 to 21 ms; with 3 it stays at 6 ms (and 400 a second wait
10.8 ms instead of 6.3)."""


def next_claim_gap(gap: float, claimed: int, *, gathers: bool) -> float:
    """The least gap before the next claim, after one that took ``claimed`` rows with
    ``gap`` in force.

    - Nothing claimed: the gap doubles, up to :data:`MAX_CLAIM_GAP_SECONDS`.
    - ``gathers`` (the queue has no limit that a completion frees, so claiming later
      delays no workflow that could run now) and at least :data:`GATHER_THRESHOLD`
      rows claimed (they piled up during the gap: the load is heavy): the gap that
      would have gathered :data:`GATHER_TARGET` rows at the rate just seen, within the
      bounds.
    - Otherwise (a lone row, or a limited queue): the least gap.
    """
    if claimed <= 0:
        return min(2 * gap, MAX_CLAIM_GAP_SECONDS)
    if gathers and claimed >= GATHER_THRESHOLD:
        wanted = gap * GATHER_TARGET / claimed
        return min(max(wanted, MIN_CLAIM_GAP_SECONDS), MAX_CLAIM_GAP_SECONDS)
    return MIN_CLAIM_GAP_SECONDS
