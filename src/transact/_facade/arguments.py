"""Argument checks shared by the facade's operations (``ValueError`` naming the argument)."""

from __future__ import annotations

import math


def check_timeout(value: float, what: str) -> float:
    """``value`` as a float; ``ValueError`` if it is negative or not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return float(value)


def check_polling_interval(value: float) -> float:
    """A polling interval: a finite number of at least 0.001 seconds (DBOS's check)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value >= 0.001)
    ):
        raise ValueError(
            f"polling_interval_sec must be a finite number at least 0.001 seconds, got {value}"
        )
    return float(value)


def check_key(key: str, what: str) -> str:
    """``key`` if it is a non-empty string; ``ValueError`` otherwise."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"{what} must be a non-empty string, got {key!r}")
    return key


def check_topic(topic: str | None) -> str | None:
    """``topic`` if it is None or a string; ``ValueError`` otherwise."""
    if topic is not None and not isinstance(topic, str):
        raise ValueError(f"topic must be a string or None, got {topic!r}")
    return topic


def check_workflow_id(workflow_id: str, what: str = "workflow_id") -> str:
    """``workflow_id`` if it is a non-empty string; ``ValueError`` otherwise."""
    return check_key(workflow_id, what)


def check_offset(offset: int) -> int:
    """``offset`` if it is a non-negative int; ``ValueError`` otherwise."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative integer, got {offset!r}")
    return offset
