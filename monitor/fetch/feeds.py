"""RSS and Atom entries via feedparser, with our own decoding and our own time zones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

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

    entries: list[ParsedEntry] = []
    seen_links: set[str] = set()
    seen_guids: set[str] = set()
    for raw in parsed.entries:
        entry = _entry(raw, zone)
        if entry is None:
            warnings.append(f"entry without a link skipped: {raw.get('title', '')[:60]!r}")
            continue
        if entry.url in seen_links:  # the same entry twice in one feed
            continue
        # Duplicate GUIDs on different links happen (templated feeds, CMS bugs): the link,
        # which is what items are keyed on, keeps them apart.
        if entry.guid and entry.guid in seen_guids:
            warnings.append(f"duplicate guid {entry.guid!r}; entries kept apart by link")
        seen_links.add(entry.url)
        if entry.guid:
            seen_guids.add(entry.guid)
        entries.append(entry)
    if not entries and parsed.bozo:
        raise FeedError(f"malformed feed: {parsed.bozo_exception}; no usable entry")

    ttl = None
    ttl_text = parsed.feed.get("ttl")
    if ttl_text and str(ttl_text).strip().isdigit():
        ttl = timedelta(minutes=int(str(ttl_text).strip()))
    return ParsedFeed(entries, decoded, warnings, ttl)


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

