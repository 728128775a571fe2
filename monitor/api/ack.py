"""/ack/{token}: the one-tap acknowledge page for chat links (no API token needed).

GET only shows what the link would do: chat apps fetch links to preview them, and a preview must
not acknowledge anything. The button posts back; that acknowledges, attributed to the channel.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from monitor.alerts.links import LinkError
from monitor.api.guard import http_status
from monitor.db import alerts as alert_store
from monitor.states import AlertStatus, DutyAction

router = APIRouter(tags=["acknowledge links"], include_in_schema=False)

_STYLE = """body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;max-width:36em;margin:2em auto;padding:0 1em}
button{font-size:1.2em;padding:.6em 1.4em}.level{font-weight:bold}"""
_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>烽火 · 确认预警</title>
<style>{style}</style></head><body>{body}</body></html>"""

# The page runs no script at all, uses only its own style (allowed by its hash) and posts only back
# here; the token in its address is sent to no one else (no referrer).
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
    + "'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(style=_STYLE, body=body), status_code=status, headers=HEADERS)


def _alert_for(request: Request, token: str) -> tuple[int, str] | HTMLResponse:
    """The link's (alert, channel), or the page saying why the link cannot be used."""
    links = request.app.state.ack_links
    if links is None:
        return _page("<p>acknowledge links are not configured on this server</p>", 404)
    try:
        return links.read(token)
    except LinkError as error:
        return _page(f"<p>{escape(str(error))}</p>", 410 if error.expired else 400)


@router.get("/ack/{token}", response_class=HTMLResponse)
def show(token: str, request: Request):
    found = _alert_for(request, token)
    if isinstance(found, HTMLResponse):
        return found
    alert_id, _channel = found
    with request.app.state.sessions() as session:
        alert = alert_store.get_alert(session, alert_id=alert_id)
    if alert is None:
        return _page("<p>没有这条预警。</p>", 404)
    label = request.app.state.level_labels.get(alert.level, alert.level)
    if alert.status != AlertStatus.new:
        return _page(f"<p class=level>{escape(label)}</p><p>{escape(alert.title)}</p><p>这条预警已是「{escape(alert.status)}」状态，无需再确认。</p>")
    return _page(
        f"<p class=level>{escape(label)}</p><h2>{escape(alert.title)}</h2><p>{escape(alert.reason)}</p>"
        f'<form method="post"><button type="submit">确认收到，我来处理</button></form>'
    )


@router.post("/ack/{token}", response_class=HTMLResponse)
def acknowledge(token: str, request: Request):
    found = _alert_for(request, token)
    if isinstance(found, HTMLResponse):
        return found
    alert_id, channel = found
    with request.app.state.sessions() as session:
        try:
            alert = alert_store.act(
                session, alert_id=alert_id, action=DutyAction.acknowledge, actor=f"一键确认（{channel}）",
                now=request.app.state.clock.now(), note="acknowledged with the link in the chat message",
            )
            session.commit()
        except alert_store.ActionError as error:
            session.rollback()
            return _page(f"<p>{escape(str(error))}</p>", http_status(error))
        title = alert.title
    return _page(f"<h2>已确认</h2><p>{escape(title)}</p><p>处理进展请在值班台或群内同步。</p>")
