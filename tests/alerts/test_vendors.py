"""Each chat vendor's wire format and verdict, against a fake vendor server on 127.0.0.1.
The trap: three vendors answer HTTP 200 when they refuse a message."""

import base64
import hashlib
import hmac
import json
import re
import urllib.parse
from datetime import timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.compose import draft_links, fit, utf8
from monitor.alerts.roster import Person
from monitor.alerts.vendors import (
    Message, Notice, draft, feishu_card, markdown, send_dingtalk, send_feishu, send_slack, send_wecom, slack_text,
)
from tests.farm import Reply

MESSAGE = Message(
    alert_id=7, event_id=3, level="orange", label="三级（橙色）", title="江城多个小区自来水浑浊发黄 居民质疑水质安全",
    reason="orange: 媒体报道或KOL介入，迅速传播; local_media is true; outlets 3 ≥ 3",
    first_outlet="demo-forum", first_at="11-23 09:30", outlets=3, tiers=["forum", "local_media"],
    negative_share=0.83, link="https://yq.example.org/api/v1/alerts/7", items=12, items_last_hour=9, velocity=4.5,
)


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def vendor_reply(body: dict, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def test_markdown_says_it_at_a_glance_and_respects_the_byte_limit():
    text = markdown(MESSAGE, 4096)
    for expected in ("三级（橙色）舆情预警", MESSAGE.title, "首发：demo-forum（11-23 09:30）", "3 家媒体/平台",
                     "势头：共 12 条，近 1 小时 9 条（为此前 6 小时均值的 4.5 倍）",
                     "论坛社区、地方媒体", "负面占比：83%", "[查看并确认](https://yq.example.org/api/v1/alerts/7)"):
        assert expected in text
    long = Message(**{**MESSAGE.__dict__, "reason": "很长的理由" * 2000})
    cut = markdown(long, 4096)
    # Cut between whole parts: the acknowledge link stays whole and last, after the marker.
    assert len(cut.encode("utf-8")) <= 4096
    assert cut.endswith("…（内容过长，已截断）\n[查看并确认](https://yq.example.org/api/v1/alerts/7)")
    assert f"\n> {('依据：' + '很长的理由' * 40)[:200]}…\n" in cut  # an overlong text: its first 200 characters


async def test_wecom_success_is_errcode_zero_not_http_200(farm, client):
    farm.route("/wecom", vendor_reply({"errcode": 0, "errmsg": "ok"}))
    assert (await send_wecom(client, farm.url("/wecom"), None, MESSAGE)).ok
    body = json.loads(farm.received[-1])
    assert body["msgtype"] == "markdown" and "三级（橙色）" in body["markdown"]["content"]
    farm.route("/wecom", vendor_reply({"errcode": 93000, "errmsg": "invalid webhook url"}))
    refused = await send_wecom(client, farm.url("/wecom"), None, MESSAGE)
    assert (refused.ok, refused.http_status, refused.vendor_code, refused.retryable) == (False, 200, "93000", False)
    farm.route("/wecom", vendor_reply({"errcode": 45009, "errmsg": "api freq out of limit"}))
    limited = await send_wecom(client, farm.url("/wecom"), None, MESSAGE)
    assert limited.retryable and limited.retry_after == timedelta(minutes=1)


async def test_dingtalk_signs_the_url_and_backs_off_when_throttled(farm, client):
    farm.route_prefix("/robot/send", vendor_reply({"errcode": 0}))
    secret = "SEC123"
    verdict = await send_dingtalk(client, farm.url("/robot/send?access_token=abc"), secret, MESSAGE)
    path, _ = farm.requests[-1]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    stamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    assert sign == expected and verdict.ok
    assert json.loads(farm.received[-1])["markdown"]["title"] == "三级（橙色）舆情预警"
    farm.route_prefix("/robot/send", vendor_reply({"errcode": 130101, "errmsg": "send too fast"}))
    throttled = await send_dingtalk(client, farm.url("/robot/send?access_token=abc"), secret, MESSAGE)
    assert not throttled.ok and throttled.retry_after == timedelta(minutes=10)
    farm.route_prefix("/robot/send", vendor_reply({"errcode": 310000, "errmsg": "sign not match"}))
    assert not (await send_dingtalk(client, farm.url("/robot/send?access_token=abc"), secret, MESSAGE)).retryable


async def test_feishu_card_takes_the_level_colour_and_signs_the_body(farm, client):
    farm.route("/hook", vendor_reply({"code": 0, "msg": "success"}))
    assert (await send_feishu(client, farm.url("/hook"), "fs-secret", MESSAGE)).ok
    body = json.loads(farm.received[-1])
    assert body["msg_type"] == "interactive" and body["card"]["header"]["template"] == "orange"
    key = f"{body['timestamp']}\nfs-secret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    farm.route("/hook", vendor_reply({"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}))
    refused = await send_feishu(client, farm.url("/hook"), "fs-secret", MESSAGE)
    assert (refused.ok, refused.vendor_code, refused.retryable) == (False, "19021", False)


