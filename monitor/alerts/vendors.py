"""Chat vendors' wire formats and verdicts (see shared notes: chat-webhooks).

The trap every sender must avoid: WeCom, DingTalk and Feishu answer HTTP 200 when they *reject* a
message; the verdict is the JSON code (`errcode` / `code` == 0). Slack's success is the body `ok`.
Each vendor here builds its request and classifies the answer into sent, retry later (rate
limits, server trouble) or a configuration error that retrying cannot fix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta

import httpx

from monitor.alerts.roster import Person
from monitor.config import TIER_LABELS, Tier

# A level's colour as each vendor can show it.
WECOM_COLOUR = {"blue": "comment", "yellow": "warning", "orange": "warning", "red": "warning"}
LEVEL_EMOJI = {"blue": "🔵", "yellow": "🟡", "orange": "🟠", "red": "🔴"}


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
    kind: str = "fire"  # fire | repeat | ack | resolve
    by: str | None = None  # who acknowledged or resolved
    outcome: str | None = None
    mentions: tuple[Person, ...] = ()  # the officers to @, from the roster at send time
    mention_all: bool = False
    top_items: tuple[tuple[str, str, str], ...] = ()  # (outlet, title, url): the reports to read first
    items: int = 0
    items_last_hour: int = 0
    velocity: float = 0.0  # items in the last hour against the hourly average of the six before


@dataclass(frozen=True)
class Notice:
    """A message that is not about one alert: a weekly report's announcement."""

    title: str
    lines: list[str]
    summary: str
    link: str | None
    kind: str = "report"  # report | handover | digest
    mentions: tuple[Person, ...] = ()  # a handover calls the incoming officers


def headline(message: Message | Notice) -> str:
    return message.title if isinstance(message, Notice) else f"{message.label}舆情预警"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    http_status: int | None
    vendor_code: str | None
    error: str | None
    retry_after: timedelta | None = None
    retryable: bool = True


def markdown(message: Message | Notice, limit_bytes: int) -> str:
    """The message as chat markdown, cut to the vendor's byte limit with a pointer to the rest."""
    if isinstance(message, Notice):
        icon, link_text = {"handover": ("🔁", "查看未确认预警"), "digest": ("🗂", "查看预警")}.get(
            message.kind, ("📊", "下载报告（PDF）"))
        lines = [f"### {icon} {message.title}", *(f"> {line}" for line in message.lines), message.summary]
        if message.link:
            lines.append(f"[{link_text}]({message.link})")
        return _cut("\n".join(lines), limit_bytes, message.link)
    if message.kind in ("ack", "resolve"):
        done = "已确认" if message.kind == "ack" else "已处置"
        text = f"✅ {done}：{message.label} {message.title}（{message.by}）"
        if message.outcome:
            text += f"\n> 处置结果：{message.outcome}"
        return _cut(text, limit_bytes, message.link)
    tiers = "、".join(TIER_LABELS.get(Tier(t), t) for t in message.tiers if t in Tier.__members__)
    heading = "仍未确认，再次提醒" if message.kind == "repeat" else "舆情预警"
    lines = [
        f"### {LEVEL_EMOJI.get(message.level, '')} {message.label}{heading}",
        f"**{message.title}**",
        f"> 首发：{message.first_outlet}（{message.first_at}）",
        f"> 传播：{message.outlets} 家媒体/平台；{tiers}",
        f"> 势头：共 {message.items} 条，近 1 小时 {message.items_last_hour} 条"
        + (f"（为此前 6 小时均值的 {message.velocity:g} 倍）" if message.velocity > 1 else ""),
        f"> 负面占比：{message.negative_share:.0%}",
        f"> 依据：{message.reason}",
    ]
    if message.top_items:
        lines.append("**主要报道**")
        lines += [f"> · [{title}]({url})（{outlet}）" for outlet, title, url in message.top_items]
    if message.link:
        lines.append(f"[查看并确认]({message.link})")
    return _cut("\n".join(lines), limit_bytes, message.link)


def _cut(text: str, limit_bytes: int, link: str | None) -> str:
    if len(text.encode("utf-8")) <= limit_bytes:
        return text
    tail = "\n…（内容过长已截断）" + (f"\n[查看全文]({link})" if link else "")
    budget = limit_bytes - len(tail.encode("utf-8"))
    return text.encode("utf-8")[:budget].decode("utf-8", errors="ignore") + tail


# -- vendors --------------------------------------------------------------------------------


