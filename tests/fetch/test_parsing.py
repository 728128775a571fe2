"""Feed parsing in worker processes gives the same answers as in-process, and survives crashes."""

from zoneinfo import ZoneInfo

import pytest

from monitor.fetch.feeds import FeedError
from monitor.fetch.parsing import FeedParsing
from tests.conftest import FIXTURES

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def parse_with(parsing: FeedParsing, body: bytes):
    return await parsing.parse(
        body, url="http://example.invalid/news/rss.xml", zone=SHANGHAI, content_type=None,
        encoding_override=None,
    )


async def test_pool_and_in_process_parse_alike():
    body = (FIXTURES / "feeds" / "relative_links.xml").read_bytes()
    pool = FeedParsing(workers=1)
    try:
        in_pool = await parse_with(pool, body)
    finally:
        pool.close()
    in_process = await parse_with(FeedParsing(workers=0), body)
    assert in_pool.entries == in_process.entries
    assert in_pool.ttl == in_process.ttl


async def test_feed_errors_cross_the_process_boundary():
    pool = FeedParsing(workers=1)
    try:
        with pytest.raises(FeedError, match="no feed found"):
            await parse_with(pool, b"<html><body>not a feed</body></html>")
    finally:
        pool.close()