async def test_slack_success_is_the_body_ok(farm, client):
    farm.route("/slack", Reply(200, b"ok"))
    assert (await send_slack(client, farm.url("/slack"), None, MESSAGE)).ok
    farm.route("/slack", Reply(400, b"invalid_payload"))
    refused = await send_slack(client, farm.url("/slack"), None, MESSAGE)
    assert (refused.ok, refused.vendor_code, refused.retryable) == (False, "invalid_payload", False)
    farm.route("/slack", Reply(429, b"rate_limited", headers={"Retry-After": "30"}))
    limited = await send_slack(client, farm.url("/slack"), None, MESSAGE)
    assert limited.retryable and limited.retry_after == timedelta(seconds=30)


async def test_a_vendor_that_is_down_is_retryable(client):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verdict = await send_wecom(client, f"http://127.0.0.1:{port}/x", None, MESSAGE)
    assert not verdict.ok and verdict.retryable and "ConnectError" in verdict.error


# -- @mentions -------------------------------------------------------------------------------

ZHANG = Person(name="张三", mobile="13800000001", wecom="zhangsan", feishu="ou_7d8a6e", slack="U024BE7LH")
LI = Person(name="李四", mobile=None, dingtalk="li4", wecom=None)
CALLING = Message(**{**MESSAGE.__dict__, "mentions": (ZHANG, LI), "mention_all": True})


async def test_wecom_mentions_a_userid_inline_in_the_markdown_in_one_request(farm, client):
    # WeCom markdown takes <@userid> inline (two requests per alert overran WeCom's 20 a minute).
    farm.route("/wecom", vendor_reply({"errcode": 0, "errmsg": "ok"}))
    by_id = Message(**{**MESSAGE.__dict__, "mentions": (ZHANG,)})
    verdict = await send_wecom(client, farm.url("/wecom"), None, by_id)
    assert verdict.ok and verdict.requests == 1 and len(farm.received) == 1
    body = json.loads(farm.received[0])
    assert body["msgtype"] == "markdown" and body["markdown"]["content"].endswith("[查看并确认](https://yq.example.org/api/v1/alerts/7)\n<@zhangsan>")


async def test_wecom_mobile_mentions_and_all_still_need_the_text_message(farm, client):
    farm.route("/wecom", vendor_reply({"errcode": 0, "errmsg": "ok"}))
    wang = Person(name="王五", mobile="13800000003")
    calling = Message(**{**MESSAGE.__dict__, "mentions": (ZHANG, wang, LI), "mention_all": True})
    verdict = await send_wecom(client, farm.url("/wecom"), None, calling)
    assert verdict.ok and verdict.requests == 2
    first, second = (json.loads(body) for body in farm.received)
    assert first["markdown"]["content"].endswith("\n<@zhangsan>")
    assert second["msgtype"] == "text"
    assert second["text"]["mentioned_list"] == ["@all"]
    assert second["text"]["mentioned_mobile_list"] == ["13800000003"]
    assert second["text"]["content"] == "请王五关注：三级（橙色）舆情预警"


