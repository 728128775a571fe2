"""The ready-made hot-list mappings, each read from a recorded-shape response served on 127.0.0.1
(tests/fixtures/hotlists, README there says where each shape comes from), and a hot list's
snapshots stored through the real crawl loop on both engines."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from monitor.config import OutletConfig, OutletKind, load_outlets
from monitor.db import hotlists as hotlist_store
from monitor.db import outlets as outlet_store
from monitor.db.models import HotlistEntry, Item
from monitor.fetch.http import Fetcher
from monitor.fetch.outlet import fetch_outlet
from monitor.presets import ready_mapping_catalogue
from monitor.stages.crawl import Crawler
from tests.conftest import FIXTURES
from tests.farm import Reply

HOTLISTS = FIXTURES / "hotlists"
JSON = {"Content-Type": "application/json; charset=utf-8"}


@pytest.fixture(autouse=True)
def no_robots(farm):
    farm.route("/robots.txt", Reply(404))


def hotlist(farm, mapping: str, path: str | None = None, **extra) -> OutletConfig:
    interval = ready_mapping_catalogue()[mapping].mapping.min_interval
    return OutletConfig(
        id=mapping, name=mapping, kind="hotlist", url=farm.url(path or f"/{mapping}"), tier="social",
        mapping=mapping, interval=extra.pop("interval", interval), **extra,
    )


async def fetch(farm, settings, mapping: str):
    farm.route(f"/{mapping}", Reply(200, (HOTLISTS / f"{mapping}.json").read_bytes(), JSON))
    async with Fetcher(settings) as fetcher:
        result = await fetch_outlet(fetcher, hotlist(farm, mapping), settings)
    assert result.error is None, result.error
    return result


# What each mapping must read from its platform's response: (rank, title, url, heat) per entry.
EXPECTED = {
    "weibo-hot": [
        (1, "某市自来水异味", "https://s.weibo.com/weibo?q=%23某市自来水异味%23", 1823456.0),
        (2, "景区门票涨价引争议", "https://s.weibo.com/weibo?q=%23景区门票涨价引争议%23", 962310.0),
        (3, "冬季供暖开始", "https://s.weibo.com/weibo?q=%23冬季供暖开始%23", 433100.0),  # the ad is gone
    ],
    "baidu-hot": [
        (1, "某市自来水异味 官方回应", "https://www.baidu.com/s?wd=%E6%9F%90%E5%B8%82%E8%87%AA%E6%9D%A5%E6%B0%B4%E5%BC%82%E5%91%B3+%E5%AE%98%E6%96%B9%E5%9B%9E%E5%BA%94&sa=fyb_news", 4955963.0),
        (2, "冬季供暖开始", "https://www.baidu.com/s?wd=%E5%86%AC%E5%AD%A3%E4%BE%9B%E6%9A%96%E5%BC%80%E5%A7%8B&sa=fyb_news", 4944193.0),
        (3, "中星19号卫星成功发射", "https://www.baidu.com/s?wd=中星19号卫星成功发射", 4708012.0),
    ],
    "zhihu-hot": [
        (1, "如何看待某市自来水出现异味？", "https://www.zhihu.com/question/700000001", 18230000.0),
        (2, "景区门票该不该涨价？", "https://www.zhihu.com/question/700000002", 5960000.0),
        (3, "北方供暖季要注意什么？", "https://www.zhihu.com/question/700000003", 980000.0),
    ],
    "toutiao-hot": [
        (1, "某市自来水异味 水务部门通报", "https://www.toutiao.com/trending/7441234567890123456/", 37284510.0),
        (2, "冬季供暖今日开始", "https://www.toutiao.com/trending/7441234567890123999/", 21000000.0),
    ],
    "douyin-hot": [
        (1, "某市自来水异味", "https://www.douyin.com/hot/2001001", 11820035.0),
        (2, "冬季供暖开始啦", "https://www.douyin.com/hot/2001002", 9821123.0),
        (3, "景区门票涨价", "https://www.douyin.com/hot/2001003", 8120000.0),
    ],
    "bilibili-hot": [
        (1, "实探某市自来水：异味从何而来", "https://www.bilibili.com/video/BV1xx411c7mD", 1520033.0),
        (2, "供暖第一天，我家暖气片……", "https://www.bilibili.com/video/BV1yy411c7mE", 880120.0),
    ],
    "newsnow": [
        (1, "某市自来水异味", "https://s.weibo.com/weibo?q=%23%E6%9F%90%E5%B8%82%E8%87%AA%E6%9D%A5%E6%B0%B4%E5%BC%82%E5%91%B3%23", None),
        (2, "景区门票涨价引争议", "https://s.weibo.com/weibo?q=%23%E6%99%AF%E5%8C%BA%E9%97%A8%E7%A5%A8%E6%B6%A8%E4%BB%B7%E5%BC%95%E4%BA%89%E8%AE%AE%23", 960000.0),
        (3, "冬季供暖开始", "https://s.weibo.com/weibo?q=%23%E5%86%AC%E5%AD%A3%E4%BE%9B%E6%9A%96%E5%BC%80%E5%A7%8B%23", None),
    ],
}


def test_every_ready_mapping_has_a_recorded_shape_and_a_test():
    assert set(ready_mapping_catalogue()) == set(EXPECTED)
    for name, ready in ready_mapping_catalogue().items():
        assert (HOTLISTS / f"{name}.json").is_file()
        assert name in (HOTLISTS / "README.md").read_text(encoding="utf-8")
        assert ready.terms and ready.source and ready.mapping.min_interval is not None


@pytest.mark.parametrize("mapping", sorted(EXPECTED))
async def test_ready_mapping_reads_its_platform(farm, settings, mapping):
    result = await fetch(farm, settings, mapping)
    got = [(line.rank, line.title, line.url, line.heat) for line in result.ranked]
    assert got == EXPECTED[mapping]
    # Every line is an item too, for keyword analysis and story grouping.
    assert [entry.url for entry in result.entries] == [line.url for line in result.ranked]
    assert result.warnings == []  # Weibo's promoted entry is filtered by the mapping itself


async def test_entries_carry_text_author_and_time_where_the_platform_gives_them(farm, settings):
    zhihu = (await fetch(farm, settings, "zhihu-hot")).entries
    assert zhihu[0].text == "11月30日起，多位市民反映自来水有异味……"
    assert zhihu[0].published_at == datetime.fromtimestamp(1764546000, UTC)
    bilibili = (await fetch(farm, settings, "bilibili-hot")).entries
    assert bilibili[0].author == "城市观察员"
    douyin = (await fetch(farm, settings, "douyin-hot")).entries
    assert douyin[2].published_at == datetime.fromtimestamp(1764540000, UTC)  # "1764540000", a string
    newsnow = (await fetch(farm, settings, "newsnow")).entries
    assert newsnow[2].published_at == datetime.fromtimestamp(1764540000, UTC)  # milliseconds


async def test_a_changed_shape_is_a_clear_parse_error(farm, settings):
    # Bilibili answers bursts with an error object and no data.list.
    farm.route("/bilibili-hot", Reply(200, b'{"code": -412, "message": "request was banned", "ttl": 1}', JSON))
    async with Fetcher(settings) as fetcher:
        result = await fetch_outlet(fetcher, hotlist(farm, "bilibili-hot"), settings)
    assert result.status == "parse_error"
    assert "data.list" in result.error and "found null, not a list" in result.error
    assert "code, message, ttl" in result.error  # what the body has instead
    assert result.ranked is None


async def test_a_block_page_instead_of_json_says_so(farm, settings):
    page = "<!DOCTYPE html><html><head><title>Sina Visitor System</title></head><body>…</body></html>"
    farm.route("/weibo-hot", Reply(200, page.encode(), {"Content-Type": "text/html"}))
    async with Fetcher(settings) as fetcher:
        result = await fetch_outlet(fetcher, hotlist(farm, "weibo-hot"), settings)
    assert result.status == "parse_error"
    assert "HTML page came back instead of JSON" in result.error


async def test_a_hot_list_never_sends_validators(farm, settings):
    """Each fetch is a snapshot; a 304 would leave a hole in the rank history."""
    farm.route("/weibo-hot", Reply(200, (HOTLISTS / "weibo-hot.json").read_bytes(), {**JSON, "ETag": '"v1"'}))
    async with Fetcher(settings) as fetcher:
        await fetch_outlet(fetcher, hotlist(farm, "weibo-hot"), settings, etag='"v1"')
    headers = dict(farm.requests)["/weibo-hot"]
    assert "if-none-match" not in headers and "application/json" in headers["accept"]


def test_outlet_file_names_a_mapping_and_keeps_to_its_pace(tmp_path):
    path = tmp_path / "outlets.yaml"
    path.write_text(
        "outlets:\n"
        "  - {id: weibo, name: 微博热搜, kind: hotlist, url: 'https://weibo.com/ajax/side/hotSearch',"
        " tier: social, mapping: weibo-hot, interval: 5m}\n",
        encoding="utf-8",
    )
    (outlet,) = load_outlets(path)
    assert outlet.kind is OutletKind.hotlist and outlet.mapping.preset == "weibo-hot"
    # Snapshots at a steady pace: the adaptive interval would stretch the gaps time is measured over.
    assert outlet.min_interval == outlet.max_interval == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("kind: hotlist, mapping: weibo-hot, interval: 30s",
         "field '': interval must be at least 2m for weibo-hot: the platform blocks faster polling"),
        ("kind: hotlist, mapping: weibo-hots", "no ready-made mapping 'weibo-hots'; known: baidu-hot"),
        ("kind: hotlist", "a hotlist outlet needs a 'mapping'"),
        ("kind: rss, mapping: weibo-hot", "'mapping' is for kind json or hotlist, not rss"),
        ("kind: json, mapping: {items: 'data[', title: t}", "items: not a JMESPath expression: 'data['"),
        ("kind: json, mapping: {items: data, titel: t}", "field 'mapping.titel': Extra inputs are not permitted"),
    ],
)
def test_mapping_mistakes_name_the_outlet_and_the_problem(tmp_path, entry, message):
    from monitor.config import ConfigError

    path = tmp_path / "outlets.yaml"
    path.write_text(
        f"outlets:\n  - {{id: hot, name: 热榜, url: 'https://example.org/api', tier: social, {entry}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_outlets(path)
    assert "outlet 'hot' (#1)" in str(raised.value)
    assert message.replace("field '': ", "") in str(raised.value)


async def test_snapshots_are_stored_through_the_crawl_loop(farm, db_settings, sessions, clock):
    """Two fetches five minutes apart: ranks kept per snapshot, entries stored once as items."""
    body = (HOTLISTS / "weibo-hot.json").read_bytes()
    farm.route("/weibo-hot", Reply(200, body, JSON))
    config = hotlist(farm, "weibo-hot", interval="5m")
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[config], now=clock.now())
    start = clock.now()
    async with Fetcher(db_settings) as fetcher:
        crawler = Crawler(db_settings, sessions, fetcher, clock)
        (first,) = await crawler.run_due(ignore_schedule=True)
        clock.advance(timedelta(minutes=5))
        (second,) = await crawler.run_due(ignore_schedule=True)
        crawler.close()
    assert (first.status, first.new_items, second.new_items) == ("ok", 3, 0)
    assert first.next_fetch_at == start + timedelta(minutes=5)  # a steady pace, not the adaptive one
    with sessions() as session:
        status = hotlist_store.hotlist_status(session, terms=["自来水", "异味"])
        assert (status.on_hotlist, status.best_rank, status.minutes_on_list) == (True, 1, 5.0)
        assert session.scalar(select(HotlistEntry.snapshots).where(HotlistEntry.title == "冬季供暖开始")) == 2
        assert len(list(session.scalars(select(Item)))) == 3


def test_the_social_example_file_is_valid_and_uses_every_hot_list():
    outlets = load_outlets(FIXTURES.parent.parent / "examples" / "outlets-social.yaml")
    used = {outlet.mapping.preset for outlet in outlets if outlet.kind is OutletKind.hotlist}
    assert used == set(ready_mapping_catalogue())
    assert {outlet.tier.value for outlet in outlets} >= {"social", "self_media"}
