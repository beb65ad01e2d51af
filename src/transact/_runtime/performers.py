"""The performers: one immutable table from each effect type to the functions that
execute it and, for a few, replay it.

Each handler module declares its own rows (its ``PERFORMERS``); this module, the only
one that imports the handler modules, joins them. The interpreter reads the table from
``state.env.performers`` (the Runtime builds its ``Env`` with it), so nothing is
registered by importing a package and a test may hand in a table of its own. An effect
without a replay function replays its recorded outcome (``replay_outcome``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from transact._core.effects import Effect
from transact._runtime.env import Performer, Performers
from transact._runtime.handlers import (
    bulk_messages,
    children,
    events,
    messages,
    operations,
    queries,
    revisions,
    sleep,
    steps,
    streams,
    transactions,
)

_MODULES = (
    steps,
    transactions,
    sleep,
    children,
    messages,
    bulk_messages,
    events,
    streams,
    queries,
    operations,
    revisions,
)


def _join() -> dict[type[Effect[Any]], Performer]:
    table: dict[type[Effect[Any]], Performer] = {}
    for module in _MODULES:
        for effect, performer in module.PERFORMERS.items():
            if effect in table:
                raise RuntimeError(f"two performers for {effect.__name__}")
            table[effect] = performer
    return table


PERFORMERS: Performers = MappingProxyType(_join())