async def send_wecom(client: httpx.AsyncClient, url: str, secret: str | None, message: Message | Notice) -> Verdict:
    # Users paste either the key or the whole webhook URL: accept both.
    if not url.startswith("http"):
        url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={url}"
    body = {"msgtype": "markdown", "markdown": {"content": markdown(message, 4096)}}
    verdict = _json_verdict(await _post(client, url, json=body), "errcode",
                            rate_codes={"45009"}, fatal_codes={"93000"})
    mentions = _mentions(message)
    if not verdict.ok or not (mentions.people or mentions.everyone):
        return verdict
    # WeCom markdown cannot mention anyone: a short text message that can follows it. If only
    # this one fails, the delivery is retried whole (a duplicate beats a missed call to duty).
    wanted = [p.wecom for p in mentions.people if p.wecom] + (["@all"] if mentions.everyone else [])
    mobiles = [p.mobile for p in mentions.people if p.mobile and not p.wecom]
    names = "、".join(p.name for p in mentions.people) or "所有人"
    text = {"msgtype": "text", "text": {"content": f"请{names}关注：{message.title}"[:600],
                                        "mentioned_list": wanted, "mentioned_mobile_list": mobiles}}
    return _json_verdict(await _post(client, url, json=text), "errcode",
                         rate_codes={"45009"}, fatal_codes={"93000"})


async def send_dingtalk(client: httpx.AsyncClient, url: str, secret: str | None, message: Message | Notice) -> Verdict:
    if secret:
        stamp = str(round(time.time() * 1000))
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        url = f"{url}&timestamp={stamp}&sign={sign}"
    mentions = _mentions(message)
    mobiles = [p.mobile for p in mentions.people if p.mobile]
    user_ids = [p.dingtalk for p in mentions.people if p.dingtalk and not p.mobile]
    # DingTalk renders a mention only when the text also carries "@<mobile or userId>".
    tail = " ".join(f"@{who}" for who in mobiles + user_ids)
    body = {"msgtype": "markdown",
            "markdown": {"title": headline(message), "text": markdown(message, 18000) + (f"\n\n{tail}" if tail else "")},
            "at": {"atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": mentions.everyone}}
    verdict = _json_verdict(await _post(client, url, json=body), "errcode",
                            rate_codes={"130101"}, fatal_codes={"310000", "300005", "460101"})
    if verdict.vendor_code == "130101":  # throttled for about ten minutes
        return Verdict(False, verdict.http_status, "130101", verdict.error, timedelta(minutes=10))
    return verdict


async def send_feishu(client: httpx.AsyncClient, url: str, secret: str | None, message: Message | Notice) -> Verdict:
    body: dict = {
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": headline(message)},
                       "template": "blue" if isinstance(message, Notice) else message.level},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": markdown(message, 18000) + _feishu_at(message)}}],
        },
    }
    if secret:
        stamp = str(int(time.time()))
        key = f"{stamp}\n{secret}".encode()
        body["timestamp"] = stamp
        body["sign"] = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    return _json_verdict(await _post(client, url, json=body), "code",
                         rate_codes={"11232"}, fatal_codes={"9499", "19021", "19022", "19024"})


async def send_slack(client: httpx.AsyncClient, url: str, secret: str | None, message: Message | Notice) -> Verdict:
    text = markdown(message, 3000).replace("### ", "*").replace("**", "*")
    text = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r"<\2|\1>", text)  # Slack's link form: <url|text>
    mentions = _mentions(message)
    tags = [f"<@{p.slack}>" for p in mentions.people if p.slack] + (["<!channel>"] if mentions.everyone else [])
    if tags:
        text += "\n" + " ".join(tags)
    response = await _post(client, url, json={"text": text})
    if isinstance(response, Verdict):
        return response
    if response.status_code == 200 and response.text.strip() == "ok":
        return Verdict(True, 200, None, None)
    if response.status_code == 429:
        from monitor.fetch.http import parse_retry_after

        return Verdict(False, 429, None, "rate limited", parse_retry_after(response.headers.get("retry-after")))
    if response.status_code >= 500:
        return Verdict(False, response.status_code, None, f"HTTP {response.status_code}")
    return Verdict(False, response.status_code, response.text.strip()[:64], f"rejected: {response.text.strip()[:200]}",
                   retryable=False)


@dataclass(frozen=True)
class _Mentions:
    people: tuple[Person, ...]
    everyone: bool


def _mentions(message: Message | Notice) -> _Mentions:
    if isinstance(message, Notice):
        return _Mentions(message.mentions, False)
    if message.kind not in ("fire", "repeat"):  # follow-ups inform; they do not call anyone
        return _Mentions((), False)
    return _Mentions(message.mentions, message.mention_all)


def _feishu_at(message: Message | Notice) -> str:
    mentions = _mentions(message)
    tags = [f"<at id={p.feishu}></at>" for p in mentions.people if p.feishu]
    tags += ["<at id=all></at>"] if mentions.everyone else []
    return ("\n" + " ".join(tags)) if tags else ""


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
