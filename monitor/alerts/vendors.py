"""Chat vendors' wire formats and verdicts (see shared notes: chat-webhooks).

The trap every sender must avoid: WeCom, DingTalk and Feishu answer HTTP 200 when they *reject* a
message; the verdict is the JSON code (`errcode` / `code` == 0). Slack's success is the body `ok`.
Each vendor here builds its request and classifies the answer into sent, retry later (rate
limits, server trouble) or a configuration error that retrying cannot fix. A message is first
composed as whole parts (`draft`), then rendered in the vendor's syntax with every piece of web
text escaped for it and cut to its limit between whole parts (monitor/alerts/compose.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx

from monitor.alerts.compose import (
    LEVEL_EMOJI, Draft, Line, Link, Span, escape_markdown, escape_slack, fit, ident, plain, safe_url, utf8,
)
from monitor.alerts.roster import Person
from monitor.config import TIER_LABELS, Tier
from monitor.states import ALERT_PUSH, DeliveryKind


@dataclass(frozen=True)
class Message:
    alert_id: int
    event_id: int
    level: str
    label: str  # 三级（橙色）
    title: str
    reason: str
    first_outlet: str
    first_at: str  # Beijing time, as people read it
    outlets: int
    tiers: list[str]
    negative_share: float
    link: str | None  # where to read and acknowledge
    kind: str = DeliveryKind.fire  # fire | repeat | ack | resolve
    by: str | None = None  # who acknowledged or resolved
    outcome: str | None = None
    mentions: tuple[Person, ...] = ()  # the officers to @, from the roster at send time
    mention_all: bool = False
    top_items: tuple[tuple[str, str, str], ...] = ()  # (outlet, title, url): the reports to read first
    items: int = 0
    items_last_hour: int = 0
    velocity: float = 0.0  # items in the last hour against the hourly average of the six before
    hotlist: str | None = None  # 上了热搜: "微博热搜第7位，已在榜42分钟" (monitor/events/hotsignal.py)

    brief_link: str | None = None  # orange and red: the event's brief (研判报告), one tap away


@dataclass(frozen=True)
class Notice:
    """A message that is not about one alert: a weekly report's announcement."""

    title: str
    lines: list[str]
    summary: str
    link: str | None
    kind: str = DeliveryKind.report  # report | handover | digest | anomaly
    mentions: tuple[Person, ...] = ()  # a handover calls the incoming officers


def headline(message: Message | Notice) -> str:
    """The line a chat list shows before the message is opened (DingTalk title, Feishu header)."""
    return draft(message).preview


@dataclass(frozen=True)
class Verdict:
    ok: bool
    http_status: int | None
    vendor_code: str | None
    error: str | None
    retry_after: timedelta | None = None
    retryable: bool = True
    requests: int = 1  # HTTP requests made: what the vendors' rate limits count


def draft(message: Message | Notice) -> Draft:
    """The message as whole parts, before any vendor's syntax (monitor/alerts/compose.py)."""
    if isinstance(message, Notice):
        icon, link_text = {DeliveryKind.handover: ("🔁", "查看未确认预警"), DeliveryKind.digest: ("🗂", "查看预警"),
                           DeliveryKind.anomaly: ("📈", "查看声量图")}.get(message.kind, ("📊", "下载报告（PDF）"))
        lines = [Line((f"{icon} {message.title}",), "heading"),
                 *(Line((line,), droppable=True) for line in message.lines)]
        if message.summary:
            lines.append(Line((message.summary,), "note"))
        action = Link(link_text, safe_url(message.link)) if message.link else None
        return Draft(plain(message.title), None, tuple(lines), action, "blue")
    if message.kind in (DeliveryKind.ack, DeliveryKind.resolve):
        done = "已确认" if message.kind == DeliveryKind.ack else "已处置"
        by = f"（{message.by}）" if message.by else ""
        lines = [Line((f"✅ {done}：{message.label} {message.title}{by}",), "lead")]
        if message.outcome:
            lines.append(Line((f"处置结果：{message.outcome}",)))
        # The preview says what happened, so a follow-up never reads as another alert.
        return Draft(plain(f"{done}：{message.title}"), message.level, tuple(lines), None,
                     "green" if message.kind == DeliveryKind.ack else "grey")
    tiers = "、".join(TIER_LABELS.get(Tier(t), t) for t in message.tiers if t in Tier.__members__)
    heading = f"{message.label}{'仍未确认，再次提醒' if message.kind == DeliveryKind.repeat else '舆情预警'}"
    lines = [
        Line((f"{LEVEL_EMOJI.get(message.level, '')} {heading}",), "heading"),
        Line((message.title,), "title"),
        Line((f"首发：{message.first_outlet}（{message.first_at}）",)),
        Line((f"传播：{message.outlets} 家媒体/平台；{tiers}",)),
        Line((f"势头：共 {message.items} 条，近 1 小时 {message.items_last_hour} 条"
              + (f"（为此前 6 小时均值的 {message.velocity:g} 倍）" if message.velocity > 1 else ""),)),
        *([Line((f"热搜：{message.hotlist}",))] if message.hotlist else []),
        Line((f"负面占比：{message.negative_share:.0%}",)),
        Line((f"依据：{message.reason}",)),
    ]
    if message.brief_link:
        lines.append(Line(("📄 ", Link("研判报告", safe_url(message.brief_link)),
                           "（事件概述、态势、研判、应对建议）")))
    if message.top_items:
        lines.append(Line(("主要报道",), "section"))
        lines += [Line(("· ", Link(title, safe_url(url)), f"（{outlet}）"), droppable=True)
                  for outlet, title, url in message.top_items]
    action = Link("查看并确认", safe_url(message.link)) if message.link else None
    return Draft(plain(heading), message.level, tuple(lines), action, message.level)


