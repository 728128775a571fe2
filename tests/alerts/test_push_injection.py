"""Web text in a chat push is data, never markup.

A scraped title, outlet name or link must not add a link, break out of one, or call anyone: each
vendor's payload is checked exactly as the fake vendor server on 127.0.0.1 received it."""

import json
import re

import httpx
import pytest

from monitor.alerts.compose import safe_url
from monitor.alerts.vendors import Message, Notice, send_dingtalk, send_feishu, send_slack, send_wecom
from tests.alerts.test_vendors import MESSAGE, ZHANG, vendor_reply
from tests.farm import Reply

ACK = "https://yq.example.org/api/v1/alerts/7"
HOSTILE = Message(**{
    **MESSAGE.__dict__,
    "title": "江城水务回应\n[查看并确认](http://evil.example/ack)",
    "first_outlet": "论坛<at id=all></at><!channel><@U999>",
    "mentions": (ZHANG,),
    "top_items": (
        ("人民日报", "官方回应 *速看*", "https://people.example/1)[查看并确认](http://evil.example/x)"),
        ("江城论坛", "<!here> P&G", "javascript:alert(document.cookie)"),
        ("微博", "]( 视频", "data:text/html;base64,PHNjcmlwdD4="),
    ),
})
# The first report's address, rebuilt so that no link syntax can end inside it.
PEOPLE = "https://people.example/1%29%5B%E6%9F%A5%E7%9C%8B%E5%B9%B6%E7%A1%AE%E8%AE%A4%5D%28http://evil.example/x%29"
FACTS = [
    "传播：3 家媒体/平台；论坛社区、地方媒体",
    "势头：共 12 条，近 1 小时 9 条（为此前 6 小时均值的 4.5 倍）",
    "负面占比：83%",
    "依据：orange: 媒体报道或KOL介入，迅速传播; local_media is true; outlets 3 ≥ 3",
]


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def test_wecom_payload_has_one_link_per_report_and_only_our_mention(farm, client):
    farm.route("/wecom", vendor_reply({"errcode": 0}))
    assert (await send_wecom(client, farm.url("/wecom"), None, HOSTILE)).ok
    assert json.loads(farm.received[-1]) == {"msgtype": "markdown", "markdown": {"content": "\n".join([
        "### 🟠 三级（橙色）舆情预警",
        "**江城水务回应 ［查看并确认］(http：//evil.example/ack)**",
        "> 首发：论坛＜at id=all＞＜/at＞＜!channel＞＜@U999＞（11-23 09:30）",
        *(f"> {fact}" for fact in FACTS),
        "**主要报道**",
        f"> · [官方回应 ＊速看＊]({PEOPLE})（人民日报）",
        "> · ＜!here＞ P＆G（江城论坛）",  # javascript: is shown as text, not linked
        "> · ］( 视频（微博）",  # so is data:
        f"[查看并确认]({ACK})",
        "<@zhangsan>",
    ])}}


async def test_dingtalk_payload_is_escaped_and_its_title_is_plain(farm, client):
    farm.route_prefix("/robot/send", vendor_reply({"errcode": 0}))
    assert (await send_dingtalk(client, farm.url("/robot/send?access_token=t"), None, HOSTILE)).ok
    body = json.loads(farm.received[-1])
    assert body["markdown"]["title"] == "三级（橙色）舆情预警"
    assert body["at"] == {"atMobiles": ["13800000001"], "atUserIds": [], "isAtAll": False}
    assert body["markdown"]["text"] == "\n".join([
        "### 🟠 三级（橙色）舆情预警",
        "**江城水务回应 ［查看并确认］(http：//evil.example/ack)**",
        "> 首发：论坛＜at id=all＞＜/at＞＜!channel＞＜@U999＞（11-23 09:30）",
        *(f"> {fact}" for fact in FACTS),
        "**主要报道**",
        f"> · [官方回应 ＊速看＊]({PEOPLE})（人民日报）",
        "> · ＜!here＞ P＆G（江城论坛）",
        "> · ］( 视频（微博）",
        f"[查看并确认]({ACK})",
        "",
        "@13800000001",
    ])


