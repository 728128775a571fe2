"""RSS and Atom entries via feedparser, with our own decoding and our own time zones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlsplit

import feedparser
from selectolax.lexbor import LexborHTMLParser

from monitor.fetch.encoding import Decoded, decode_body
from monitor.fetch.parsed import ParsedEntry
from monitor.fetch.times import parse_time


class FeedError(ValueError):
    """The body is not a feed we can read at all (not XML, no entries, an HTML page)."""


@dataclass
class ParsedFeed:
    entries: list[ParsedEntry]
    encoding: Decoded
    warnings: list[str] = field(default_factory=list)
    ttl: timedelta | None = None  # RSS <ttl>: the publisher's own refresh hint


_PROLOG_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*["'][^"']*["']""")


def parse_feed(
    body: bytes,
    *,
    url: str,
    zone: tzinfo,
    content_type: str | None = None,
    encoding_override: str | None = None,
) -> ParsedFeed:
    decoded = decode_body(body, content_type, encoding_override)
    # Hand feedparser UTF-8 bytes that say so, so its own RFC 3023 charset rules cannot undo ours.
    utf8 = _PROLOG_ENCODING.sub(rb"\1", decoded.text.encode("utf-8"), count=1)
    parsed = feedparser.parse(
        utf8,
        response_headers={"content-location": url, "content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,
        resolve_relative_uris=False,  # links are resolved anyway; HTML content becomes text
    )
    warnings: list[str] = []
    if not parsed.entries:
        if parsed.bozo:
            raise FeedError(f"malformed feed: {parsed.bozo_exception}")
        if not parsed.get("version"):
            raise FeedError("no feed found in the body (is the URL an HTML page?)")
    if parsed.bozo:
        warnings.append(
            f"malformed feed: {parsed.bozo_exception} (entries recovered by the lenient parser)"
        )

    entries = _distinct(parsed.entries, zone, warnings)
    if not entries and parsed.bozo:
        raise FeedError(f"malformed feed: {parsed.bozo_exception}; no usable entry")

    ttl = None
    ttl_text = parsed.feed.get("ttl")
    if ttl_text and str(ttl_text).strip().isdigit():
        ttl = timedelta(minutes=int(str(ttl_text).strip()))
    return ParsedFeed(entries, decoded, warnings, ttl)


def _distinct(raw_entries, zone: tzinfo, warnings: list[str]) -> list[ParsedEntry]:
    """Entries are told apart by guid, then by link and title; nothing is dropped without a
    warning that says which entry and why."""
    entries: list[ParsedEntry] = []
    kept: dict[tuple[str, str], ParsedEntry] = {}  # (link, guid or title) of each kept entry
    by_link: dict[str, ParsedEntry] = {}
    for raw in raw_entries:
        entry = _entry(raw, zone)
        title = _text(raw.get("title", ""))[:60]
        if entry is None:
            warnings.append(f"entry without a link skipped: {title!r}")
            continue
        scheme = urlsplit(entry.url).scheme.lower()
        if scheme not in ("http", "https"):
            # javascript: and data: links are never fetched, stored or shown as a link.
            warnings.append(f"entry with a {scheme or 'schemeless'}: link dropped: {title!r}")
            continue
        key = (entry.url, entry.guid or entry.title)
        if key in kept:
            reason = "same guid and link" if entry.guid else "same link and title, no guid"
            warnings.append(f"repeated entry merged ({reason}): {entry.url} {title!r}")
            continue
        first = by_link.get(entry.url)
        if first is not None:
            # A different entry on the same link (a dated archive page, a templated feed):
            # its own permalink guid keeps it apart in the item store, which keys on URL.
            if entry.guid and entry.guid.startswith(("http://", "https://")) and entry.guid != entry.url:
                entry.url = entry.guid
            else:
                warnings.append(
                    f"distinct entries share the link {entry.url}: {first.title[:40]!r} and "
                    f"{entry.title[:40]!r} (items are keyed by URL; the later one is stored as a repeat)"
                )
        elif entry.guid and any(other.guid == entry.guid for other in entries):
            # Duplicate GUIDs on different links happen (templated feeds, CMS bugs): the link,
            # which is what items are keyed on, keeps them apart.
            warnings.append(f"duplicate guid {entry.guid!r}; entries kept apart by link")
        kept[key] = entry
        by_link.setdefault(entry.url, entry)
        entries.append(entry)
    return entries


def _entry(raw, zone: tzinfo) -> ParsedEntry | None:
    link = raw.get("link") or ""
    guid = raw.get("id") or None
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid
    if not link:
        return None
    html = ""
    if raw.get("content"):
        html = max((part.get("value", "") for part in raw["content"]), key=len)
    html = html or raw.get("summary", "")
    title = _text(raw.get("title", "")).strip()
    text = _text(html).strip()
    published = _published(raw, zone)
    author = (raw.get("author") or "").strip() or None
    return ParsedEntry(
        url=link, title=title or text[:60], text=text, published_at=published,
        author=author[:200] if author else None, guid=guid,
    )


def _published(raw, zone: tzinfo) -> datetime | None:
    for key in ("published", "updated", "created"):
        moment = parse_time(raw.get(key), zone)
        if moment is not None:
            return moment
    # feedparser understands more formats than we do, but reads a missing zone as UTC.
    for key in ("published_parsed", "updated_parsed"):
        parsed = raw.get(key)
        if parsed:
            return datetime(*parsed[:6], tzinfo=UTC)
    return None


def _text(html: str) -> str:
    if "<" not in html and "&" not in html:
        return html
    tree = LexborHTMLParser(f"<body>{html}</body>")
    for node in tree.css("script, style"):
        node.decompose()
    blocks = [line.strip() for line in tree.body.text(separator="\n").splitlines()] if tree.body else []
    return "\n".join(line for line in blocks if line)