async def test_wecom_without_mentions_sends_one_message(farm, client):
    farm.route("/wecom", vendor_reply({"errcode": 0, "errmsg": "ok"}))
    assert (await send_wecom(client, farm.url("/wecom"), None, MESSAGE)).ok
    assert len(farm.received) == 1


async def test_dingtalk_mentions_by_mobile_or_user_id_and_names_them_in_the_text(farm, client):
    farm.route_prefix("/robot/send", vendor_reply({"errcode": 0}))
    assert (await send_dingtalk(client, farm.url("/robot/send?access_token=abc"), None, CALLING)).ok
    body = json.loads(farm.received[-1])
    assert body["at"] == {"atMobiles": ["13800000001"], "atUserIds": ["li4"], "isAtAll": True}
    assert body["markdown"]["text"].endswith("@13800000001 @li4")


async def test_feishu_and_slack_mentions_use_their_own_tags(farm, client):
    farm.route("/feishu", vendor_reply({"code": 0}))
    farm.route("/slack", Reply(200, b"ok"))
    assert (await send_feishu(client, farm.url("/feishu"), None, CALLING)).ok
    last = json.loads(farm.received[-1])["card"]["elements"][-1]  # the card's own mention element
    assert last == {"tag": "div", "text": {"tag": "lark_md", "content": "<at id=ou_7d8a6e></at> <at id=all></at>"}}
    assert (await send_slack(client, farm.url("/slack"), None, CALLING)).ok
    assert json.loads(farm.received[-1])["text"].endswith("<@U024BE7LH> <!channel>")


