"""Time conventions: timestamps are naive UTC, to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time as naive UTC, without microseconds."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