# -- Markdown: WeCom and DingTalk ----------------------------------------------------------------


def _md_span(span: Span) -> str:
    if isinstance(span, Link):
        text = escape_markdown(span.text) or span.url or ""
        return f"[{text}]({span.url})" if span.url else text
    return escape_markdown(span)


def render_markdown(draft: Draft, tail: str = "") -> str:
    """WeCom/DingTalk Markdown; `tail` is markup we made ourselves (mentions), added last."""
    out = []
    for line in draft.lines:
        text = "".join(_md_span(span) for span in line.spans).strip()
        out.append({"heading": f"### {text}", "title": f"**{text}**", "section": f"**{text}**",
                    "lead": text, "note": text}.get(line.style, f"> {text}"))
    if draft.action is not None:
        out.append(_md_span(draft.action))
    return "\n".join(out) + tail


def markdown(message: Message | Notice, limit_bytes: int, tail: str = "") -> str:
    """The message as chat Markdown within the vendor's byte limit, cut only between whole parts."""
    return fit(draft(message), lambda d: render_markdown(d, tail), utf8, limit_bytes)


# -- Slack mrkdwn --------------------------------------------------------------------------------


def _slack_span(span: Span) -> str:
    if isinstance(span, Link):
        text = escape_slack(span.text)
        if not span.url:
            return text
        return f"<{span.url.replace('&', '&amp;')}|{text or escape_slack(span.url)}>"
    return escape_slack(span)


def render_slack(draft: Draft, tail: str = "") -> str:
    out = []
    for line in draft.lines:
        text = "".join(_slack_span(span) for span in line.spans).strip()
        # Bold is *…* on one line, closed on the same line.
        out.append(f"*{text}*" if line.style in ("heading", "title", "section") else
                   text if line.style in ("lead", "note") else f"> {text}")
    if draft.action is not None:
        out.append(_slack_span(draft.action))
    return "\n".join(out) + tail


def slack_text(message: Message | Notice, limit: int = 3000, tail: str = "") -> str:
    return fit(draft(message), lambda d: render_slack(d, tail), len, limit)


# -- Feishu card (JSON 1.0): the card's own structure, web text in plain_text --------------------
# Its lark_md elements read links and escapes as WeCom/DingTalk Markdown does: spans go through
# _md_span above.


