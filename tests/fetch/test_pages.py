"""Real news pages: the right title, time, author and body; list pages yield article links."""

from datetime import UTC, datetime
from difflib import SequenceMatcher
from zoneinfo import ZoneInfo

from monitor.config import ArticleSelectors, ListSelectors
from monitor.fetch.encoding import decode_body
from monitor.fetch.pages import parse_article, parse_list_page
from tests.conftest import FIXTURES

PAGES = FIXTURES / "pages"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def article(name: str, content_type: str = "text/html"):
    text = decode_body((PAGES / name).read_bytes(), content_type).text
    return parse_article(text, url="http://example.invalid/a.html", zone=SHANGHAI)


def test_article_body_matches_the_expected_text():
    extracted = article("chinese_article.html")
    expected = (PAGES / "chinese_article.expected.txt").read_text(encoding="utf-8").strip()
    assert extracted.title == "港特首梁振英就住宅违建事件道歉"
    assert SequenceMatcher(None, expected, extracted.text).ratio() > 0.95
    assert extracted.text.startswith("香港行政长官梁振英在各方压力下")


def test_article_with_og_meta_yields_title_time_and_author():
    extracted = article("banyuetan_utf8.html")
    assert extracted.title == "益阳：“数字”是优长"
    assert extracted.author == "孔德明"
    # og:release_date "2020-01-02 17:11" carries no zone: it is Beijing time.
    assert extracted.published_at == datetime(2020, 1, 2, 9, 11, tzinfo=UTC)
    assert "益水之阳，是名益阳" in extracted.text


def test_title_loses_the_site_suffix():
    extracted = article("xinhuanet_utf8.html")
    assert extracted.title == "武汉的声音：有英勇的你，才有英雄的城！"
    assert "妈妈，为什么还不能出去" in extracted.text


def test_gb2312_article_with_misleading_first_declaration():
    extracted = article("xinhuanet_gb2312_mixed_decl.html", "text/html; charset=utf-8")
    assert extracted.title == "话剧《约定无期限》河北各市巡演结束"
    assert "一个约定，信守15年" in extracted.text


def test_portal_home_page_yields_headline_links_on_the_same_site():
    html = decode_body((PAGES / "qq_homepage_gb2312.html").read_bytes(), "text/html").text
    links = parse_list_page(html, base_url="http://www.qq.com/", zone=SHANGHAI)
    assert len(links) > 100
    assert all(".qq.com" in link.url for link in links)
    titles = {link.title for link in links}
    assert "习近平寄语中俄青少年" in titles
    assert len({link.url for link in links}) == len(links)


LIST_PAGE = """<html><body><base href="http://gov.invalid/xxgk/">
<ul class="news">
  <li><a href="2026/1123/001.html">关于开展冬季安全生产大检查的通知</a><span class="d">2026-11-23</span></li>
  <li><a href="2026/1122/002.html">市应急管理局召开专题会议</a><span class="d">2026年11月22日</span></li>
</ul>
<div class="nav"><a href="/about.html">关于我们的详细介绍页面</a></div>
</body></html>"""

ARTICLE_PAGE = """<html><head><title>通知 - 某市政府</title></head><body>
<div class="title-box"><h2 class="t">关于开展冬季安全生产大检查的通知</h2>
<p class="meta">发布时间：2026-11-23 16:20　来源：市应急管理局　作者：王某</p></div>
<div class="TRS_Editor"><p>各区县人民政府：</p><p>为切实做好冬季安全生产工作，现就有关事项通知如下。</p></div>
</body></html>"""


def test_configured_selectors_win_over_the_generic_extractor():
    links = parse_list_page(
        LIST_PAGE, base_url="http://gov.invalid/xxgk/index.html", zone=SHANGHAI,
        selectors=ListSelectors(link="ul.news li a", time="span.d"),
    )
    assert [link.url for link in links] == [
        "http://gov.invalid/xxgk/2026/1123/001.html",
        "http://gov.invalid/xxgk/2026/1122/002.html",
    ]
    assert links[1].published_at == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)

    extracted = parse_article(
        ARTICLE_PAGE, url=links[0].url, zone=SHANGHAI,
        selectors=ArticleSelectors(title="h2.t", time="p.meta", body="div.TRS_Editor"),
    )
    assert extracted.title == "关于开展冬季安全生产大检查的通知"
    assert extracted.published_at == datetime(2026, 11, 23, 8, 20, tzinfo=UTC)
    assert extracted.text == "各区县人民政府：\n\n为切实做好冬季安全生产工作，现就有关事项通知如下。"