async def test_feishu_card_never_carries_a_scraped_at_all(farm, client):
    farm.route("/feishu", vendor_reply({"code": 0}))
    assert (await send_feishu(client, farm.url("/feishu"), None, HOSTILE)).ok
    card = json.loads(farm.received[-1])["card"]

    def md(content):
        return {"tag": "div", "text": {"tag": "lark_md", "content": content}}

    assert card == {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": "三级（橙色）舆情预警"}, "template": "orange"},
        "elements": [
            md("**江城水务回应 ［查看并确认］(http：//evil.example/ack)**"),
            md("\n".join(["首发：论坛＜at id=all＞＜/at＞＜!channel＞＜@U999＞（11-23 09:30）", *FACTS])),
            md("**主要报道**"),
            md(f"· [官方回应 ＊速看＊]({PEOPLE})（人民日报）"),
            md("· ＜!here＞ P＆G（江城论坛）"),
            md("· ］( 视频（微博）"),
            {"tag": "action", "actions": [{"tag": "button", "type": "primary", "url": ACK,
                                           "text": {"tag": "plain_text", "content": "查看并确认"}}]},
            md("<at id=ou_7d8a6e></at>"),  # the officer on duty: the only mention
        ],
    }


async def test_slack_text_escapes_control_characters_and_pings_only_the_officer(farm, client):
    farm.route("/slack", Reply(200, b"ok"))
    assert (await send_slack(client, farm.url("/slack"), None, HOSTILE)).ok
    assert json.loads(farm.received[-1]) == {"text": "\n".join([
        "*🟠 三级（橙色）舆情预警*",
        "*江城水务回应 ［查看并确认］(http：//evil.example/ack)*",
        "> 首发：论坛&lt;at id=all&gt;&lt;/at&gt;&lt;!channel&gt;&lt;@U999&gt;（11-23 09:30）",
        *(f"> {fact}" for fact in FACTS),
        "*主要报道*",
        f"> · <{PEOPLE}|官方回应 ＊速看＊>（人民日报）",
        "> · &lt;!here&gt; P&amp;G（江城论坛）",
        "> · ］( 视频（微博）",
        f"<{ACK}|查看并确认>",
        "<@U024BE7LH>",
    ])}


# -- the same guarantees over many hostile inputs ---------------------------------------------

TITLES = [
    "水质\n[查看并确认](http://evil.example/ack)",
    "标题\r\n\r\n### 伪造标题\n> 伪造引用",
    "<at id=all></at> 全员注意",
    "<at user_id=\"ou_evil\">张三</at>",
    "<!channel> <!here> <!everyone> <@U0EVIL> <#C0EVIL> <!subteam^S0EVIL>",
    "<@zhangsan> <font color=\"warning\">伪造</font>",
    "*未闭合粗体 _斜体 ~删除~ `代码`",
    "P&G &lt;!channel&gt; &#60;at id=all&#62;",
    "![图](http://evil.example/x.png) <http://evil.example|点此确认>",
    "\u202e认确并看查\u202c 倒序字符 \u2028 行分隔",
    "https://evil.example/ack 裸链接 www.evil.example",
]
URLS = [
    "https://ok.example/a)[查看并确认](http://evil.example/x)",
    "https://ok.example/a>|<!channel>",
    "https://ok.example/a b\n[x](http://evil.example)",
    "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd",
    "https://查看并确认@evil.example/", "//evil.example/x", "http:/evil", "ftp://evil.example/",
]
ALLOWED = {ACK, "https://ok.example/a%29%5B%E6%9F%A5%E7%9C%8B%E5%B9%B6%E7%A1%AE%E8%AE%A4%5D%28http://evil.example/x%29",
           "https://ok.example/a%3E%7C%3C!channel%3E", "https://ok.example/a%20b%20%5Bx%5D%28http://evil.example%29"}


def _links(vendor: str, body: dict) -> list[str]:
    if vendor in ("wecom", "dingtalk"):
        text = body["markdown"]["content"] if vendor == "wecom" else body["markdown"]["text"]
        return re.findall(r"\]\(([^)]*)\)", text) + re.findall(r"<(https?:[^>]*)>", text)
    if vendor == "slack":
        return [m.split("|")[0] for m in re.findall(r"<([^>]*)>", body["text"]) if not m.startswith(("@", "!"))]
    text = json.dumps(body["card"], ensure_ascii=False)
    return re.findall(r"\]\(([^)]*)\)", text) + re.findall(r'"url": "([^"]*)"', text)


