"""One-tap acknowledge links: signed, single-purpose, expiring; a preview never acknowledges."""

import json
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.links import AckLinks, LinkError
from monitor.alerts.routing import Channel, Routing
from monitor.api import create_app
from monitor.db import alerts as alert_store
from monitor.db.models import Alert
from monitor.stages.grouping import EventStage
from tests.events.test_scenarios import COMPLAINT, Timeline
from tests.farm import Reply

SECRET = "link-signing-secret"


def test_a_link_reads_back_and_refuses_tampering_and_age():
    links = AckLinks(SECRET)
    token = links.token(42, "duty")
    assert links.read(token) == (42, "duty")
    with pytest.raises(LinkError) as tampered:
        links.read(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert not tampered.value.expired
    with pytest.raises(LinkError, match="not valid"):
        AckLinks("another-secret").read(token)
    with pytest.raises(LinkError) as old:
        AckLinks(SECRET, valid_for=timedelta(seconds=-1)).read(token)
    assert old.value.expired


async def test_the_page_shows_then_the_button_acknowledges_once(sessions, clock, tmp_path, db_settings):
    timeline = Timeline(sessions, clock, tmp_path)
    timeline.publish("forum-a", *COMPLAINT)
    with sessions() as session:
        alert = session.scalar(select(Alert))
    db_settings.link_secret = SECRET
    app = create_app(db_settings, sessions, clock=clock)
    token = AckLinks(SECRET).token(alert.id, "duty")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as browser:
        page = await browser.get(f"/ack/{token}")
        assert page.status_code == 200 and "确认收到" in page.text and COMPLAINT[0] in page.text
        with sessions() as session:
            assert alert_store.get_alert(session, alert_id=alert.id).status == "new"  # a preview does nothing
        done = await browser.post(f"/ack/{token}")
        assert done.status_code == 200 and "已确认" in done.text
        again = await browser.post(f"/ack/{token}")
        assert again.status_code == 409
        assert (await browser.get("/ack/not-a-token")).status_code == 400
    with sessions() as session:
        acknowledged = alert_store.get_alert(session, alert_id=alert.id)
        (action,) = alert_store.actions_of(session, alert_id=alert.id)
    assert acknowledged.status == "acknowledged" and action.actor == "一键确认（duty）"


async def test_pushed_messages_carry_the_signed_link(sessions, clock, tmp_path, farm):
    timeline = Timeline(sessions, clock, tmp_path)
    routing = Routing({"wecom": Channel("wecom", "wecom", farm.url("/wecom"))}, {"blue": ["wecom"]})
    timeline.stage = EventStage(sessions, timeline.levels, clock, routing)
    farm.route("/wecom", Reply(200, b"{\"errcode\": 0}"))
    timeline.publish("forum-a", *COMPLAINT)
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, {}, public_url="https://yq.example.org",
                                ack_links=AckLinks(SECRET))
        assert await worker.run_once() == 1
    content = json.loads(farm.received[-1])["markdown"]["content"]
    token = re.search(r"https://yq\.example\.org/ack/([^)\s]+)", content).group(1)
    with sessions() as session:
        alert_id = session.scalar(select(Alert.id))
    assert AckLinks(SECRET).read(token) == (alert_id, "wecom")