async def test_follow_ups_inform_without_calling_anyone(farm, client):
    farm.route_prefix("/robot/send", vendor_reply({"errcode": 0}))
    ack = Message(**{**CALLING.__dict__, "kind": "ack", "by": "张三"})
    assert (await send_dingtalk(client, farm.url("/robot/send?access_token=abc"), None, ack)).ok
    body = json.loads(farm.received[-1])
    assert body["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False}


def test_the_top_reports_are_listed_with_links_and_slack_gets_its_own_link_form():
    message = Message(**{**MESSAGE.__dict__, "top_items": (
        ("人民日报", "江城自来水发黄 官方回应", "https://people.example/1"),
        ("江城论坛", "江城多个小区水发黄", "https://bbs.example/2"),
    )})
    text = markdown(message, 4096)
    assert "**主要报道**\n> · [江城自来水发黄 官方回应](https://people.example/1)（人民日报）\n> · [江城多个小区水发黄]" in text


async def test_slack_links_are_in_slack_form(farm, client):
    farm.route("/slack", Reply(200, b"ok"))
    assert (await send_slack(client, farm.url("/slack"), None, MESSAGE)).ok
    text = json.loads(farm.received[-1])["text"]
    assert "<https://yq.example.org/api/v1/alerts/7|查看并确认>" in text and "](" not in text


# -- permanent errors ------------------------------------------------------------------------


async def test_wecom_too_long_is_shortened_and_tried_once_more(farm, client):
    def wecom(headers):  # a WeCom that counts bytes stricter than its documentation
        content = json.loads(farm.received[-1])["markdown"]["content"]
        return vendor_reply({"errcode": 40058 if len(content.encode()) > 2048 else 0, "errmsg": "content too long"})

    farm.route("/wecom", wecom)
    reports = tuple((f"媒体{n}", "很长的报道标题" * 10, f"https://news.example/{n}") for n in range(12))
    long = Message(**{**MESSAGE.__dict__, "top_items": reports})  # about 3 KB: within 4096, over 2048
    verdict = await send_wecom(client, farm.url("/wecom"), None, long)
    assert verdict.ok and verdict.requests == 2
    shortened = json.loads(farm.received[-1])["markdown"]["content"]
    assert len(shortened.encode()) <= 2048 and shortened.endswith("[查看并确认](https://yq.example.org/api/v1/alerts/7)")


async def test_wecom_still_too_long_after_shortening_fails_with_its_words(farm, client):
    farm.route("/wecom", vendor_reply({"errcode": 40058, "errmsg": "content exceed max length"}))
    verdict = await send_wecom(client, farm.url("/wecom"), None, MESSAGE)
    assert (verdict.ok, verdict.retryable, verdict.vendor_code, verdict.requests) == (False, False, "40058", 2)
    assert verdict.error == "errcode 40058: content exceed max length" and len(farm.received) == 2


@pytest.mark.parametrize("code", [19001, 19002])
async def test_feishu_invalid_token_or_parameter_is_not_retried(code, farm, client):
    farm.route("/hook", vendor_reply({"code": code, "msg": "param invalid: incoming webhook access token invalid"}))
    verdict = await send_feishu(client, farm.url("/hook"), None, MESSAGE)
    assert (verdict.ok, verdict.retryable, verdict.vendor_code) == (False, False, str(code))
    assert "access token invalid" in verdict.error


# -- long messages: cut between whole parts, at any length -----------------------------------

ACK = "https://yq.example.org/api/v1/alerts/7"
REPORTS = tuple((f"媒体{n}", f"报道标题{n}" * (n + 1), f"https://news.example/{n}/{'长' * n}") for n in range(8))
LINKS = {ACK} | {url for _, _, url in REPORTS}
MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")


def _markdown_links(text):
    return [url for _, url in MD_LINK.findall(text)]


def _slack_links(text):
    return [m.split("|")[0] for m in re.findall(r"<([^>]*)>", text) if not m.startswith(("@", "!"))]


def _check(links, encoded_links, rendered_ack_count):
    assert set(links) <= encoded_links and rendered_ack_count == 1


def test_a_long_alert_is_cut_between_whole_parts_at_every_length():
    """Cut at a byte offset, 47–49 of 857 lengths cut inside a link. Every length here keeps
    every link whole, the acknowledge link last and the mention after it."""
    message = Message(**{**MESSAGE.__dict__, "reason": "依据很长" * 200, "top_items": REPORTS, "mentions": (ZHANG,)})
    encoded = {u for u in draft_links(draft(message))}
    assert ACK in encoded and len(encoded) == len(LINKS)
    tail = "\n<@zhangsan>"
    for limit in range(300, 4400, 4):  # 1025 lengths
        text = markdown(message, limit, tail)
        assert len(text.encode()) <= limit, limit
        links = _markdown_links(text)
        _check(links, encoded, links.count(ACK))
        assert text.endswith(f"[查看并确认]({ACK}){tail}"), limit
        slack = slack_text(message, limit, "\n<@U024BE7LH>")
        assert len(slack) <= limit
        links = _slack_links(slack)
        _check(links, encoded, links.count(ACK))
        assert slack.endswith(f"<{ACK}|查看并确认>\n<@U024BE7LH>"), limit
    # And the card, whose limit is the JSON's bytes.
    for limit in range(700, 6000, 25):
        card = fit(draft(message), lambda d: feishu_card(d, "<at id=ou_7d8a6e></at>"),
                   lambda c: utf8(json.dumps(c, ensure_ascii=False)), limit)
        raw = json.dumps(card, ensure_ascii=False)
        assert utf8(raw) <= limit
        assert card["elements"][-2]["actions"][0]["url"] == ACK
        assert card["elements"][-1]["text"]["content"] == "<at id=ou_7d8a6e></at>"
        _check(_markdown_links(raw), encoded, 1)


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(400, 5000),
    title=st.text(min_size=1, max_size=300),
    reason=st.text(max_size=3000),
    reports=st.integers(0, 8),
)
def test_property_any_title_any_length_keeps_links_whole(limit, title, reason, reports):
    message = Message(**{**MESSAGE.__dict__, "title": title, "reason": reason, "top_items": REPORTS[:reports]})
    encoded = set(draft_links(draft(message)))
    text = markdown(message, limit)
    assert len(text.encode()) <= limit
    links = _markdown_links(text)
    _check(links, encoded, links.count(ACK))
    assert text.endswith(f"[查看并确认]({ACK})")
    assert "<" not in text and text.count("](") == len(links)  # no tag, no link but ours, whatever the title
    slack = slack_text(message, limit)
    assert len(slack) <= limit
    links = _slack_links(slack)
    _check(links, encoded, links.count(ACK))
    assert slack.count("<") == len(links) and "<!" not in slack and "<@" not in slack


