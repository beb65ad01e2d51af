"""DBOS members naming something ``transact`` does not do, refused clearly.

Each keeps DBOS's signature, so code that declares it imports and type-checks, and
fails where it is applied with a ``DBOSException`` that says why (``docs/design.md``,
Departures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from transact.errors import DBOSException


def kafka_consumer(
    config: dict[str, Any],
    topics: list[str],
    in_order: bool = False,
    *,
    ordering: Literal["none", "partition", "topic"] | None = None,
    batch_size: int = 250,
    queue_name: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """DBOS's Kafka consumer decorator. ``transact`` has no Kafka integration: applying
    it raises ``DBOSException`` (consume with your Kafka client and start or enqueue a
    workflow per message, with the message's offset in its workflow id)."""

    def refuse(func: Callable[..., Any]) -> Callable[..., Any]:
        raise DBOSException(
            f"DBOS.kafka_consumer on {getattr(func, '__qualname__', func)!r}: transact has "
            "no Kafka integration; start or enqueue a workflow per message from your own "
            "consumer instead"
        )

    return refuse
