"""Feeds as they really come: relative links, missing dates, duplicate GUIDs, broken XML, GBK."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.fetch.feeds import FeedError, parse_feed
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse(name: str, **kwargs):
    body = (FEEDS / name).read_bytes() if isinstance(name, str) else name
    kwargs.setdefault("url", "http://example.invalid/news/rss.xml")
    return parse_feed(body, zone=SHANGHAI, **kwargs)


def test_relative_links_resolve_and_naive_times_are_beijing_time():
    feed = parse("relative_links.xml")
    first, second, undated = feed.entries
    assert first.url == "http://example.invalid/news/2026/11/23/001.html?utm_source=rss&id=1"
    assert second.url == "http://example.invalid/news/detail/002.html"
    assert first.published_at == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 +08:00
    assert second.published_at == datetime(2026, 11, 23, 2, 15, tzinfo=UTC)
    assert undated.published_at is None
    assert first.text == "11月23日，市政府召开常务会议，\n研究部署\n冬季安全生产工作。"
    assert feed.ttl == timedelta(minutes=30)


def test_duplicate_guids_keep_distinct_links_and_drop_true_repeats():
    feed = parse("duplicate_guids.xml")
    assert [entry.url for entry in feed.entries] == [
        "http://forum.invalid/t/101", "http://forum.invalid/t/102",
    ]
    assert any("duplicate guid" in warning for warning in feed.warnings)


def test_malformed_feed_is_recovered_with_a_warning():
    feed = parse("malformed.xml")
    assert [entry.title for entry in feed.entries] == ["食品安全抽检 三批次不合格", "景区门票涨价引发游客不满"]
    assert feed.warnings and feed.warnings[0].startswith("malformed feed:")


def test_atom_entries_with_author_and_html_content():
    (entry,) = parse("atom.xml").entries
    assert entry.author == "张记者"
    assert entry.text == "因电池管理系统缺陷，召回约1.2万辆。"
    assert entry.published_at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_gbk_feed_under_a_utf8_header_decodes():
    xml = (FEEDS / "relative_links.xml").read_text(encoding="utf-8").replace(
        'encoding="utf-8"', 'encoding="gbk"'
    )
    feed = parse(xml.encode("gbk"), content_type="application/rss+xml; charset=utf-8")
    assert feed.encoding.encoding == "gb18030"
    assert feed.entries[0].title == "市政府召开常务会议 研究部署安全生产工作"


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body><p>\xe8\xbf\x99\xe4\xb8\x8d\xe6\x98\xaf feed</p></body></html>", b"\x00\x01garbage"],
    ids=["empty", "html-page", "binary"],
)
def test_non_feeds_are_a_clear_error(body):
    with pytest.raises(FeedError) as raised:
        parse(body)
    assert "feed" in str(raised.value)


def rss(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://archive.invalid/</link>{items}</channel></rss>"
    ).encode()


def parse_bytes(body: bytes):
    return parse_feed(body, url="http://archive.invalid/feed.xml", zone=SHANGHAI)


def test_distinct_entries_sharing_one_link_are_all_kept_and_the_sharing_is_reported():
    """A dated archive feed: three stories of one day, all linking to the day's page."""
    items = "".join(
        f"<item><title>{title}</title><link>http://archive.invalid/2004/12/28//</link></item>"
        for title in ("海啸死亡人数继续上升", "各国援助陆续抵达", "专家解释海啸成因")
    )
    feed = parse_bytes(rss(items))
    assert [entry.title for entry in feed.entries] == ["海啸死亡人数继续上升", "各国援助陆续抵达", "专家解释海啸成因"]
    assert sum("share the link http://archive.invalid/2004/12/28//" in w for w in feed.warnings) == 2


def test_a_permalink_guid_keeps_entries_on_a_shared_link_apart_in_the_item_store():
    items = "".join(
        f"<item><title>第{n}条</title><link>http://archive.invalid/2004/12/28//</link>"
        f"<guid>http://archive.invalid/2004/12/28/{n}.html</guid></item>"
        for n in (1, 2)
    )
    feed = parse_bytes(rss(items))
    assert [entry.url for entry in feed.entries] == [
        "http://archive.invalid/2004/12/28//", "http://archive.invalid/2004/12/28/2.html",
    ]


def test_a_repeated_entry_is_merged_with_a_warning_that_says_why():
    item = "<item><title>同一条</title><link>http://archive.invalid/a/1.html</link></item>"
    feed = parse_bytes(rss(item * 2))
    assert len(feed.entries) == 1
    assert any("repeated entry merged (same link and title, no guid)" in w for w in feed.warnings)


def test_javascript_and_data_links_are_dropped_with_a_warning():
    items = (
        "<item><title>正常的一条</title><link>http://archive.invalid/a/1.html</link></item>"
        "<item><title>脚本链接</title><link>javascript:alert(1)</link></item>"
        "<item><title>数据链接</title><link>data:text/html,hi</link></item>"
    )
    feed = parse_bytes(rss(items))
    assert [entry.url for entry in feed.entries] == ["http://archive.invalid/a/1.html"]
    assert any("javascript: link dropped: '脚本链接'" in w for w in feed.warnings)
    assert any("data: link dropped: '数据链接'" in w for w in feed.warnings)
