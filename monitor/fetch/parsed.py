"""What parsing yields, before storage: plain dataclasses shared by the feed and page parsers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class ParsedEntry:
    url: str
    title: str
    text: str
    published_at: datetime | None = None
    author: str | None = None
    guid: str | None = None
    source: str | None = None  # the outlet a reprint credits (来源：新华社), where the page says


@dataclass
class ListLink:
    """A link found on a list page, to be fetched as an article."""

    url: str
    title: str
    published_at: datetime | None = None
