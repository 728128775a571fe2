"""JSON outlets: JSON Feed 1.1 (what RSSHub serves with ?format=json) and any JSON API read
through a declarative JMESPath mapping (config.JsonMapping), including ranked hot lists.

Errors follow the feed parser's rule: a body we cannot read at all is a :class:`JsonFeedError`
(a FeedError, so the outlet shows ``parse_error`` with the reason); an entry we cannot read is
skipped with a warning naming it, and the others are kept. Nothing is dropped silently.

What counts as unreadable: not JSON (an HTML block page, a login wall, a truncated body), nesting
too deep to parse, the list expression finding no list (the platform changed its shape, or
answered with an error object such as Bilibili's ``{"code": -412}``), or no entry usable at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import jmespath
from jmespath.exceptions import JMESPathError

from monitor.config import JsonMapping
from monitor.fetch.encoding import decode_body
from monitor.fetch.feeds import FeedError, _text
from monitor.fetch.parsed import ParsedEntry
from monitor.fetch.times import parse_time

# A hot list has 50 entries, a JSON Feed a few dozen; a list of 100k "entries" is a wrong
# expression or a hostile body, and storing it would flood the item table.
MAX_ENTRIES = 1000
_WARNED_ENTRIES = 5  # name at most this many skipped entries per reason, then count the rest


class JsonFeedError(FeedError):
    """The body is not JSON we can read at all, or the mapping finds no list in it."""


@dataclass
class RankedEntry:
    """One line of a hot-list snapshot."""

    rank: int
    title: str
    url: str
    heat: float | None = None


@dataclass
class ParsedJson:
    entries: list[ParsedEntry]
    encoding: str
    ranked: list[RankedEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_json_outlet(
    body: bytes,
    *,
    url: str,
    zone: tzinfo,
    mapping: JsonMapping | None,
    content_type: str | None = None,
    encoding_override: str | None = None,
) -> ParsedJson:
    """A JSON Feed when there is no mapping, else the mapped API."""
    document, encoding = _load(body, content_type, encoding_override)
    if mapping is None:
        return _json_feed(document, url=url, zone=zone, encoding=encoding)
    return _mapped(document, mapping, url=url, zone=zone, encoding=encoding)


def _load(body: bytes, content_type: str | None, override: str | None) -> tuple[Any, str]:
    # RFC 8259 §8.1 says UTF-8, but Chinese APIs have been seen serving GBK; decode as for pages.
    decoded = decode_body(body, content_type, override)
    text = decoded.text.lstrip("\ufeff")
    if not text.strip():
        raise JsonFeedError("empty body where JSON was expected")
    try:
        return json.loads(text), decoded.encoding
    except RecursionError:
        raise JsonFeedError("JSON nested too deeply to read (a hostile or broken body)") from None
    except json.JSONDecodeError as error:
        start = text.lstrip()[:200].lower()
        if start.startswith("<"):
            hint = "an HTML page came back instead of JSON (a block, login or error page?)"
            if "rsshub" in start or "rsshub" in text[:20000].lower():
                hint = "an RSSHub error page came back instead of JSON"
            raise JsonFeedError(hint) from None
        raise JsonFeedError(
            f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None


# ---------------------------------------------------------------------------------------------
# JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/); 1.0 feeds are read too (author, numeric ids).


def _json_feed(document: Any, *, url: str, zone: tzinfo, encoding: str) -> ParsedJson:
    if not isinstance(document, dict):
        raise JsonFeedError(f"a JSON Feed is an object, this body is a JSON {_kind(document)}")
    version = document.get("version")
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise JsonFeedError(
            "not a JSON Feed (no 'version': https://jsonfeed.org/version/1.1); "
            "for another JSON API give the outlet a 'mapping'"
        )
    items = document.get("items")
    if not isinstance(items, list):
        raise JsonFeedError(f"JSON Feed 'items' is {_kind(items)}, not a list")
    base = _string(document.get("home_page_url")) or _string(document.get("feed_url")) or url
    feed_authors = _authors(document)
    skipped = _Skipped()
    entries: list[ParsedEntry] = []
    seen: set[str] = set()
    for position, item in enumerate(items[:MAX_ENTRIES], start=1):
        if not isinstance(item, dict):
            skipped.add("not an object", f"#{position}")
            continue
        guid = item.get("id")
        guid = str(guid) if isinstance(guid, (str, int)) and not isinstance(guid, bool) else None
        link = _string(item.get("url")) or _string(item.get("external_url"))
        if not link and guid and guid.startswith(("http://", "https://")):
            link = guid
        label = _string(item.get("title")) or guid or f"#{position}"
        if not link:
            skipped.add("no url", repr(label[:40]))
            continue
        link = urljoin(base, link)
        if urlsplit(link).scheme not in ("http", "https"):
            skipped.add("not an http(s) link", repr(label[:40]))
            continue
        html = _string(item.get("content_html"))
        text = _string(item.get("content_text")) or (_text(html) if html else "") or _string(item.get("summary"))
        title = _text(_string(item.get("title"))).strip() or text.strip()[:60]
        if not title:
            skipped.add("no title or text", link)
            continue
        if (guid or link) in seen:
            skipped.add("repeated id", repr(title[:40]))
            continue
        seen.add(guid or link)
        authors = _authors(item) or feed_authors
        entries.append(
            ParsedEntry(
                url=link, title=title[:1000], text=text.strip(),
                published_at=_time(item.get("date_published"), zone) or _time(item.get("date_modified"), zone),
                author=", ".join(authors)[:200] or None, guid=guid,
            )
        )
    warnings = skipped.warnings(len(items))
    if len(items) > MAX_ENTRIES:
        warnings.append(f"{len(items)} entries in the feed; the first {MAX_ENTRIES} read")
    if items and not entries:
        raise JsonFeedError(f"no usable entry in the JSON Feed: {'; '.join(warnings)}")
    return ParsedJson(entries, encoding, warnings=warnings)


def _authors(holder: dict) -> list[str]:
    found = holder.get("authors")
    if not isinstance(found, list):
        found = [holder.get("author")]  # JSON Feed 1.0
    return [a["name"].strip() for a in found if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip()]


# ---------------------------------------------------------------------------------------------
# Mapped JSON APIs and hot lists


@lru_cache(maxsize=512)
def _compiled(expression: str):
    return jmespath.compile(expression)


def _search(expression: str | None, data: Any) -> Any:
    if expression is None:
        return None
    return _compiled(expression).search(data)


def _mapped(document: Any, mapping: JsonMapping, *, url: str, zone: tzinfo, encoding: str) -> ParsedJson:
    try:
        items = _search(mapping.items, document)
    except JMESPathError as error:
        raise JsonFeedError(f"mapping 'items' ({mapping.items}) failed on this body: {error}") from None
    if not isinstance(items, list):
        top = ", ".join(list(document)[:8]) if isinstance(document, dict) else _kind(document)
        raise JsonFeedError(
            f"mapping 'items' ({mapping.items}) found {_kind(items)}, not a list "
            f"(the API's shape changed, or it answered with an error; the body has: {top})"
        )
    skipped = _Skipped()
    entries: list[ParsedEntry] = []
    ranked: list[RankedEntry] = []
    seen: set[str] = set()
    for position, item in enumerate(items[:MAX_ENTRIES], start=1):
        try:
            values = {
                name: _search(getattr(mapping, name), item)
                for name in ("title", "url", "time", "text", "author", "rank", "heat")
            }
        except JMESPathError as error:  # e.g. join() over a field of the wrong type
            skipped.add(f"mapping failed ({str(error).splitlines()[0]})", f"#{position}")
            continue
        title = _scalar_text(values["title"])
        if not title:
            skipped.add(f"no title at '{mapping.title}'", f"#{position}")
            continue
        link = _scalar_text(values["url"])
        if link:
            link = urljoin(url, link)
        elif mapping.url is None:
            # A list without links (some hot lists): the outlet URL plus the title keeps each
            # entry distinct and stable across snapshots.
            link = f"{url}#{title}"
        if not link or urlsplit(link).scheme not in ("http", "https"):
            skipped.add(f"no http(s) link at '{mapping.url}'", repr(title[:40]))
            continue
        if link in seen:
            skipped.add("repeated link", repr(title[:40]))
            continue
        seen.add(link)
        text = _scalar_text(values["text"])
        entries.append(
            ParsedEntry(
                url=link, title=title[:1000], text="" if text == title else text,
                published_at=_time(values["time"], zone), author=_scalar_text(values["author"])[:200] or None,
            )
        )
        rank = _rank(values["rank"])
        ranked.append(RankedEntry(rank or position, title[:1000], link, parse_heat(values["heat"])))
    warnings = skipped.warnings(len(items))
    if len(items) > MAX_ENTRIES:
        warnings.append(f"{len(items)} entries found; the first {MAX_ENTRIES} read")
    if items and not entries:
        raise JsonFeedError(f"no usable entry through the mapping: {'; '.join(warnings)}")
    return ParsedJson(entries, encoding, ranked=ranked, warnings=warnings)


_HEAT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|亿|[kKwW])?")
_UNITS = {"万": 1e4, "w": 1e4, "W": 1e4, "亿": 1e8, "k": 1e3, "K": 1e3}


def parse_heat(value: Any) -> float | None:
    """A heat score as platforms write it: 1234567, "1234567", "1234 万热度", "3.2亿", "12w"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        match = _HEAT.search(value.replace(",", ""))
        if match:
            return float(match.group(1)) * _UNITS.get(match.group(2) or "", 1)
    return None


def _rank(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value >= 1:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and int(value) >= 1:
        return int(value)
    return None  # missing or 0-based-looking: the position in the list is the rank


def _time(value: Any, zone: tzinfo) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds since 1973
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return moment if 1990 <= moment.year <= 2100 else None
    if isinstance(value, str):
        return parse_time(value, zone)
    return None


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""  # lists, objects, null: not a title, a link or a name


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


class _Skipped:
    """Entries skipped, grouped by reason, for one warning per reason."""

    def __init__(self) -> None:
        self.by_reason: dict[str, list[str]] = {}

    def add(self, reason: str, which: str) -> None:
        self.by_reason.setdefault(reason, []).append(which)

    def warnings(self, total: int) -> list[str]:
        lines = []
        for reason, which in self.by_reason.items():
            named = ", ".join(which[:_WARNED_ENTRIES]) + (f" and {len(which) - _WARNED_ENTRIES} more" if len(which) > _WARNED_ENTRIES else "")
            lines.append(f"{len(which)} of {total} entries skipped, {reason}: {named}")
        return lines