@settings(max_examples=200, deadline=None)
@given(entries=st.integers(1, 80), limit=st.integers(500, 4096), listed=st.integers(0, 20))
def test_property_a_digest_keeps_the_first_whole_entries_and_counts_the_rest(entries, limit, listed):
    shown = min(entries, 20)
    lines = [f"一级（蓝色） 江城水务第{n}条预警标题（11-23 10:{n % 60:02d}）" for n in range(shown)]
    if entries > shown:
        lines.append(f"另有 {entries - shown} 条未列出")  # as monitor/db/alerts.py writes it
    notice = Notice(f"舆情摘要：{entries} 条预警", lines, "以上为一级、二级预警汇总。",
                    "https://yq.example.org/api/v1/alerts", "digest")
    text = markdown(notice, limit)
    assert len(text.encode()) <= limit
    assert text.endswith("[查看预警](https://yq.example.org/api/v1/alerts)")
    kept = [line for line in text.split("\n") if line.startswith("> 一级（蓝色）")]
    assert kept == [f"> {line}" for line in lines[: len(kept)]]  # the first ones, whole
    more = re.search(r"另有 (\d+) 条未列出", text)
    assert len(kept) + (int(more.group(1)) if more else 0) == entries


# -- golden: every vendor, every kind of message ------------------------------------------------

