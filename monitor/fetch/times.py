"""Publication times as outlets write them, made timezone-aware.

Chinese sites write "2024-01-02 10:00", "2024年1月2日 10:00" or "2024/01/02" with no zone; feeds
write RFC 822 or ISO 8601, sometimes without an offset. A time without a zone is taken in the
outlet's zone (Asia/Shanghai unless configured), never silently as UTC.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

_CHINESE_OR_NUMERIC = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT,，]*(?:星期[一二三四五六日天]|周[一二三四五六日天])?[\s,，]*"
    r"(?P<zone>格林尼治标准时间|格林威治标准时间|格林尼治时间|GMT|UTC|北京时间)?\s*"
    r"(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2}))?)?"
)
# A page that says which clock it means ("格林尼治标准时间10:41", BBC) is read in that zone.
_STATED_UTC = frozenset({"格林尼治标准时间", "格林威治标准时间", "格林尼治时间", "GMT", "UTC"})
_SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_time(raw: str | None, zone: tzinfo) -> datetime | None:
    """Parse a published time; None when there is nothing recognisable (never a guess)."""
    if not raw:
        return None
    text = raw.strip()
    if not text:
        return None
    parsed = _iso(text) or _rfc822(text) or _loose(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    parsed = parsed.astimezone(UTC)
    if not 1990 <= parsed.year <= 2100:
        return None
    return parsed


def find_time(text: str, zone: tzinfo) -> datetime | None:
    """The first date-like run in free text (an article's byline), or None."""
    match = _CHINESE_OR_NUMERIC.search(text)
    return _from_match(match, zone) if match else None


def find_time_of_day(text: str, zone: tzinfo) -> tuple[datetime | None, bool]:
    """Like find_time, and whether the text gave a time of day or only a date."""
    match = _CHINESE_OR_NUMERIC.search(text)
    if not match:
        return None, False
    return _from_match(match, zone), match.group("H") is not None


def _iso(text: str) -> datetime | None:
    candidate = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _rfc822(text: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" means "zone unknown" in RFC 5322; parsedate_to_datetime returns it naive.
    return parsed


def _loose(text: str) -> datetime | None:
    match = _CHINESE_OR_NUMERIC.search(text)
    if not match:
        return None
    return _from_match(match, None)


def _from_match(match: re.Match, zone: tzinfo | None) -> datetime | None:
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None and k != "zone"}
    try:
        moment = datetime(
            parts["y"], parts["m"], parts["d"], parts.get("H", 0), parts.get("M", 0), parts.get("S", 0)
        )
    except ValueError:
        return None
    stated = match.group("zone")
    if stated:
        zone = UTC if stated in _STATED_UTC else _SHANGHAI
    if zone is not None:
        return moment.replace(tzinfo=zone).astimezone(UTC)
    return moment
