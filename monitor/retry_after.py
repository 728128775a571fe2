"""Retry-After, read the same way wherever a server or a chat vendor asks us to wait.

A neutral module: the fetcher (monitor/fetch) and the delivery worker (monitor/alerts) both honour
the header, and neither should import the other to do so.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta


def parse_retry_after(value: str | None, now: datetime | None = None) -> timedelta | None:
    """Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(timedelta(0), when - (now or datetime.now(UTC)))
