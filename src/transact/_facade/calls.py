"""Helpers shared by the facade's API modules."""

from __future__ import annotations

import datetime
from collections.abc import Sequence


def as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """A filter given as one string or a list, as a tuple (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def iso_to_ms(value: str | datetime.datetime | None, what: str) -> int | None:
    """An ISO-8601 time (naive times are UTC) as epoch milliseconds."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        try:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{what} must be an ISO-8601 time, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)
