"""JSON outlets as they really come: JSON Feed 1.1 and 1.0, any JSON API through a mapping, and
everything that goes wrong with them (malformed, huge, wrong shapes and types, block pages)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import JsonMapping, OutletConfig
from monitor.fetch.http import Fetcher
from monitor.fetch.jsonfeed import MAX_ENTRIES, JsonFeedError, parse_heat, parse_json_outlet
from monitor.fetch.outlet import fetch_outlet
from tests.conftest import make_settings
from tests.farm import Reply

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEED_JSON = {"Content-Type": "application/feed+json; charset=utf-8"}


def feed(*items, **top) -> bytes:
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "微博 - 某市发布",
                "home_page_url": "https://weibo.com/123456", "items": list(items), **top}
    return json.dumps(document, ensure_ascii=False).encode()


def parse(body: bytes, mapping: JsonMapping | None = None, **kwargs):
    return parse_json_outlet(body, url="http://rsshub.invalid/weibo/user/123456?format=json",
                             zone=SHANGHAI, mapping=mapping, **kwargs)


@pytest.fixture(autouse=True)
def no_robots(farm):
    farm.route("/robots.txt", Reply(404))


def outlet(farm, path: str, **extra) -> OutletConfig:
    return OutletConfig(id="json", name="json", kind="json", url=farm.url(path), tier="social", **extra)


# --- JSON Feed ------------------------------------------------------------------------------


def test_json_feed_1_1_as_rsshub_serves_it():
    parsed = parse(feed(
        {"id": "https://weibo.com/123456/Pabc", "url": "https://weibo.com/123456/Pabc",
         "title": "【通报】关于自来水异味的情况说明", "content_html": "<p>经排查，<b>异味</b>来自水源地。</p><img src=x>",
         "date_published": "2026-12-01T09:30:00+08:00", "authors": [{"name": "某市发布"}]},
        {"id": "2", "url": "/123456/Pdef", "content_text": "没有标题的微博正文，标题取自正文开头",
         "date_published": "2026-12-01 10:00"},
    ))
    first, second = parsed.entries
    assert (first.title, first.text, first.author) == ("【通报】关于自来水异味的情况说明", "经排查，\n异味\n来自水源地。", "某市发布")
    assert first.published_at == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    assert first.guid == "https://weibo.com/123456/Pabc"
    assert second.url == "https://weibo.com/123456/Pdef"  # relative to home_page_url
    assert second.title == "没有标题的微博正文，标题取自正文开头"
    assert second.published_at == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # naive: Beijing time
    assert parsed.warnings == [] and parsed.ranked == []


def test_json_feed_1_0_author_and_numeric_ids_are_read():
    body = json.dumps({"version": "https://jsonfeed.org/version/1", "author": {"name": "站长"},
                       "items": [{"id": 7, "url": "https://example.org/7", "title": "t", "summary": "摘要"}]}).encode()
    (entry,) = parse(body).entries
    assert (entry.guid, entry.author, entry.text) == ("7", "站长", "摘要")


def test_bad_entries_are_skipped_by_name_and_the_others_kept():
    parsed = parse(feed(
        {"id": "a", "url": "https://example.org/a", "title": "好的条目"},
        {"id": "b", "title": "没有链接"},
        "not an object",
        {"id": "c", "url": "javascript:alert(1)", "title": "脚本链接"},
        {"id": "a", "url": "https://example.org/a", "title": "好的条目"},
        {"id": "d", "url": "https://example.org/d", "title": ["a", "list"], "date_published": 12},
    ))
    assert [entry.url for entry in parsed.entries] == ["https://example.org/a"]
    assert parsed.warnings == [
        "1 of 6 entries skipped, no url: '没有链接'",
        "1 of 6 entries skipped, not an object: #3",
        "1 of 6 entries skipped, not an http(s) link: '脚本链接'",
        "1 of 6 entries skipped, repeated id: '好的条目'",
        "1 of 6 entries skipped, no title or text: https://example.org/d",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body where JSON was expected"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not valid JSON: Expecting value at line 1, column 59"),
        (b"[1, 2, 3]", "a JSON Feed is an object, this body is a JSON list"),
        (b'{"items": []}', "not a JSON Feed (no 'version'"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {"a": 1}}', "JSON Feed 'items' is object, not a list"),
        (b"<html><body>Sina Visitor System</body></html>", "an HTML page came back instead of JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
        (feed({"id": "x"}), "no usable entry in the JSON Feed: 1 of 1 entries skipped, no url: 'x'"),
    ],
    ids=["empty", "truncated", "list", "no-version", "items-object", "html", "deep", "nothing-usable"],
)
def test_unreadable_bodies_are_a_clear_error(body, message):
    with pytest.raises(JsonFeedError) as raised:
        parse(body)
    assert message in str(raised.value)


def test_an_rsshub_error_page_is_named_as_such():
    page = (b"<!DOCTYPE html><html><head><title>RSSHub</title></head><body><h1>Looks like something "
            b"went wrong</h1><p>Error Message:<code>weibo cookie expired</code></p></body></html>")
    with pytest.raises(JsonFeedError, match="an RSSHub error page came back instead of JSON"):
        parse(page)


def test_gbk_json_and_a_byte_order_mark_decode():
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1",
                       "items": [{"id": "1", "url": "https://example.org/1", "title": "食品安全抽检"}]},
                      ensure_ascii=False)
    assert parse(body.encode("gbk"), content_type="application/json; charset=gbk").entries[0].title == "食品安全抽检"
    assert parse(b"\xef\xbb\xbf" + body.encode()).entries[0].title == "食品安全抽检"


def test_more_entries_than_the_cap_are_cut_with_a_warning():
    items = [{"id": str(n), "url": f"https://example.org/{n}", "title": f"条目{n}"} for n in range(MAX_ENTRIES + 5)]
    parsed = parse(feed(*items))
    assert len(parsed.entries) == MAX_ENTRIES
    assert parsed.warnings == [f"{MAX_ENTRIES + 5} entries in the feed; the first {MAX_ENTRIES} read"]


# --- any JSON API through a mapping ---------------------------------------------------------

NEWS_API = JsonMapping(
    items="result.list", title="headline", url="link", time="ts", text="summary", author="editor.name",
)


def test_a_mapped_api_with_the_wrong_types_keeps_what_it_can():
    body = json.dumps({"result": {"list": [
        {"headline": "正常条目", "link": "/news/1", "ts": 1764552600, "summary": "正文", "editor": {"name": "王编辑"}},
        {"headline": 12345, "link": "/news/2", "ts": "2026-12-01 09:00", "editor": "not an object"},
        {"headline": None, "link": "/news/3"},
        {"headline": {"zh": "对象标题"}, "link": "/news/4"},
        {"headline": "链接是数字", "link": 42},
        {"headline": "链接是列表", "link": ["/a"]},
    ]}}).encode()
    parsed = parse(body, NEWS_API)
    assert [(e.title, e.url, e.author) for e in parsed.entries] == [
        ("正常条目", "http://rsshub.invalid/news/1", "王编辑"),
        ("12345", "http://rsshub.invalid/news/2", None),
        ("链接是数字", "http://rsshub.invalid/weibo/user/42", None),
    ]
    assert parsed.entries[0].published_at == datetime.fromtimestamp(1764552600, UTC)
    assert parsed.entries[1].published_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert parsed.warnings == [
        "2 of 6 entries skipped, no title at 'headline': #3, #4",
        "1 of 6 entries skipped, no http(s) link at 'link': '链接是列表'",
    ]


def test_a_mapping_that_finds_no_list_names_what_the_body_has():
    with pytest.raises(JsonFeedError) as raised:
        parse(b'{"error": "token expired", "code": 401}', NEWS_API)
    assert str(raised.value) == (
        "mapping 'items' (result.list) found null, not a list (the API's shape changed, "
        "or it answered with an error; the body has: error, code)"
    )


def test_a_mapping_function_on_the_wrong_type_skips_that_entry_only():
    mapping = JsonMapping(items="data", title="word", url="join('', ['https://example.org/', id])")
    parsed = parse(b'{"data": [{"word": "a", "id": "1"}, {"word": "b", "id": 2}]}', mapping)
    assert [entry.url for entry in parsed.entries] == ["https://example.org/1"]
    assert parsed.warnings[0].startswith("1 of 2 entries skipped, mapping failed (")


@pytest.mark.parametrize(
    ("raw", "heat"),
    [(1823456, 1823456.0), ("4955963", 4955963.0), ("1823 万热度", 18230000.0), ("3.2亿", 3.2e8),
     ("12w", 120000.0), ("1,234", 1234.0), ("热", None), (None, None), (True, None), ([1], None)],
)
def test_heat_as_platforms_write_it(raw, heat):
    assert parse_heat(raw) == heat


# --- through the fetcher: the same politeness, guards and limits as RSS ---------------------


async def test_a_json_outlet_is_fetched_and_parsed(farm, settings):
    farm.route("/feed.json", Reply(200, feed({"id": "1", "url": "https://example.org/1", "title": "标题"}), FEED_JSON))
    async with Fetcher(settings) as fetcher:
        result = await fetch_outlet(fetcher, outlet(farm, "/feed.json"), settings)
    assert (result.status, result.error, result.encoding) == ("ok", None, "utf-8")
    assert [entry.title for entry in result.entries] == ["标题"]
    assert result.ranked is None  # only hot lists are snapshots
    assert "application/feed+json" in dict(farm.requests)["/feed.json"]["accept"]


async def test_a_json_body_over_the_size_cap_is_refused(farm, tmp_path):
    settings = make_settings(tmp_path, max_body_bytes=50_000)
    items = [{"id": str(n), "url": f"https://example.org/{n}", "title": "标题" * 20} for n in range(2000)]
    farm.route("/huge.json", Reply(200, feed(*items), FEED_JSON))
    async with Fetcher(settings) as fetcher:
        result = await fetch_outlet(fetcher, outlet(farm, "/huge.json"), settings)
    assert result.status == "too_large" and "cap is 50000" in result.error


async def test_a_json_outlet_on_a_private_address_is_blocked(farm, tmp_path):
    settings = make_settings(tmp_path, allow_networks=[])
    async with Fetcher(settings) as fetcher:
        result = await fetch_outlet(fetcher, outlet(farm, "/feed.json"), settings)
    assert result.status == "blocked"


async def test_a_malformed_json_outlet_is_a_parse_error_and_keeps_its_validators(farm, settings):
    farm.route("/feed.json", Reply(200, b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": ',
                                   {**FEED_JSON, "ETag": '"v2"'}))
    async with Fetcher(settings) as fetcher:
        result = await fetch_outlet(fetcher, outlet(farm, "/feed.json"), settings, etag='"v1"')
    assert result.status == "parse_error" and result.error.startswith("not valid JSON:")
    # A JSON outlet (unlike a hot list) uses conditional GET like RSS.
    assert dict(farm.requests)["/feed.json"]["if-none-match"] == '"v1"'


def test_interval_and_mapping_validation_for_a_custom_api():
    config = OutletConfig(
        id="api", name="api", kind="json", url="https://example.org/api", tier="social",
        mapping={"items": "data", "title": "t", "min_interval": "5m"}, interval="10m",
    )
    # The mapping's tolerated pace bounds the adaptive interval too.
    assert config.min_interval == timedelta(minutes=5)
