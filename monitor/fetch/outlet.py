"""Fetch one outlet end to end: the page or feed, then (for list pages) its new articles."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from datetime import timedelta

import structlog

from monitor.config import OutletConfig, OutletKind, Settings, outlet_zone
from monitor.fetch.feeds import FeedError
from monitor.fetch.http import Fetcher, FetchOutcome, OutcomeKind
from monitor.fetch.jsonfeed import RankedEntry, parse_json_outlet
from monitor.fetch.parsed import ParsedEntry
from monitor.fetch.parsing import FeedParsing, ParseError
from monitor.fetch.urls import canonical_url, url_hash

log = structlog.get_logger("fenghuo.fetch")

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
JSON_ACCEPT = "application/feed+json, application/json;q=0.9, */*;q=0.5"
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

_IN_PROCESS = FeedParsing(workers=0)  # a thread: decoding and parsing never run on the event loop

# Given canonical-URL hashes of candidate articles, answer which are stored already.
KnownFilter = Callable[[list[str]], Awaitable[set[str]]]


@dataclass
class OutletResult:
    outcome: FetchOutcome
    status: str  # outcome kind, or parse_error
    entries: list[ParsedEntry] = field(default_factory=list)
    encoding: str | None = None
    error: str | None = None  # set when the fetch counts as failed
    warnings: list[str] = field(default_factory=list)
    server_hint: timedelta | None = None  # Retry-After or the feed's <ttl>
    ranked: list[RankedEntry] | None = None  # a hot list's snapshot, in rank order


async def fetch_outlet(
    fetcher: Fetcher,
    config: OutletConfig,
    settings: Settings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    known: KnownFilter | None = None,
    parsing: FeedParsing | None = None,
) -> OutletResult:
    accept = {OutletKind.rss: FEED_ACCEPT, OutletKind.page: HTML_ACCEPT}.get(config.kind, JSON_ACCEPT)
    if config.kind is OutletKind.hotlist:
        etag = last_modified = None  # every fetch is a snapshot: a 304 would leave a hole in the history
    outcome = await fetcher.fetch(
        str(config.url), etag=etag, last_modified=last_modified,
        respect_robots=config.respect_robots, accept=accept,
    )
    if outcome.kind is OutcomeKind.not_modified:
        return OutletResult(outcome, outcome.kind.value)
    if not outcome.ok:
        return OutletResult(
            outcome, outcome.kind.value, error=outcome.error, server_hint=outcome.retry_after
        )
    zone = outlet_zone(config, settings)
    parsing = parsing or _IN_PROCESS
    deadline = settings.parse_timeout.total_seconds()
    if config.kind is OutletKind.rss:
        try:
            feed = await parsing.parse(
                outcome.body, url=outcome.url, zone=zone, content_type=outcome.content_type,
                encoding_override=config.encoding, deadline=deadline,
            )
        except (FeedError, ParseError) as error:
            return OutletResult(outcome, "parse_error", error=str(error))
        return OutletResult(
            outcome, outcome.kind.value, feed.entries, feed.encoding.encoding,
            warnings=_ignored(outcome.url, feed.encoding.ignored) + feed.warnings,
            server_hint=feed.ttl,
        )
    if config.kind in (OutletKind.json, OutletKind.hotlist):
        try:
            # Through the parse pool like feeds and pages: off the event loop, and killed past
            # its deadline (issue #18).
            parsed = await parsing.run(partial(
                parse_json_outlet, outcome.body, url=outcome.url, zone=zone, mapping=config.mapping,  # type: ignore[arg-type]
                content_type=outcome.content_type, encoding_override=config.encoding,
            ), url=outcome.url, deadline=deadline)
        except (FeedError, ParseError) as error:
            return OutletResult(outcome, "parse_error", error=str(error))
        ranked = parsed.ranked if config.kind is OutletKind.hotlist else None
        return OutletResult(
            outcome, outcome.kind.value, parsed.entries, parsed.encoding, warnings=parsed.warnings, ranked=ranked
        )
    return await _fetch_list_page(fetcher, config, settings, outcome, zone, known, parsing)


def _ignored(url: str, labels: tuple[str, ...]) -> list[str]:
    return [
        f"{url}: charset {label} ignored: not a text encoding we accept" for label in labels
    ]


async def _fetch_list_page(fetcher, config, settings, outcome, zone, known, parsing) -> OutletResult:
    selectors = config.selectors
    deadline = settings.parse_timeout.total_seconds()
    try:
        page = await parsing.list_page(
            outcome.body, url=outcome.url, zone=zone, content_type=outcome.content_type,
            encoding_override=config.encoding, selectors=selectors.list if selectors else None,
            deadline=deadline,
        )
    except ParseError as error:
        return OutletResult(outcome, "parse_error", error=str(error))
    links = page.links
    warnings: list[str] = _ignored(outcome.url, page.ignored_charsets)
    if not links:
        return OutletResult(
            outcome, "parse_error", encoding=page.encoding, warnings=warnings,
            error="no article links found on the list page (selectors out of date?)",
        )
    by_hash = {url_hash(canonical_url(link.url)): link for link in links}
    stored = await known(list(by_hash)) if known else set()
    fresh = [link for hashed, link in by_hash.items() if hashed not in stored]
    fresh = fresh[: settings.max_articles_per_fetch]

    article_selectors = selectors.article if selectors else None

    async def one(link) -> ParsedEntry | None:
        fetched = await fetcher.fetch(link.url, respect_robots=config.respect_robots, accept=HTML_ACCEPT)
        if not fetched.ok:
            warnings.append(f"article {link.url}: {fetched.error or fetched.kind.value}")
            return None
        try:
            parsed = await parsing.article(
                fetched.body, url=fetched.url, zone=zone, content_type=fetched.content_type,
                encoding_override=config.encoding, selectors=article_selectors, deadline=deadline,
            )
        except ParseError as error:
            warnings.append(f"article {link.url}: {error}")
            return None
        warnings.extend(_ignored(fetched.url, parsed.ignored_charsets))
        article = parsed.article
        return ParsedEntry(
            url=link.url,
            title=article.title or link.title,
            text=article.text,
            published_at=article.published_at or link.published_at,
            author=article.author,
            source=article.source,
        )

    entries = [entry for entry in await asyncio.gather(*(one(link) for link in fresh)) if entry]
    return OutletResult(outcome, outcome.kind.value, entries, page.encoding, warnings=warnings)
