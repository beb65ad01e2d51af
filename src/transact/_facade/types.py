"""DBOS's plain value types: the shapes its API returns or takes, with no behaviour.

``VersionInfo`` (an application version), ``KafkaMessage`` (what a Kafka consumer
workflow receives) and ``DuplicationPolicy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

DuplicationPolicy = Literal["reject", "return-existing"]
"""What enqueueing does when the deduplication id is held: raise, or return the holder."""


class VersionInfo(TypedDict):
    """One application version of the system database (``list_application_versions``).

    Timestamps are epoch milliseconds; the latest version is the one with the newest
    ``version_timestamp``.
    """

    version_id: str
    version_name: str
    version_timestamp: int
    created_at: int
    application_name: str | None


@dataclass
class KafkaMessage:
    """A Kafka record as DBOS hands it to a ``@DBOS.kafka_consumer`` workflow.

    ``transact`` has no Kafka consumer (see ``docs/design.md``, Departures); the type is
    here so that code naming it imports.
    """

    headers: list[tuple[str, str | bytes]] | None
    key: str | bytes | None
    latency: float | None
    leader_epoch: int | None
    offset: int | None
    partition: int | None
    timestamp: tuple[int, int]
    topic: str | None
    value: Any