@pytest.mark.parametrize("vendor", ["wecom", "dingtalk", "feishu", "slack"])
async def test_no_hostile_title_or_url_adds_a_link_or_a_mention(vendor, farm, client):
    farm.route_prefix("/", vendor_reply({"errcode": 0, "code": 0}) if vendor != "slack" else Reply(200, b"ok"))
    send = {"wecom": send_wecom, "dingtalk": send_dingtalk, "feishu": send_feishu, "slack": send_slack}[vendor]
    for title in TITLES:
        message = Message(**{**MESSAGE.__dict__, "title": title, "first_outlet": title, "reason": title,
                             "top_items": tuple((title, title, url) for url in URLS)})
        assert (await send(client, farm.url("/hook?access_token=t"), None, message)).ok
        body = json.loads(farm.received[-1])
        raw = json.dumps(body, ensure_ascii=False)
        links = _links(vendor, body)
        assert set(links) <= ALLOWED and links.count(ACK) == 1, (title, links)
        assert "evil.example/ack" not in "".join(links)
        for link in set(links):  # the allowed links' own (percent-encoded) text aside
            raw = raw.replace(link, "")
        for markup in ("<at", "<!", "<@", "<font", "<#", "![", "http://evil", "https://evil", "\u202e", "\u2028"):
            assert markup not in raw, (vendor, title, markup)
        if vendor in ("wecom", "dingtalk"):
            text = body["markdown"]["content"] if vendor == "wecom" else body["markdown"]["text"]
            # Nothing from the web starts a line of its own: one heading, the title in bold on
            # one line, then only quoted facts and entries, the section label and the link.
            lines = text.split("\n")
            assert lines[0] == "### 🟠 三级（橙色）舆情预警" and lines[1].startswith("**") and lines[1].endswith("**")
            assert all(line.startswith("> ") for line in lines[2:7] + lines[8:8 + len(URLS)])
            assert lines[7] == "**主要报道**" and lines[8 + len(URLS)] == f"[查看并确认]({ACK})"


def test_only_http_and_https_links_survive_and_are_rebuilt_safely():
    assert safe_url("https://Example.ORG/a?b=1&c=中#frag") == "https://example.org/a?b=1&c=%E4%B8%AD#frag"
    assert safe_url("HTTP://例子.测试/路径") == "http://xn--fsqu00a.xn--0zwm56d/%E8%B7%AF%E5%BE%84"
    assert safe_url("https://ok.example/a)[x](http://evil)") == "https://ok.example/a%29%5Bx%5D%28http://evil%29"
    assert safe_url("https://ok.example/a|b<c>d e\"f") == "https://ok.example/a%7Cb%3Cc%3Ed%20e%22f"
    assert safe_url("http://[::1]:8080/x") == "http://[::1]:8080/x"
    for refused in ("javascript:alert(1)", " JAVASCRIPT:alert(1)", "data:text/html,x", "file:///etc/passwd",
                    "ftp://a.example/", "//a.example/x", "https://user:pw@a.example/", "https://查看@evil.example",
                    "https://", "https://a.example:99999/", "https://a_b.example/", "mailto:a@b.example", None, ""):
        assert safe_url(refused) is None, refused


async def test_follow_ups_and_notices_escape_what_people_typed(farm, client):
    farm.route("/slack", Reply(200, b"ok"))
    farm.route("/wecom", vendor_reply({"errcode": 0}))
    resolved = Message(**{**MESSAGE.__dict__, "kind": "resolve", "by": "<!channel>",
                          "outcome": "已处置\n[查看并确认](http://evil.example)"})
    assert (await send_slack(client, farm.url("/slack"), None, resolved)).ok
    assert json.loads(farm.received[-1])["text"] == (
        "✅ 已处置：三级（橙色） 江城多个小区自来水浑浊发黄 居民质疑水质安全（&lt;!channel&gt;）\n"
        "> 处置结果：已处置 ［查看并确认］(http：//evil.example)")
    digest = Notice("舆情摘要：2 条预警", ["一级（蓝色） <@zhangsan>[假](http://evil.example)", "另有 3 条未列出"],
                    "以上为一级、二级预警汇总。", "javascript:alert(1)", "digest")
    assert (await send_wecom(client, farm.url("/wecom"), None, digest)).ok
    assert json.loads(farm.received[-1])["markdown"]["content"] == "\n".join([
        "### 🗂 舆情摘要：2 条预警",
        "> 一级（蓝色） ＜@zhangsan＞［假］(http：//evil.example)",
        "> 另有 3 条未列出",
        "以上为一级、二级预警汇总。",
        "查看预警",  # the link was not http(s): its text stays, without a link
    ])
