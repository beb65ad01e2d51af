"""Step retry policy: how many attempts and how long to wait between them (pure)."""

from __future__ import annotations

import attrs

MAX_RETRY_DELAY_SECONDS = 3600.0


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


@attrs.frozen
class RetryPolicy:
    """DBOS's step retry options. With ``retries_allowed`` False a step runs once."""

    retries_allowed: bool = False
    interval_seconds: float = attrs.field(default=1.0, validator=_positive)
    max_attempts: int = 3
    backoff_rate: float = attrs.field(default=2.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    @property
    def attempts(self) -> int:
        """How many times the step may run."""
        return self.max_attempts if self.retries_allowed else 1

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based)."""
        return min(self.interval_seconds * self.backoff_rate**attempt, MAX_RETRY_DELAY_SECONDS)

    def next_delay(self, attempt: int) -> float | None:
        """After failed attempt ``attempt`` (0-based): seconds to wait before the next
        one, or None to give up (retries not allowed, or that was the last attempt)."""
        if not self.retries_allowed or attempt + 1 >= self.attempts:
            return None
        return self.delay_after(attempt)

    def delays(self) -> tuple[float, ...]:
        """The whole schedule: the wait after each failed attempt but the last."""
        return tuple(self.delay_after(attempt) for attempt in range(self.attempts - 1))


NO_RETRIES = RetryPolicy()