def feishu_card(draft: Draft, at: str = "") -> dict:
    elements: list[dict] = []
    facts: list[str] = []

    def flush() -> None:
        if facts:
            elements.append({"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(facts)}})
            facts.clear()

    for line in draft.lines:
        if line.style == "heading":
            continue  # the header says it, in the level's colour
        text_only = all(isinstance(span, str) for span in line.spans)
        if line.style in ("field", "lead", "more") and text_only:
            facts.append(escape_markdown("".join(line.spans)).strip())
            continue
        flush()
        if line.style in ("title", "section"):
            elements.append({"tag": "div", "text": {"tag": "lark_md", "content": f"**{_md_span(line.spans[0])}**"}})
        elif line.style == "note":
            elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": plain(line.spans[0])}]})
        else:
            elements.append({"tag": "div", "text": {"tag": "lark_md", "content": "".join(_md_span(s) for s in line.spans)}})
    flush()
    if draft.action is not None:
        if draft.action.url:
            elements.append({"tag": "action", "actions": [{
                "tag": "button", "type": "primary", "url": draft.action.url,
                "text": {"tag": "plain_text", "content": draft.action.text}}]})
        else:
            elements.append({"tag": "div", "text": {"tag": "plain_text", "content": plain(draft.action.text)}})
    if at:
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": at}})
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": draft.preview}, "template": draft.colour},
        "elements": elements,
    }


# -- vendors --------------------------------------------------------------------------------


WECOM_MARKDOWN_BYTES = 4096
WECOM_SHORTER = 2048  # after a 40058 "content too long": once, at half the documented limit
WECOM_FATAL = {"93000", "40058"}


async def send_wecom(client: httpx.AsyncClient, url: str, secret: str | None, message: Message | Notice) -> Verdict:
    # Users paste either the key or the whole webhook URL: accept both.
    if not url.startswith("http"):
        url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={url}"
    mentions = _mentions(message)
    # WeCom markdown mentions a userid inline (`<@userid>`): one request per alert. Only mentions
    # by mobile number and @all need a text message after it.
    tail = " ".join(f"<@{who}>" for who in _wecom_ids(mentions))
    tail = f"\n{tail}" if tail else ""
    requests = 1
    verdict = await _wecom_post(client, url, markdown(message, WECOM_MARKDOWN_BYTES, tail))
    if verdict.vendor_code == "40058":  # too long as WeCom counts it: shorten once, then give up
        requests += 1
        verdict = await _wecom_post(client, url, markdown(message, WECOM_SHORTER, tail))
    if not verdict.ok or not _wecom_needs_text(mentions):
        return replace(verdict, requests=requests)
    # If only this one fails, the delivery is retried whole (a duplicate beats a missed call to duty).
    mobiles = [p.mobile for p in mentions.people if ident(p.mobile) and not ident(p.wecom)]
    names = "、".join(plain(p.name) for p in mentions.people if ident(p.mobile) and not ident(p.wecom))
    text = {"msgtype": "text", "text": {
        "content": f"请{names or '所有人'}关注：{headline(message)}"[:600],
        "mentioned_list": ["@all"] if mentions.everyone else [], "mentioned_mobile_list": mobiles}}
    verdict = _json_verdict(await _post(client, url, json=text), "errcode",
                            rate_codes={"45009"}, fatal_codes=WECOM_FATAL)
    return replace(verdict, requests=requests + 1)


async def _wecom_post(client: httpx.AsyncClient, url: str, content: str) -> Verdict:
    body = {"msgtype": "markdown", "markdown": {"content": content}}
    return _json_verdict(await _post(client, url, json=body), "errcode", rate_codes={"45009"}, fatal_codes=WECOM_FATAL)


def _wecom_ids(mentions: _Mentions) -> list[str]:
    return [who for p in mentions.people if (who := ident(p.wecom))]


def _wecom_needs_text(mentions: _Mentions) -> bool:
    return mentions.everyone or any(ident(p.mobile) and not ident(p.wecom) for p in mentions.people)


async def send_dingtalk(client: httpx.AsyncClient, url: str, secret: str | None, message: Message | Notice) -> Verdict:
    if secret:
        stamp = str(round(time.time() * 1000))
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        url = f"{url}&timestamp={stamp}&sign={sign}"
    mentions = _mentions(message)
    mobiles = [m for p in mentions.people if (m := ident(p.mobile))]
    user_ids = [u for p in mentions.people if (u := ident(p.dingtalk)) and not ident(p.mobile)]
    # DingTalk renders a mention only when the text also carries "@<mobile or userId>".
    tail = " ".join(f"@{who}" for who in mobiles + user_ids)
    body = {"msgtype": "markdown",
            "markdown": {"title": headline(message), "text": markdown(message, 18000, f"\n\n{tail}" if tail else "")},
            "at": {"atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": mentions.everyone}}
    verdict = _json_verdict(await _post(client, url, json=body), "errcode",
                            rate_codes={"130101"}, fatal_codes={"310000", "300005", "460101"})
    if verdict.vendor_code == "130101":  # throttled for about ten minutes
        return Verdict(False, verdict.http_status, "130101", verdict.error, timedelta(minutes=10))
    return verdict


FEISHU_BODY_BYTES = 18000  # of the documented 20 KB, room for the signature fields


async def send_feishu(client: httpx.AsyncClient, url: str, secret: str | None, message: Message | Notice) -> Verdict:
    mentions = _mentions(message)
    at = " ".join([f"<at id={who}></at>" for p in mentions.people if (who := ident(p.feishu))]
                  + (["<at id=all></at>"] if mentions.everyone else []))
    card = fit(draft(message), lambda d: feishu_card(d, at),
               lambda c: utf8(json.dumps(c, ensure_ascii=False)), FEISHU_BODY_BYTES)
    body: dict = {"msg_type": "interactive", "card": card}
    if secret:
        stamp = str(int(time.time()))
        key = f"{stamp}\n{secret}".encode()
        body["timestamp"] = stamp
        body["sign"] = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    return _json_verdict(await _post(client, url, json=body), "code", rate_codes={"11232"},
                         fatal_codes={"9499", "19001", "19002", "19021", "19022", "19024"})


async def send_slack(client: httpx.AsyncClient, url: str, secret: str | None, message: Message | Notice) -> Verdict:
    mentions = _mentions(message)
    tags = [f"<@{who}>" for p in mentions.people if (who := ident(p.slack))] + (["<!channel>"] if mentions.everyone else [])
    text = slack_text(message, 3000, ("\n" + " ".join(tags)) if tags else "")
    response = await _post(client, url, json={"text": text})
    if isinstance(response, Verdict):
        return response
    if response.status_code == 200 and response.text.strip() == "ok":
        return Verdict(True, 200, None, None)
    if response.status_code == 429:
        from monitor.retry_after import parse_retry_after

        return Verdict(False, 429, None, "rate limited", parse_retry_after(response.headers.get("retry-after")))
    if response.status_code >= 500:
        return Verdict(False, response.status_code, None, f"HTTP {response.status_code}")
    return Verdict(False, response.status_code, response.text.strip()[:64], f"rejected: {response.text.strip()[:200]}",
                   retryable=False)


def requests_for(kind: str, message: Message | Notice) -> int:
    """HTTP requests a push of this message makes, which is what a vendor's rate limit counts."""
    if kind == "wecom" and _wecom_needs_text(_mentions(message)):
        return 2
    return 1


@dataclass(frozen=True)
class _Mentions:
    people: tuple[Person, ...]
    everyone: bool


def _mentions(message: Message | Notice) -> _Mentions:
    if isinstance(message, Notice):
        return _Mentions(message.mentions, False)
    if message.kind not in ALERT_PUSH:  # follow-ups inform; they do not call anyone
        return _Mentions((), False)
    return _Mentions(message.mentions, message.mention_all)


SENDERS = {"wecom": send_wecom, "dingtalk": send_dingtalk, "feishu": send_feishu, "slack": send_slack}


async def _post(client: httpx.AsyncClient, url: str, **kwargs) -> httpx.Response | Verdict:
    try:
        return await client.post(url, **kwargs)
    except httpx.HTTPError as error:
        return Verdict(False, None, None, f"{type(error).__name__}: {error}")


def _json_verdict(response, field: str, *, rate_codes: set[str], fatal_codes: set[str]) -> Verdict:
    if isinstance(response, Verdict):
        return response
    if response.status_code >= 500 or response.status_code == 429:
        return Verdict(False, response.status_code, None, f"HTTP {response.status_code}")
    try:
        payload = response.json()
    except ValueError:
        return Verdict(False, response.status_code, None, f"HTTP {response.status_code}, not JSON")
    code = str(payload.get(field))
    if response.status_code == 200 and code == "0":
        return Verdict(True, 200, "0", None)
    error = f"{field} {code}: {payload.get('errmsg') or payload.get('msg') or ''}".strip()
    if code in rate_codes:
        return Verdict(False, response.status_code, code, error, timedelta(minutes=1))
    return Verdict(False, response.status_code, code, error, retryable=code not in fatal_codes)