KINDS = {
    "fire": Message(**{**MESSAGE.__dict__, "mentions": (ZHANG,), "top_items": (
        ("江城日报", "江城多个小区自来水发黄 水务集团回应", "https://jcrb.example/2026/11/23/water.html"),
        ("江城论坛", "我家的自来水也是黄的[视频]", "https://bbs.example/thread-2041"),
    )}),
    "repeat": Message(**{**MESSAGE.__dict__, "kind": "repeat", "mentions": (ZHANG,), "mention_all": True}),
    "ack": Message(**{**MESSAGE.__dict__, "kind": "ack", "by": "值班员张三", "mentions": (ZHANG,)}),
    "resolve": Message(**{**MESSAGE.__dict__, "kind": "resolve", "by": "李四", "outcome": "已发布致歉说明"}),
    "digest": Notice("舆情摘要：3 条预警（11-23 10:01 起）",
                     ["二级（黄色） 江城水务客服电话长期打不通（11-23 10:01）", "一级（蓝色） 解放路施工拥堵（11-23 10:05）",
                      "另有 1 条未列出"], "以上为一级、二级预警汇总，请按需研判。", "https://yq.example.org/api/v1/alerts", "digest"),
    "handover": Notice("交接班：夜班（11-23 20:00）", ["未处置预警：三级（橙色） 1", "未确认 1 条：",
                                               "· 三级（橙色） 江城自来水发黄（11-23 09:30）"],
                       "白班期间 1 次级别变化。", "https://yq.example.org/api/v1/alerts?status=new", "handover", (ZHANG,)),
    "report": Notice("舆情周报 2026-W47", ["涉我信息 1,204 条，负面 233 条（19.4%）"], "本周总体平稳。",
                     "https://yq.example.org/api/v1/reports/2026-W47/pdf", "report"),
}
PREVIEWS = {  # what a chat list shows before the message is opened
    "fire": "三级（橙色）舆情预警", "repeat": "三级（橙色）仍未确认，再次提醒",
    "ack": "已确认：江城多个小区自来水浑浊发黄 居民质疑水质安全", "resolve": "已处置：江城多个小区自来水浑浊发黄 居民质疑水质安全",
    "digest": "舆情摘要：3 条预警（11-23 10:01 起）", "handover": "交接班：夜班（11-23 20:00）", "report": "舆情周报 2026-W47",
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_golden_each_vendor_renders_each_kind_by_its_rules(kind, farm, client):
    message = KINDS[kind]
    farm.route_prefix("/", vendor_reply({"errcode": 0, "code": 0}))
    farm.route("/slack", Reply(200, b"ok"))
    bodies = []
    for send in (send_wecom, send_dingtalk, send_feishu, send_slack):
        before = len(farm.received)
        assert (await send(client, farm.url("/slack" if send is send_slack else "/x?access_token=t"), None, message)).ok
        bodies.append(json.loads(farm.received[before]))  # the message itself (WeCom may add a text after)
    wecom, dingtalk, feishu, slack = bodies
    preview = PREVIEWS[kind]
    # The preview: DingTalk shows its title, Feishu the card header, WeCom and Slack the first line
    # (which says what happened: "三级（橙色）舆情预警", "✅ 已确认：…", "舆情摘要：…").
    assert dingtalk["markdown"]["title"] == preview
    assert feishu["card"]["header"]["title"]["content"] == preview
    what = preview.split("：")[0]
    assert what in wecom["markdown"]["content"].split("\n")[0] and what in slack["text"].split("\n")[0]
    if kind in ("ack", "resolve"):  # a follow-up never reads as another alert
        assert "预警" not in preview and feishu["card"]["header"]["template"] in ("green", "grey")
        assert dingtalk["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False}
    # Limits.
    assert len(wecom["markdown"]["content"].encode()) <= 4096 and len(slack["text"]) <= 3000
    assert len(json.dumps(feishu, ensure_ascii=False).encode()) <= 20_000
    # Feishu: the card's own structure, not Markdown headings or quotes in lark_md.
    assert feishu["card"]["header"]["template"] in ("blue", "yellow", "orange", "red", "green", "grey")
    for element in feishu["card"]["elements"]:
        content = (element.get("text") or {}).get("content", "")
        assert not re.search(r"(^|\n)(#+ |> )", content), content
    # Slack: every bold is closed on its own line; links in Slack's form, no Markdown left.
    for line in slack["text"].split("\n"):
        assert line.count("*") % 2 == 0, line
    assert "](" not in slack["text"] and "**" not in slack["text"] and "###" not in slack["text"]


def readme_examples() -> str:
    """The README's "What each chat shows" block, rendered from the golden fire message:
    `python -c "from tests.alerts.test_vendors import readme_examples as r; print(r())"`."""
    message = KINDS["fire"]
    d = draft(message)
    card = feishu_card(d, "<at id=ou_7d8a6e></at>")
    outline = [f"[header, template {card['header']['template']}] {card['header']['title']['content']}"]
    for element in card["elements"]:
        if element["tag"] == "action":
            button = element["actions"][0]
            outline.append(f"[button] {button['text']['content']} → {button['url']}")
        elif element["tag"] == "note":
            outline.append(f"[note] {element['elements'][0]['content']}")
        else:
            outline.append(f"[{element['text']['tag']}] " + element["text"]["content"].replace("\n", "\n    "))
    blocks = {
        "WeCom (markdown)": markdown(message, 4096, "\n<@zhangsan>"),
        "DingTalk (markdown; the title is the notification preview)":
            f"title: {d.preview}\n" + markdown(message, 18000, "\n\n@13800000001"),
        "Feishu (interactive card)": "\n".join(outline),
        "Slack (mrkdwn)": slack_text(message, 3000, "\n<@U024BE7LH>"),
    }
    return "\n\n".join(f"{name}:\n\n```text\n{text}\n```" for name, text in blocks.items())


def test_the_readme_shows_what_each_vendor_renders():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme_examples() in readme
